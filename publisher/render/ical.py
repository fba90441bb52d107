"""iCalendar documents (RFC 5545, with RFC 7986's calendar properties), pure functions.

Each event (a series with its moved and cancelled meetings, or a one-off meeting) is
rendered once to bytes by ``event``; calendars are those bytes joined under a header
(``calendar``), so an event in its group's, its category's and the all calendar costs one
serialisation, not three. icalendar writes the content lines: CRLF ends, folding at 75
octets, TEXT escaping.

No METHOD: without it DTSTAMP is the event's last revision (RFC 5545 §3.8.7.2), which
history gives; the same data gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Calendar, Event, vDuration, vText

from publisher.directory.model import Group, OneOff, Online, Place, Series
from publisher.directory.schedule import Occurrence, first_date, zone
from publisher.render.vtimezone import vtimezone
from publisher.store.events import State

PLACE_PARTS = ("room", "building", "street", "locality", "region", "country")
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Info:
    """A calendar's own properties: RFC 7986 NAME, DESCRIPTION, URL, SOURCE,
    REFRESH-INTERVAL (with the X-WR-* and X-PUBLISHED-TTL that older apps read)."""

    name: str
    description: str
    url: str
    source: str
    time_zone: str
    refresh: timedelta
    prodid: str


def place_text(place: Place | None) -> str | None:
    """LOCATION: the place as published, else its parts joined."""
    if place is None:
        return None
    if place.as_published:
        return place.as_published
    parts = [getattr(place, name) for name in PLACE_PARTS if getattr(place, name)]
    return ", ".join(parts) or None


def where(group: Group, source: Series | OneOff) -> tuple[Place | None, Online | None]:
    """A meeting's place and online details: a one-off's own, else the meetings', else the
    group's place. A one-off that gives only online details is online only."""
    meetings = group.meetings
    assert meetings is not None
    default_place = meetings.place or group.place
    if isinstance(source, OneOff):
        online = source.online or meetings.online
        if source.place is not None or source.online is not None:
            return source.place, online
        return default_place, online
    return default_place, meetings.online


def summary(group: Group, title: str | None) -> str:
    return f"{group.name}: {title}" if title else group.name


def description(group: Group, source: Series | OneOff, page: str, note: str = "") -> str:
    """DESCRIPTION in plain text: what the meeting is, how to join, whom to ask, and where
    to read more. Only what the data says."""
    meetings = group.meetings
    assert meetings is not None
    _, online = where(group, source)
    parts = [source.description or group.description or ""]
    if note:
        parts.append(note)
    if meetings.how_to_join:
        parts.append(f"How to join: {meetings.how_to_join}")
    if online is not None:
        parts.append(" ".join(p for p in ("Online:", online.url, online.details) if p))
    if group.contact and group.contact.as_published:
        parts.append(f"Contact, as published: {group.contact.as_published}")
    parts.append(f"More about this group: {page}")
    return "\n\n".join(p for p in parts if p)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _base(state: State, group: Group, source: Series | OneOff, page: str) -> Event:
    place, online = where(group, source)
    vevent = Event()
    vevent.add("UID", state.uid)
    vevent.add("DTSTAMP", _utc(state.modified))
    vevent.add("CREATED", _utc(state.created))
    vevent.add("LAST-MODIFIED", _utc(state.modified))
    vevent.add("SEQUENCE", state.sequence)
    vevent.add("SUMMARY", summary(group, source.title))
    if place_text(place):
        vevent.add("LOCATION", place_text(place))
    if place is not None and place.coordinates is not None:
        vevent.add("GEO", place.coordinates)
    if online is not None and online.url:
        vevent.add(
            "CONFERENCE",
            online.url,
            parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": "Join online"},
        )
    vevent.add("URL", page)
    return vevent


def _local(day: date, at: time, tz_name: str) -> datetime:
    return datetime.combine(day, at, tzinfo=zone(tz_name))


def _rrule(series: Series, tz_name: str) -> dict[str, object]:
    """RRULE (§3.3.10). UNTIL is in UTC, as §3.3.10 requires with a zoned DTSTART: the last
    moment of the ``until`` day in the group's zone."""
    rule = series.rule
    parts: dict[str, object] = {"FREQ": rule.freq}
    if rule.interval > 1:
        parts["INTERVAL"] = rule.interval
    if rule.weekdays:
        parts["BYDAY"] = [f"{o or ''}{WEEKDAY_CODES[d]}" for d, o in rule.weekdays]
    if rule.monthday:
        parts["BYMONTHDAY"] = rule.monthday
    if rule.month:
        parts["BYMONTH"] = rule.month
    if series.until:
        parts["UNTIL"] = _utc(_local(series.until, time(23, 59, 59), tz_name))
    if series.count:
        parts["COUNT"] = series.count
    return parts


