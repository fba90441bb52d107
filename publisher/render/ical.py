"""iCalendar documents (RFC 5545, with RFC 7986's calendar properties), pure functions.

Each event (a series with its moved and cancelled meetings, or a one-off meeting) is
rendered once to bytes by ``event``; calendars are those bytes joined under a header
(``calendar``), so an event in its group's, its category's and the all calendar costs one
serialisation, not three. Content lines are written here (CRLF ends, folding at 75 octets,
TEXT escaping, §3.1 and §3.3.11); icalendar writes the VTIMEZONEs (``vtimezone``).

No METHOD: without it DTSTAMP is the event's last revision (RFC 5545 §3.8.7.2), which
history gives; the same data gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from icalendar import vDuration

from publisher.directory.schedule import Occurrence, day_words, first_date, zone
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


def _utc(moment: datetime) -> str:
    """A UTC DATE-TIME value (RFC 5545 §3.3.5, form #2)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _zoned(name: str, moment: datetime, tz_name: str) -> str:
    """NAME;TZID=zone:local time (§3.3.5, form #3): never floating."""
    return f"{name};TZID={tz_name}:{moment:%Y%m%dT%H%M%S}"


def _head(state: State, group: Group, source: Series | OneOff, page: str, uid: str) -> list[str]:
    """The properties every VEVENT of an event shares."""
    place, online = where(group, source)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{_text(uid)}",
        f"DTSTAMP:{_utc(state.modified)}",
        f"CREATED:{_utc(state.created)}",
        f"LAST-MODIFIED:{_utc(state.modified)}",
        f"SEQUENCE:{state.sequence}",
    ]
    location = place_text(place)
    if location:
        lines.append(f"LOCATION:{_text(location)}")
    if place is not None and place.coordinates is not None:
        lat, lon = place.coordinates  # §3.8.1.6, FLOAT values (§3.3.7: no exponent)
        lines.append(f"GEO:{lat:.6f};{lon:.6f}")
    if online is not None and online.url:  # RFC 7986 §5.11
        lines.append(f"CONFERENCE;VALUE=URI;FEATURE=VIDEO;LABEL=Join online:{online.url}")
    lines.append(f"URL:{page}")
    return lines


def _tail(
    title: str, text: str, status: str, start: datetime, end: datetime, tz_name: str
) -> list[str]:
    return [
        _zoned("DTSTART", start, tz_name),
        _zoned("DTEND", end, tz_name),
        f"SUMMARY:{_text(title)}",
        f"DESCRIPTION:{_text(text)}",
        f"STATUS:{status}",
    ]


def _local(day: date, at: time, tz_name: str) -> datetime:
    return datetime.combine(day, at, tzinfo=zone(tz_name))


def _rrule(series: Series, tz_name: str) -> str:
    """RRULE (§3.3.10), FREQ first. UNTIL is in UTC, as §3.3.10 requires with a zoned
    DTSTART: the last moment of the ``until`` day in the group's zone."""
    rule = series.rule
    parts = [f"FREQ={rule.freq}"]
    if rule.interval > 1:
        parts.append(f"INTERVAL={rule.interval}")
    if rule.weekdays:
        parts.append("BYDAY=" + ",".join(f"{o or ''}{WEEKDAY_CODES[d]}" for d, o in rule.weekdays))
    if rule.monthday:
        parts.append(f"BYMONTHDAY={rule.monthday}")
    if rule.month:
        parts.append(f"BYMONTH={rule.month}")
    if series.until:
        parts.append(f"UNTIL={_utc(_local(series.until, time(23, 59, 59), tz_name))}")
    if series.count:
        parts.append(f"COUNT={series.count}")
    return "RRULE:" + ";".join(parts)


def _moved_note(day: date, note: str | None) -> str:
    return f"Moved from {day_words(day)}. {note or ''}".strip()


def _cancelled_note(note: str | None) -> str:
    return f"This meeting is cancelled. {note or ''}".strip()


def event(state: State, group: Group, source: Series | OneOff, page: str) -> bytes:
    """The VEVENTs of one series (master, then an override per moved or cancelled meeting,
    RFC 5545 §3.8.4.4 RECURRENCE-ID) or of one one-off meeting.

    Written here rather than with icalendar's Event: 1,000 meeting groups have thousands of
    VEVENTs, and icalendar's folding alone took longer than the whole second this may
    take. Tests read every calendar back with icalendar and with ical.js."""
    meetings = group.meetings
    assert meetings is not None and meetings.time_zone is not None
    tz = meetings.time_zone
    name = summary(group, source.title)
    lines = _head(state, group, source, page, state.uid)
    if isinstance(source, OneOff):
        start, end = (_local(source.date, t, tz) for t in (source.time.start, source.time.end))
        lines += _tail(name, description(group, source, page), "CONFIRMED", start, end, tz)
        return _block([*lines, "END:VEVENT"])
    first = first_date(source)
    assert first is not None  # the checker refuses a rule without meetings
    start, end = (_local(first, t, tz) for t in (source.time.start, source.time.end))
    lines += [
        _rrule(source, tz),
        *_tail(name, description(group, source, page), "CONFIRMED", start, end, tz),
        "END:VEVENT",
    ]
    overrides = [(m.date, m, None) for m in source.moved] + [
        (c.date, None, c) for c in source.cancelled
    ]
    for day, move, cancel in sorted(overrides, key=lambda o: o[0]):
        span = move.time if move and move.time else source.time
        on = move.to if move else day
        start, end = _local(on, span.start, tz), _local(on, span.end, tz)
        lines += _head(state, group, source, page, state.uid)
        lines.append(_zoned("RECURRENCE-ID", _local(day, source.time.start, tz), tz))
        if cancel is not None:
            text = description(group, source, page, _cancelled_note(cancel.note))
            lines += _tail(f"Cancelled: {name}", text, "CANCELLED", start, end, tz)
        else:
            assert move is not None
            text = description(group, source, page, _moved_note(day, move.note))
            lines += _tail(name, text, "CONFIRMED", start, end, tz)
        lines.append("END:VEVENT")
    return _block(lines)


def single(state: State, group: Group, source: Series | OneOff, page: str, o: Occurrence) -> bytes:
    """One meeting as a VEVENT of its own, with no RRULE: for "add this meeting". Its UID
    is the event's with the meeting's date, so it never clashes with the subscribed event."""
    meetings = group.meetings
    assert meetings is not None and meetings.time_zone is not None
    uid = state.uid.replace("@", f"-{o.date:%Y%m%d}@", 1)
    name = summary(group, source.title)
    note = (
        _cancelled_note(o.note) if o.cancelled else _moved_note(o.date, o.note) if o.moved else ""
    )
    lines = _head(state, group, source, page, uid)
    lines += _tail(
        f"Cancelled: {name}" if o.cancelled else name,
        description(group, source, page, note),
        "CANCELLED" if o.cancelled else "CONFIRMED",
        o.start,
        o.end,
        meetings.time_zone,
    )
    return _block([*lines, "END:VEVENT"])


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
