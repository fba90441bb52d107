"""The calendars: all groups', each category's, each group's, and each single meeting of
the next 12 months (iCalendar, RFC 5545), each a WebSub topic but the single meetings.

Which events each holds comes from ``publisher.calendars``; each event's VEVENT is made once
per load however many calendars hold it (``Memo.blocks``). Every calendar has a hand-made
key: 10,000 groups make 10,000 calendars per load, and a key of their events' VEVENTs and
states is text, while deriving it from the arguments would serialise every event.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from urllib.parse import quote, urlencode, urlsplit

from publisher import urls
from publisher.calendars import Event
from publisher.directory.schedule import Occurrence
from publisher.directory.schedule_words import date_words
from publisher.model.directory import Group, OneOff, Series
from publisher.model.events import State
from publisher.model.publication import Kind
from publisher.render import ical
from publisher.render.common import Site
from publisher.sitemap.context import Document, Load

CALENDAR_TYPE = "text/calendar; charset=utf-8"


@dataclass(frozen=True)
class Links:
    """Ways to add a calendar, for the subscribe help on pages."""

    https: str
    webcal: str
    google: str | None
    outlook: str | None
    office365: str | None


def links(site: Site, path: str, name: str) -> Links:
    """webcal:// and the Google and Microsoft add-by-URL links. Google and Microsoft fetch
    from their own servers, so their links are left out while the base URL is loopback."""
    https = site.url(path)
    subscribe = urls.webcal(https)
    host = (urlsplit(site.base).hostname or "").lower()
    if host in ("localhost", "::1") or host.startswith("127.") or host.endswith(".localhost"):
        return Links(https, subscribe, None, None, None)
    add = "/calendar/0/addfromweb?" + urlencode({"url": https, "name": name}, quote_via=quote)
    return Links(
        https,
        subscribe,
        "https://calendar.google.com/calendar/r?cid=" + quote(subscribe, safe=""),
        "https://outlook.live.com" + add,
        "https://outlook.office.com" + add,
    )


def calendar_info(
    site: Site, path: str, page: str, name: str, text: str, zone: str | None = None
) -> ical.Info:
    """A calendar's own properties: its name and description, its page and its own
    address, the zone of its events (else the directory's), and the site's refresh."""
    return ical.Info(
        name,
        text,
        site.url(page),
        site.url(path),
        zone or site.time_zone,
        timedelta(seconds=site.calendar_refresh),
        f"-//{site.publisher}//publisher//EN",
    )


def removed_calendar(site: Site, slug: str, name: str) -> bytes:
    """What a removed group's calendar address serves: a valid, empty calendar, so apps
    subscribed to it drop its events (an error would leave them showing for ever)."""
    text = f"{name} is no longer listed in {site.title}; this calendar has no meetings."
    info = calendar_info(site, urls.GROUP_CALENDAR(slug), urls.HOME(), f"{name}: meetings", text)
    return ical.calendar(info, [], [])


def group_description(group: Group, site: Site) -> str:
    """What a group's calendar says of itself; for a group with no dates, that dates will
    appear once the organiser publishes them."""
    meetings = group.meetings
    if meetings is not None and meetings.scheduled:
        return f"Meetings of {group.name}, from {site.title}."
    if meetings is not None and meetings.frequency_as_published:
        return (
            f"{group.name} meets {meetings.frequency_as_published}, as its listing puts it, "
            "but no dates or times have been published. Dates will appear in this calendar "
            "once the organiser publishes them."
        )
    return (
        f"No meetings of {group.name} are listed. Should the group publish meeting dates, "
        "they will appear in this calendar."
    )


def documents(load: Load) -> Iterator[Document]:
    """Every calendar, in a fixed order: all, each category's, then each group's followed by
    its single meetings."""
    site, cal, blocks = load.site, load.cal, load.memo.blocks
    events, states = cal.events, cal.states
    page_of = {e.group.slug: site.url(urls.GROUP(e.group.slug)) for e in events}
    by_group: dict[str, list[Event]] = {}
    for e in events:
        by_group.setdefault(e.group.slug, []).append(e)
    keys = {
        e.uid: (e.uid, states[e.uid].sequence, e.fingerprint, page_of[e.group.slug]) for e in events
    }
    blocks.keep(set(keys.values()))

    def made(chosen: list[Event]) -> list[bytes]:
        return [blocks.get(e, states[e.uid], page_of[e.group.slug]) for e in chosen]

    title = site.title
    listed = [
        (
            None,
            urls.HOME(),
            title,
            _scope_description(
                f"Meetings of every group in {title} that publishes its dates.", title, events
            ),
            events,
        )
    ] + [
        (
            c.slug,
            urls.CATEGORY(c.slug),
            c.name,
            _scope_description(
                f"Meetings of the groups in {c.name} ({title}) that publish their dates.",
                f"{c.name} ({title})",
                mine,
            ),
            mine,
        )
        for c in load.directory.categories
        for mine in [[e for e in events if e.group.category == c.slug]]
    ]
    base = load.base
    for category, page, name, text, chosen in listed:
        path = urls.CALENDAR(category or "all")
        info = partial(calendar_info, site, path, page, f"{name}: meetings", text, None)
        yield Document(
            path,
            Kind.CALENDAR,
            CALENDAR_TYPE,
            ical.calendar,
            lambda i=info, c=chosen: (i(), _zones(c), made(c)),
            load.history.newest(category),
            key=repr((base, path, name, text, [keys[e.uid] for e in chosen])),
        )
    item_keys = load.item_keys
    for item in load.items:
        group = item.group
        mine = by_group.get(group.slug, [])
        events_key = [keys[e.uid] for e in mine] if mine else ""
        yield Document(
            urls.GROUP_CALENDAR(group.slug),
            Kind.CALENDAR,
            CALENDAR_TYPE,
            group_calendar,
            lambda g=group, m=mine: _group_arguments(site, g, _zones(m), made(m)),
            item.entry.updated,
            key=f"{base}|{item_keys[group.slug]}|ics|{events_key}",
            portable=True,
        )
        if mine:
            yield from _singles(group, mine, load, page_of[group.slug])


def _zones(chosen: list[Event]) -> list[str]:
    found = {e.group.meetings.time_zone for e in chosen if e.group.meetings}
    return [z for z in found if z]


def _scope_description(text: str, where: str, events: list[Event]) -> str:
    """What the calendar of a category (or of all groups) says of itself: ``text``, or,
    where no group ``where`` has published dates, that it is empty until one does."""
    if events:
        return text
    return (
        f"No group in {where} has published meeting dates yet. Dates will appear in this "
        "calendar once they are published."
    )


def _group_arguments(
    site: Site, group: Group, zones: list[str], events: list[bytes]
) -> tuple[Site, str, str, str, str | None, list[str], list[bytes]]:
    """A group calendar's arguments: only what it shows, as a helper process may take them."""
    zone = group.meetings.time_zone if group.meetings else None
    return (site, group.slug, group.name, group_description(group, site), zone, zones, events)


def group_calendar(
    site: Site,
    slug: str,
    name: str,
    description: str,
    zone: str | None,
    zones: list[str],
    events: list[bytes],
) -> bytes:
    """A group's calendar (10,000 groups have 10,000 calendars)."""
    path = urls.GROUP_CALENDAR(slug)
    info = calendar_info(site, path, urls.GROUP(slug), f"{name}: meetings", description, zone)
    return ical.calendar(info, zones, events)


@dataclass(frozen=True)
class Meeting:
    """One meeting of an event, as its single-meeting file shows it."""

    state: State
    group: Group
    source: Series | OneOff
    occurrence: Occurrence


def single_calendar(info: ical.Info, zone: str | None, page: str, meetings: list[Meeting]) -> bytes:
    """A day's meetings of a group as a calendar of their own: one VEVENT each, no RRULE."""
    made = [ical.single(m.state, m.group, m.source, page, m.occurrence) for m in meetings]
    return ical.calendar(info, [zone] if zone else [], made)


def _singles(group: Group, mine: list[Event], load: Load, page: str) -> Iterator[Document]:
    """/calendars/groups/<slug>/<date>.ics for each day with a meeting in the window: one
    VEVENT per meeting that day (nearly always one), no RRULE."""
    site, states, base = load.site, load.cal.states, load.base
    by_key = {e.source.key: e for e in mine}
    days: dict[str, list[Occurrence]] = {}
    for o in load.cal.soon.by_group.get(group.slug, ()):
        days.setdefault(urls.MEETING(group.slug, o.start.date().isoformat()), []).append(o)
    zone = group.meetings.time_zone if group.meetings else None
    for path, found in days.items():
        title = f"{group.name}, {date_words(found[0].start.date())}"
        chosen = [(by_key[o.key], o) for o in found]
        # What a meeting shows follows from its event (fingerprint) and its date.
        key = f"{base}|{page}|" + "|".join(
            f"{e.uid}.{states[e.uid].sequence}.{e.fingerprint}.{o.date}" for e, o in chosen
        )

        def arguments(
            path: str = path, title: str = title, chosen: list[tuple[Event, Occurrence]] = chosen
        ) -> tuple[ical.Info, str | None, str, list[Meeting]]:
            info = calendar_info(site, path, urls.GROUP(group.slug), title, group.name, zone)
            meetings = [Meeting(states[e.uid], e.group, e.source, o) for e, o in chosen]
            return info, zone, page, meetings

        yield Document(
            path,
            Kind.CALENDAR,
            CALENDAR_TYPE,
            single_calendar,
            arguments,
            max(states[e.uid].modified for e, _ in chosen),
            key=key,
        )