def event(state: State, group: Group, source: Series | OneOff, page: str) -> bytes:
    """The VEVENTs of one series (master, then an override per moved or cancelled meeting,
    RFC 5545 §3.8.4.4 RECURRENCE-ID) or of one one-off meeting."""
    meetings = group.meetings
    assert meetings is not None and meetings.time_zone is not None
    tz_name = meetings.time_zone
    master = _base(state, group, source, page)
    if isinstance(source, OneOff):
        master.add("DTSTART", _local(source.date, source.time.start, tz_name))
        master.add("DTEND", _local(source.date, source.time.end, tz_name))
        master.add("DESCRIPTION", description(group, source, page))
        master.add("STATUS", "CONFIRMED")
        return master.to_ical()
    first = first_date(source)
    assert first is not None  # the checker refuses a rule without meetings
    master.add("DTSTART", _local(first, source.time.start, tz_name))
    master.add("DTEND", _local(first, source.time.end, tz_name))
    master.add("RRULE", _rrule(source, tz_name))
    master.add("DESCRIPTION", description(group, source, page))
    master.add("STATUS", "CONFIRMED")
    blocks = [master.to_ical()]
    overrides = [(m.date, m, None) for m in source.moved] + [
        (c.date, None, c) for c in source.cancelled
    ]
    for day, move, cancel in sorted(overrides, key=lambda o: o[0]):
        one = _base(state, group, source, page)
        one.add("RECURRENCE-ID", _local(day, source.time.start, tz_name))
        span = move.time if move and move.time else source.time
        on = move.to if move else day
        one.add("DTSTART", _local(on, span.start, tz_name))
        one.add("DTEND", _local(on, span.end, tz_name))
        if cancel is not None:
            one["SUMMARY"] = f"Cancelled: {summary(group, source.title)}"
            note = f"This meeting is cancelled. {cancel.note or ''}".strip()
            one.add("STATUS", "CANCELLED")
        else:
            assert move is not None
            note = f"Moved from {day:%A} {day.day} {day:%B %Y}. {move.note or ''}".strip()
            one.add("STATUS", "CONFIRMED")
        one.add("DESCRIPTION", description(group, source, page, note))
        blocks.append(one.to_ical())
    return b"".join(blocks)


def single(state: State, group: Group, source: Series | OneOff, page: str, o: Occurrence) -> bytes:
    """One meeting as a VEVENT of its own, with no RRULE: for "add this meeting". Its UID
    is the event's with the meeting's date, so it never clashes with the subscribed event."""
    one = _base(state, group, source, page)
    one["UID"] = f"{state.uid.replace('@', f'-{o.date:%Y%m%d}@', 1)}"
    one.add("DTSTART", o.start)
    one.add("DTEND", o.end)
    note = ""
    if o.cancelled:
        one["SUMMARY"] = f"Cancelled: {summary(group, source.title)}"
        note = f"This meeting is cancelled. {o.note or ''}".strip()
    elif o.moved:
        note = f"Moved from {o.date:%A} {o.date.day} {o.date:%B %Y}. {o.note or ''}".strip()
    one.add("STATUS", "CANCELLED" if o.cancelled else "CONFIRMED")
    one.add("DESCRIPTION", description(group, source, page, note))
    return one.to_ical()


def calendar(info: Info, zones: Iterable[str], events: Iterable[bytes]) -> bytes:
    """A VCALENDAR of ``events``, with a VTIMEZONE for each zone they use (§3.6.5): when
    there is no event, the calendar's own zone, since a calendar holds at least one
    component (§3.6)."""
    head = Calendar()
    head.add("PRODID", info.prodid)
    head.add("VERSION", "2.0")
    head.add("CALSCALE", "GREGORIAN")
    head.add("NAME", info.name)
    head.add("X-WR-CALNAME", vText(info.name))
    head.add("DESCRIPTION", info.description)
    head.add("X-WR-CALDESC", vText(info.description))
    head.add("X-WR-TIMEZONE", info.time_zone)
    head.add("REFRESH-INTERVAL", info.refresh, parameters={"VALUE": "DURATION"})
    head.add("X-PUBLISHED-TTL", vDuration(info.refresh))
    head.add("URL", info.url)
    head.add("SOURCE", info.source)
    header = head.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert header.endswith(end)
    body = b"".join(events)
    used = sorted(set(zones)) or [info.time_zone]
    return header[: -len(end)] + b"".join(vtimezone(z) for z in used) + body + end
