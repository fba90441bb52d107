"""iCalendar documents (RFC 5545, with RFC 7986's calendar properties), pure functions.

Each event (a series with its moved and cancelled meetings, or a one-off meeting) is
rendered once to bytes by ``event``; calendars are those bytes joined under a header
(``calendar``), so an event in its group's, its category's and the all calendar costs one
serialisation, not three. icalendar makes each content line of a VEVENT (the value in its
type: DATE-TIME with TZID or in UTC, RRULE, URI, INTEGER; and the parameters) and the
VTIMEZONEs (``vtimezone``). Kept here: folding at 75 octets (§3.1), TEXT escaping
(§3.3.11) and GEO's FLOATs (§3.3.7), each where icalendar's differs (their docstrings
say how), the calendar's header, and the sharing of the lines VEVENTs have in common (an
event's with its single-meeting files, the revision's with other events): icalendar's
content lines cost several times ours (docs/BENCHMARKS.md, part D, has the figures).

No METHOD: without it DTSTAMP is the event's last revision (RFC 5545 §3.8.7.2), which
history gives; the same data gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from icalendar import vDatetime, vDuration, vGeo, vInt, vRecur, vText, vUri
from icalendar.parser import Contentline

from publisher.directory.schedule import Occurrence, first_date
from publisher.directory.schedule_words import day_words, zone
from publisher.model.directory import Group, OneOff, Online, Place, Series
from publisher.model.events import State
from publisher.render.vtimezone import vtimezone

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


class _Text(vText):
    """A TEXT value (§3.3.11) that says what the group wrote: icalendar's escaping first
    reads the two characters backslash and N as a line break (``C:\\New`` reached apps
    as ``C:``, a new line and ``ew``)."""

    def to_ical(self) -> bytes:
        return _text(self).encode()


class _Geo(vGeo):
    """GEO (§3.8.1.6) in FLOATs (§3.3.7), which have no exponent: icalendar writes
    Python's shortest form, ``-5e-05`` for a place a few metres from the Greenwich
    meridian."""

    def to_ical(self) -> str:
        return f"{self.latitude:.6f};{self.longitude:.6f}"


def _line(name: str, value: vText | vDatetime | vInt | vUri | vRecur | vGeo) -> bytes:
    """One content line: icalendar's (``Component.to_ical`` makes each line so), folded
    here, since icalendar's folding, a character at a time, took a third of its time."""
    return _fold(Contentline.from_parts(name, value.params, value, sorted=False))


