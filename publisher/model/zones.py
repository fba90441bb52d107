"""Time-zone rules: a zone's current POSIX TZ rule (the footer of its TZif file, RFC 8536
§3.3), the yearly changes of the clocks it gives, and whether those agree with the tz database.

Calendars describe a zone by yearly rules (``render.vtimezone``); the checker refuses a zone
those rules would get wrong (``check_zone``) before anything is published.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

#: Zone abbreviation (plain or <quoted>), then the offset west of UTC, POSIX style.
_PART = re.compile(r"(?P<name><[^>]+>|[A-Za-z]{3,})(?P<offset>[+-]?\d{1,2}(?::\d{2}){0,2})?")
_DAY = re.compile(r"^M(\d{1,2})\.([1-5])\.([0-6])(?:/([+-]?\d{1,3})(?::(\d{2}))?(?::(\d{2}))?)?$")


class ZoneRuleError(ValueError):
    """The zone's rule cannot be written as a yearly RRULE that calendar apps read right."""


@dataclass(frozen=True)
class Transition:
    """A yearly change of the clocks: the month, the nth (-1: last) weekday, at local time."""

    month: int
    week: int  # 1..4, or -1 for the last
    weekday: int  # 0 = Sunday, as in POSIX
    seconds: int  # after local midnight, in the time in force before the change
    shift_days: int = 0  # for times past 24:00 or before 00:00 (RFC 8536 §3.3.1)


@dataclass(frozen=True)
class ZoneRule:
    std_name: str
    std_offset: timedelta  # east of UTC, as iCalendar counts
    dst_name: str | None = None
    dst_offset: timedelta | None = None
    dst_start: Transition | None = None
    dst_end: Transition | None = None


def _offset(text: str | None, default: timedelta) -> timedelta:
    """POSIX offsets count west of UTC: 'EST5' is UTC-5. Returns east of UTC."""
    if not text:
        return default
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return -sign * timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])


def _transition(text: str) -> Transition:
    match = _DAY.match(text)
    if not match:
        raise ZoneRuleError(f"the change {text!r} is not of the form Mm.w.d")
    month, week, weekday, hours, minutes, seconds = match.groups()
    total = int(hours or 2) * 3600 + int(minutes or 0) * 60 + int(seconds or 0)
    if hours and hours.startswith("-"):
        total = int(hours) * 3600 - int(minutes or 0) * 60 - int(seconds or 0)
    shift, total = divmod(total, 86400)
    return Transition(int(month), -1 if week == "5" else int(week), int(weekday), total, shift)


def parse_posix(rule: str) -> ZoneRule:
    """Read a POSIX TZ rule such as 'GMT0BST,M3.5.0/1,M10.5.0' (RFC 8536 §3.3)."""
    head, *changes = rule.split(",")
    std = _PART.match(head)
    if not std or std.group("offset") is None:
        raise ZoneRuleError(f"{rule!r} has no standard time offset")
    std_offset = _offset(std.group("offset"), timedelta(0))
    rest = head[std.end() :]
    if not rest:
        if changes:
            raise ZoneRuleError(f"{rule!r} has changes but no daylight time")
        return ZoneRule(std.group("name").strip("<>"), std_offset)
    dst = _PART.fullmatch(rest)
    if not dst or len(changes) != 2:
        raise ZoneRuleError(f"{rule!r} is not a rule with two yearly changes")
    return ZoneRule(
        std.group("name").strip("<>"),
        std_offset,
        dst.group("name").strip("<>"),
        _offset(dst.group("offset"), std_offset + timedelta(hours=1)),
        _transition(changes[0]),
        _transition(changes[1]),
    )


def _tzif(name: str) -> bytes:
    """The zone's TZif file, from where zoneinfo finds it: the system's, else tzdata's."""
    for base in zoneinfo.TZPATH:
        path = Path(base) / name
        if path.is_file():
            return path.read_bytes()
    parts = name.split("/")
    package = ".".join(["tzdata", "zoneinfo", *parts[:-1]])
    return resources.files(package).joinpath(parts[-1]).read_bytes()


@cache
def rule_of(name: str) -> ZoneRule:
    """The current rule of the IANA zone ``name``; ZoneRuleError if it has none usable."""
    data = _tzif(name)
    if not data.startswith(b"TZif") or data[4:5] < b"2":
        raise ZoneRuleError(f"the time zone file of {name} has no rule for the future")
    footer = data.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii")
    if not footer:
        raise ZoneRuleError(f"{name} has no rule for the future")
    return parse_posix(footer)


@lru_cache(maxsize=256)
def change_at(change: Transition, year: int) -> datetime:
    """The local wall time of the change in ``year`` (before any day shift); remembered, as
    checking a zone asks for the same few years on each of 3,650 days."""
    first = date(year, change.month, 1)
    if change.week == -1:
        next_month = date(year + change.month // 12, change.month % 12 + 1, 1)
        last = next_month - timedelta(days=1)
        day = last - timedelta(days=(last.isoweekday() % 7 - change.weekday) % 7)
    else:
        day = first + timedelta(days=(change.weekday - first.isoweekday() % 7) % 7)
        day += timedelta(weeks=change.week - 1)
    start = datetime(day.year, day.month, day.day) + timedelta(seconds=change.seconds)
    return start + timedelta(days=change.shift_days)


def offset_at(name: str, moment: datetime) -> timedelta:
    """The UTC offset the VTIMEZONE's rules give at ``moment`` (a UTC time): what a calendar
    app that trusts the file computes. Used to check a zone before it is published."""
    rule = rule_of(name)
    if rule.dst_start is None or rule.dst_end is None or rule.dst_offset is None:
        return rule.std_offset
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    year = utc.year
    starts = change_at(rule.dst_start, year) - rule.std_offset
    ends = change_at(rule.dst_end, year) - rule.dst_offset
    in_dst = starts <= utc < ends if starts < ends else not (ends <= utc < starts)
    return rule.dst_offset if in_dst else rule.std_offset


#: The years over which a zone's yearly rules are compared with the tz database, once a day.
CHECK_FROM, CHECK_YEARS = datetime(2025, 1, 1, 12, tzinfo=UTC), 10


@cache
def check_zone(name: str) -> None:
    """Raise ZoneRuleError unless the yearly rules agree with the tz database at midday UTC
    of every day of CHECK_YEARS years: zones whose future changes are listed one by one
    (Morocco's, for weeks around Ramadan) fail, and are refused rather than published wrong.
    Other zones' future changes come from the same rule, so they agree; once a day keeps
    this to a few milliseconds at start."""
    zone = zoneinfo.ZoneInfo(name)
    moment = CHECK_FROM
    end = moment + timedelta(days=366 * CHECK_YEARS)
    while moment < end:
        if moment.astimezone(zone).utcoffset() != offset_at(name, moment):
            raise ZoneRuleError(f"{name} changes its clocks on dates no yearly rule gives")
        moment += timedelta(days=1)
