"""Which calendars exist, which events they hold, and what is coming up.

An *event* is one series (with its moved and cancelled meetings) or one one-off meeting,
with one UID for life. Its UID is made from the group's history id (which survives renames)
and the series' key (from its first date), so editing a time, a rule or a description
updates the event in place in calendar apps. Its SEQUENCE and dates come from the store
(``store.events``), keyed by a fingerprint of everything the event shows.

What depends on the time passing (the next meetings on pages, the single-meeting files of
the next 12 months) is worked out here from a ``now`` the caller passes, with ``due``: the
next moment any of it changes, when the publisher renders again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache, partial
from urllib.parse import quote, urlencode, urlsplit

from publisher.directory.schedule import Occurrence, date_words, occurrences
from publisher.model.directory import Directory, Group, Meetings, OneOff, Series
from publisher.model.events import State
from publisher.model.history import History
from publisher.render import ical
from publisher.render.common import Item, Portable, Site
from publisher.urls import CALENDAR, CATEGORY, GROUP, GROUP_CALENDAR, HOME, MEETING, webcal

CALENDAR_TYPE = "text/calendar; charset=utf-8"
#: Single-meeting files and "next meetings" cover this far ahead: 12 months.
WINDOW = timedelta(days=365)
NEXT_ON_HOME = 8
NEXT_ON_GROUP = 6

#: path, type, key, render, changed, and the render as a Portable (made when needed) or None.
Doc = tuple[str, str, str, Callable[[], bytes], datetime, Callable[[], Portable] | None]


@dataclass(frozen=True)
class Event:
    uid: str
    group: Group
    source: Series | OneOff
    fingerprint: str


def uid_of(entry_id: str, key: str) -> str:
    """``series-2027-01-13.<hash of the entry id>@<tag authority>``: unique, never changes
    and has no comma (a TEXT value would escape it, and some parsers keep the backslash)."""
    authority = entry_id.split(":", 2)[1].split(",")[0]
    return f"{key}.{hashlib.sha256(entry_id.encode()).hexdigest()[:16]}@{authority}"


def _fingerprint(group: Group, source: Series | OneOff) -> str:
    """Everything an event shows, so its SEQUENCE grows when, and only when, that changes."""
    m = group.meetings
    assert m is not None
    shown = (
        group.slug,
        group.name,
        group.description,
        group.place,
        group.contact,
        m.time_zone,
        m.place,
        m.online,
        m.how_to_join,
        source,
    )
    return hashlib.sha256(repr(shown).encode()).hexdigest()


def events_of(directory: Directory, entry_ids: dict[str, str]) -> list[Event]:
    """Every event of the directory, in directory order; ``entry_ids`` maps slug to id."""
    out = []
    for group in directory.groups:
        if group.meetings is None:
            continue
        for source in (*group.meetings.series, *group.meetings.one_off):
            uid = uid_of(entry_ids[group.slug], source.key)
            out.append(Event(uid, group, source, _fingerprint(group, source)))
    return out


@dataclass(frozen=True)
class Upcoming:
    """Meetings that have not ended, per group, up to WINDOW ahead; and when this changes."""

    by_group: dict[str, tuple[Occurrence, ...]]
    due: datetime | None

    def next(self, limit: int) -> list[tuple[str, Occurrence]]:
        every = [(slug, o) for slug, found in self.by_group.items() for o in found]
        return sorted(every, key=lambda p: (p[1].start, p[0], p[1].key))[:limit]


def upcoming(directory: Directory, now: datetime) -> Upcoming:
    """The next meetings as of ``now``. ``due`` is the first moment after which this would
    differ: the end of the first meeting, or a meeting coming within WINDOW."""
    horizon = now + WINDOW
    by_group: dict[str, tuple[Occurrence, ...]] = {}
    due: list[datetime] = []
    for group in directory.groups:
        if group.meetings is None or not group.meetings.scheduled:
            continue
        found, after = _expanded(group.meetings, now.date())
        found = tuple(o for o in found if o.end > now and o.start < horizon)
        by_group[group.slug] = found
        due += [min(o.end for o in found)] if found else []  # not the first's: it may run long
        due += [o.start - WINDOW for o in after if o.start >= horizon][:1]
    return Upcoming(by_group, min(due, default=None))


@lru_cache(maxsize=16384)
def _expanded(
    meetings: Meetings, day: date
) -> tuple[tuple[Occurrence, ...], tuple[Occurrence, ...]]:
    """The meetings from the day before ``day`` to a day past WINDOW, and the next ones
    after that: worked out once a day per schedule, not at every load."""
    start = datetime.combine(day - timedelta(days=1), time.min, tzinfo=UTC)
    end = datetime.combine(day + timedelta(days=2), time.min, tzinfo=UTC) + WINDOW
    found = tuple(occurrences(meetings, start, end))
    return found, tuple(occurrences(meetings, end - timedelta(days=2), end + WINDOW, limit=3))


@dataclass(frozen=True)
class Calendars:
    """What a build needs to render calendars and the next meetings."""

    events: list[Event]
    states: dict[str, State]
    soon: Upcoming

    @property
    def due(self) -> datetime | None:
        return self.soon.due


def prepare(
    directory: Directory,
    history: History,
    now: datetime,
    states_for: Callable[[dict[str, str]], Mapping[str, State]],
) -> Calendars:
    """The events of ``directory`` with their states (``states_for`` maps each UID's
    fingerprint to its state: the store records them), and the meetings coming up."""
    found = events_of(directory, {slug: e.entry_id for slug, e in history.active().items()})
    states = states_for({e.uid: e.fingerprint for e in found})
    return Calendars(found, {e.uid: states[e.uid] for e in found}, upcoming(directory, now))


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
    subscribe = webcal(https)
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
    info = calendar_info(site, GROUP_CALENDAR(slug), HOME(), f"{name}: meetings", text)
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


class Blocks:
    """Each event's VEVENT bytes, kept between loads: an unchanged event is serialised once
    per process, and once per load however many calendars hold it."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, int, str, str], bytes] = {}

    def get(self, event: Event, state: State, page: str) -> bytes:
        key = (event.uid, state.sequence, event.fingerprint, page)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = ical.event(state, event.group, event.source, page)
        return found

    def keep(self, keys: set[tuple[str, int, str, str]]) -> None:
        self._memo = {k: v for k, v in self._memo.items() if k in keys}