@lru_cache(maxsize=1024)
def _shared(state: State, group: Group, source: Series | OneOff, page: str) -> bytes:
    """The lines every VEVENT of an event has but its UID, made once for the event, its
    overrides and its single-meeting files (rendered one after the other)."""
    place, online = where(group, source)
    lines = [_revision(state.created, state.modified, state.sequence)]
    location = place_text(place)
    if location:
        lines.append(_line("LOCATION", _Text(location)))
    if place is not None and place.coordinates is not None:
        lines.append(_line("GEO", _Geo(place.coordinates)))
    if online is not None and online.url:  # RFC 7986 §5.11
        link = vUri(online.url, params={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": "Join online"})
        lines.append(_line("CONFERENCE", link))
    lines.append(_line("URL", vUri(page)))
    return b"".join(lines)


@lru_cache(maxsize=256)
def _revision(created: datetime, modified: datetime, sequence: int) -> bytes:
    """DTSTAMP, CREATED, LAST-MODIFIED (in UTC) and SEQUENCE, which many events share:
    those a load first published, or changed, have the same."""
    stamp = vDatetime(modified.astimezone(UTC))
    return b"".join(
        [
            _line("DTSTAMP", stamp),
            _line("CREATED", vDatetime(created.astimezone(UTC))),
            _line("LAST-MODIFIED", stamp),
            _line("SEQUENCE", vInt(sequence)),
        ]
    )


@lru_cache(maxsize=1024)
def _words(title: str, text: str, status: str) -> bytes:
    """SUMMARY, DESCRIPTION and STATUS, which a series' single-meeting files share with
    its master."""
    return b"".join(
        [
            _line("SUMMARY", _Text(title)),
            _line("DESCRIPTION", _Text(text)),
            _line("STATUS", vText(status)),
        ]
    )


def _vevent(uid: str, shared: bytes, *own: bytes) -> bytes:
    """A VEVENT (§3.6.1): its UID, the event's shared lines, then its own."""
    return b"".join(
        [b"BEGIN:VEVENT\r\n", _line("UID", vText(uid)), shared, *own, b"END:VEVENT\r\n"]
    )


def _times(start: datetime, end: datetime) -> bytes:
    """DTSTART and DTEND in the group's zone (§3.3.5, form #3): never floating."""
    return _line("DTSTART", vDatetime(start)) + _line("DTEND", vDatetime(end))


def _local(day: date, at: time, tz_name: str) -> datetime:
    return datetime.combine(day, at, tzinfo=zone(tz_name))


def _rrule(series: Series, tz_name: str) -> vRecur:
    """RRULE (§3.3.10), its parts in icalendar's order. UNTIL is in UTC, as §3.3.10
    requires with a zoned DTSTART: the last moment of the ``until`` day in the group's
    zone."""
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
        parts["UNTIL"] = _local(series.until, time(23, 59, 59), tz_name).astimezone(UTC)
    if series.count:
        parts["COUNT"] = series.count
    return vRecur(parts)


def _moved_note(day: date, note: str | None) -> str:
    return f"Moved from {day_words(day)}. {note or ''}".strip()


def _cancelled_note(note: str | None) -> str:
    return f"This meeting is cancelled. {note or ''}".strip()


def event(state: State, group: Group, source: Series | OneOff, page: str) -> bytes:
    """The VEVENTs of one series (master, then an override per moved or cancelled meeting,
    RFC 5545 §3.8.4.4 RECURRENCE-ID) or of one one-off meeting.
    Tests read every calendar back with icalendar, recurring-ical-events and ical.js."""
    meetings = group.meetings
    assert meetings is not None and meetings.time_zone is not None
    tz = meetings.time_zone
    name = summary(group, source.title)
    words = _words(name, description(group, source, page), "CONFIRMED")
    shared = _shared(state, group, source, page)
    if isinstance(source, OneOff):
        start, end = (_local(source.date, t, tz) for t in (source.time.start, source.time.end))
        return _vevent(state.uid, shared, _times(start, end), words)
    first = first_date(source)
    assert first is not None  # the checker refuses a rule without meetings
    start, end = (_local(first, t, tz) for t in (source.time.start, source.time.end))
    rrule = _line("RRULE", _rrule(source, tz))
    blocks = [_vevent(state.uid, shared, rrule, _times(start, end), words)]
    overrides = [(m.date, m, None) for m in source.moved] + [
        (c.date, None, c) for c in source.cancelled
    ]
    for day, move, cancel in sorted(overrides, key=lambda o: o[0]):
        span = move.time if move and move.time else source.time
        on = move.to if move else day
        start, end = _local(on, span.start, tz), _local(on, span.end, tz)
        recurrence = _line("RECURRENCE-ID", vDatetime(_local(day, source.time.start, tz)))
        if cancel is not None:
            text = description(group, source, page, _cancelled_note(cancel.note))
            own = _words(f"Cancelled: {name}", text, "CANCELLED")
        else:
            assert move is not None
            text = description(group, source, page, _moved_note(day, move.note))
            own = _words(name, text, "CONFIRMED")
        blocks.append(_vevent(state.uid, shared, recurrence, _times(start, end), own))
    return b"".join(blocks)


def single(state: State, group: Group, source: Series | OneOff, page: str, o: Occurrence) -> bytes:
    """One meeting as a VEVENT of its own, with no RRULE: for "add this meeting". Its UID
    is the event's with the meeting's date, so it never clashes with the subscribed event."""
    uid = state.uid.replace("@", f"-{o.date:%Y%m%d}@", 1)
    name = summary(group, source.title)
    note = (
        _cancelled_note(o.note) if o.cancelled else _moved_note(o.date, o.note) if o.moved else ""
    )
    words = _words(
        f"Cancelled: {name}" if o.cancelled else name,
        description(group, source, page, note),
        "CANCELLED" if o.cancelled else "CONFIRMED",
    )
    return _vevent(uid, _shared(state, group, source, page), _times(o.start, o.end), words)


def _block(lines: list[str]) -> bytes:
    return b"".join(_fold(line) for line in lines)


def _fold(line: str) -> bytes:
    """One content line, folded to lines of at most 75 octets (RFC 5545 §3.1), never
    inside a UTF-8 sequence, ended with CRLF."""
    data = line.encode()
    if len(data) <= 75:
        return data + b"\r\n"
    if data.isascii():  # nearly always: every byte is a character
        parts = [data[:75], *(data[i : i + 74] for i in range(75, len(data), 74))]
        return b"\r\n ".join(parts) + b"\r\n"
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a continuation byte
            end -= 1
        parts.append(data[start:end])
        start, limit = end, 74  # a continuation line starts with a space
    return b"\r\n ".join(parts) + b"\r\n"


def _text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and line breaks escaped."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def calendar(info: Info, zones: Iterable[str], events: Iterable[bytes]) -> bytes:
    """A VCALENDAR of ``events``, with a VTIMEZONE for each zone they use (§3.6.5): when
    there is no event, the calendar's own zone, since a calendar holds at least one
    component (§3.6).

    The header is written here, not with icalendar's Calendar: a directory of 10,000 groups
    has 10,000 calendars, most of them empty, and this is twenty times faster."""
    name, description = _text(info.name), _text(info.description)
    lines = [
        f"NAME:{name}",
        f"X-WR-CALNAME:{name}",
        f"DESCRIPTION:{description}",
        f"X-WR-CALDESC:{description}",
    ]
    used = sorted(set(zones)) or [info.time_zone]
    return b"".join(
        [
            _opening(info.prodid),
            *(_fold(line) for line in lines),
            _timing(info.time_zone, info.refresh),
            _fold(f"URL:{info.url}"),
            _fold(f"SOURCE:{info.source}"),
            *(vtimezone(z) for z in used),
            *events,
            b"END:VCALENDAR\r\n",
        ]
    )


@lru_cache(maxsize=16)
def _opening(prodid: str) -> bytes:
    """The lines that open every calendar of a site (made once, not for each of 10,000)."""
    return _block(
        ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{_text(prodid)}", "CALSCALE:GREGORIAN"]
    )


@lru_cache(maxsize=64)
def _timing(zone: str, refresh: timedelta) -> bytes:
    """The calendar's zone and how often apps should fetch it again (RFC 7986 §5.7)."""
    every = vDuration(refresh).to_ical().decode()  # a DURATION value (§3.3.6)
    return _block(
        [
            f"X-WR-TIMEZONE:{_text(zone)}",
            f"REFRESH-INTERVAL;VALUE=DURATION:{every}",
            f"X-PUBLISHED-TTL:{every}",
        ]
    )
