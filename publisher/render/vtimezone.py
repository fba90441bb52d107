"""VTIMEZONE components (RFC 5545 §3.6.5) with yearly RRULEs, as libical and tzurl publish
them, made from the zone's current POSIX TZ rule (``model.zones``).

Why not icalendar's ``add_missing_timezones()``: for Europe/London it writes a long list of
RDATEs valid "until 2038", which Mozilla's ical.js (Thunderbird, Nextcloud) reads as UTC+1 all
year, so winter meetings show an hour early. Two yearly rules (DAYLIGHT and STANDARD, from
1970) are read right by every parser; meetings are in the present and future, where the
current rule is the one that applies.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from functools import cache

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

from publisher.model.zones import Transition, ZoneRuleError, change_at, rule_of

#: The first year of the rules: the convention of libical and tzurl.
EPOCH_YEAR = 1970
DAY_NAMES = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # POSIX numbers Sunday as 0


def _rrule(change: Transition) -> dict[str, object]:
    """FREQ=YEARLY;BYMONTH=m;BYDAY=nDD, or, for a change shifted to the next or previous day
    (Jerusalem's "Friday before the last Sunday"), the weekday among the seven days of the
    month it can fall on (BYMONTHDAY with BYDAY, as tzurl writes it)."""
    if not change.shift_days:
        return {
            "FREQ": "YEARLY",
            "BYMONTH": change.month,
            "BYDAY": f"{change.week}{DAY_NAMES[change.weekday]}",
        }
    length = calendar.monthrange(2001, change.month)[1]  # February: 28, checked below
    first = (length - 6 if change.week == -1 else 7 * (change.week - 1) + 1) + change.shift_days
    days = list(range(first, first + 7))
    if days[0] < 1 or days[-1] > min(length, 28 if change.month == 2 else length):
        raise ZoneRuleError("a change that can fall in another month")
    weekday = DAY_NAMES[(change.weekday + change.shift_days) % 7]
    return {"FREQ": "YEARLY", "BYMONTH": change.month, "BYMONTHDAY": days, "BYDAY": weekday}


def component(name: str) -> Timezone:
    """The VTIMEZONE of ``name``, the same for the same tz database."""
    rule = rule_of(name)
    tz = Timezone()
    tz.add("TZID", name)
    tz.add("X-LIC-LOCATION", name)
    if rule.dst_start is None or rule.dst_end is None or rule.dst_offset is None:
        std = TimezoneStandard()
        std.add("TZNAME", rule.std_name)
        std.add("TZOFFSETFROM", rule.std_offset)
        std.add("TZOFFSETTO", rule.std_offset)
        std.add("DTSTART", datetime(EPOCH_YEAR, 1, 1))
        tz.add_component(std)
        return tz
    for kind, change, name_, before, after in (
        (TimezoneDaylight, rule.dst_start, rule.dst_name, rule.std_offset, rule.dst_offset),
        (TimezoneStandard, rule.dst_end, rule.std_name, rule.dst_offset, rule.std_offset),
    ):
        part = kind()
        part.add("TZNAME", name_)
        part.add("TZOFFSETFROM", before)
        part.add("TZOFFSETTO", after)
        part.add("DTSTART", change_at(change, EPOCH_YEAR))
        part.add("RRULE", _rrule(change))
        tz.add_component(part)
    return tz


@cache
def vtimezone(name: str) -> bytes:
    """The VTIMEZONE of ``name`` as CRLF-ended content lines, made once per process."""
    return component(name).to_ical()