def documents(
    directory: Directory,
    site: Site,
    cal: Calendars,
    base: str,
    blocks: Blocks,
    items: Iterable[Item],
    item_keys: Mapping[str, str],
    changed: Callable[[str | None], datetime],
) -> Iterator[Doc]:
    """Every calendar: all, each category's, each group's, and each single meeting of the
    next WINDOW. ``items`` are the groups with their history, ``item_keys`` their keys (all
    a page shows of a group); ``changed(category)`` the newest change there (None:
    anywhere).

    A group's calendar is keyed on its group's key and its events' keys, as text, and its
    header is made only when rendered: 10,000 groups make 10,000 calendars per load."""
    events, states = cal.events, cal.states
    page_of = {e.group.slug: site.url(GROUP(e.group.slug)) for e in events}
    by_group: dict[str, list[Event]] = {}
    for e in events:
        by_group.setdefault(e.group.slug, []).append(e)
    keys = {
        e.uid: (e.uid, states[e.uid].sequence, e.fingerprint, page_of[e.group.slug]) for e in events
    }
    blocks.keep(set(keys.values()))

    info = partial(calendar_info, site)

    def made(chosen: list[Event]) -> list[bytes]:
        return [blocks.get(e, states[e.uid], page_of[e.group.slug]) for e in chosen]

    def zones(chosen: list[Event]) -> list[str]:
        found = {e.group.meetings.time_zone for e in chosen if e.group.meetings}
        return [z for z in found if z]

    def doc(
        path: str, about: Callable[[], ical.Info], key: str, chosen: list[Event], when: datetime
    ) -> Doc:
        def render() -> bytes:
            return ical.calendar(about(), zones(chosen), made(chosen))

        return path, CALENDAR_TYPE, key, render, when, None

    def group_doc(group: Group, key: str, chosen: list[Event], when: datetime) -> Doc:
        def portable() -> Portable:
            description = group_description(group, site)
            zone = group.meetings.time_zone if group.meetings else None
            return Portable(
                group_calendar,
                site,
                group.slug,
                group.name,
                description,
                zone,
                zones(chosen),
                made(chosen),
            )

        return (
            GROUP_CALENDAR(group.slug),
            CALENDAR_TYPE,
            key,
            lambda: portable()(),
            when,
            portable,
        )

    listed = [
        (
            None,
            HOME(),
            site.title,
            _scope_description(
                f"Meetings of every group in {site.title} that publishes its dates.",
                site.title,
                events,
            ),
            events,
        )
    ] + [
        (
            c.slug,
            CATEGORY(c.slug),
            c.name,
            _scope_description(
                f"Meetings of the groups in {c.name} ({site.title}) that publish their dates.",
                f"{c.name} ({site.title})",
                mine,
            ),
            mine,
        )
        for c in directory.categories
        for mine in [[e for e in events if e.group.category == c.slug]]
    ]
    for category, page, name, text, chosen in listed:
        path = CALENDAR(category or "all")
        about = partial(info, path, page, f"{name}: meetings", text, None)
        key = repr((base, path, name, text, [keys[e.uid] for e in chosen]))
        yield doc(path, about, key, chosen, changed(category))
    for item in items:
        group = item.group
        mine = by_group.get(group.slug, [])
        key = f"{base}|{item_keys[group.slug]}|ics|{[keys[e.uid] for e in mine] if mine else ''}"
        yield group_doc(group, key, mine, item.entry.updated)
        if mine:
            yield from _singles(group, mine, states, cal.soon, base, page_of[group.slug], info)


def _scope_description(text: str, where: str, events: list[Event]) -> str:
    """What the calendar of a category (or of all groups) says of itself: ``text``, or,
    where no group ``where`` has published dates, that it is empty until one does."""
    if events:
        return text
    return (
        f"No group in {where} has published meeting dates yet. Dates will appear in this "
        "calendar once they are published."
    )


def group_calendar(
    site: Site,
    slug: str,
    name: str,
    description: str,
    zone: str | None,
    zones: list[str],
    events: list[bytes],
) -> bytes:
    """A group's calendar: module-level, with only what it shows, so that a helper process
    may render it (10,000 groups have 10,000 calendars)."""
    path = GROUP_CALENDAR(slug)
    info = calendar_info(site, path, GROUP(slug), f"{name}: meetings", description, zone)
    return ical.calendar(info, zones, events)


def _singles(
    group: Group,
    mine: list[Event],
    states: dict[str, State],
    soon: Upcoming,
    base: str,
    page: str,
    info: Callable[[str, str, str, str, str | None], ical.Info],
) -> Iterator[Doc]:
    """/calendars/groups/<slug>/<date>.ics for each day with a meeting in the window: one
    VEVENT per meeting that day (nearly always one), no RRULE."""
    by_key = {e.source.key: e for e in mine}
    days: dict[str, list[Occurrence]] = {}
    for o in soon.by_group.get(group.slug, ()):
        days.setdefault(MEETING(group.slug, o.start.date().isoformat()), []).append(o)
    zone = group.meetings.time_zone if group.meetings else None
    for path, found in days.items():
        title = f"{group.name}, {date_words(found[0].start.date())}"
        about = partial(info, path, GROUP(group.slug), title, group.name, zone)
        chosen = [(by_key[o.key], o) for o in found]
        # What a meeting shows follows from its event (fingerprint) and its date.
        key = f"{base}|{page}|" + "|".join(
            f"{e.uid}.{states[e.uid].sequence}.{e.fingerprint}.{o.date}" for e, o in chosen
        )
        newest = max(states[e.uid].modified for e, _ in chosen)

        def render(c: list[tuple[Event, Occurrence]] = chosen, a: partial = about) -> bytes:
            made = [ical.single(states[e.uid], e.group, e.source, page, o) for e, o in c]
            return ical.calendar(a(), [zone] if zone else [], made)

        yield path, CALENDAR_TYPE, key, render, newest, None
