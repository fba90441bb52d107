"""Schedules in words: reading what volunteers write (``every: 2 months``, ``on: second
Wednesday``, ``time: 18:00-20:00``) into ``model.Rule`` and ``model.Series`` (RFC 5545
§3.3.10 terms), and saying a schedule back in plain words for pages, feeds and calendars.

Each reading error is a ScheduleError with the message and how to fix it; ``schedule``
expands the series and checks what cannot be meant.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from publisher.model.directory import (
    Cancellation,
    Move,
    OneOff,
    Online,
    Place,
    Rule,
    Series,
    TimeRange,
)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
ORDINAL_WORDS = {v: k for k, v in ORDINALS.items()}
FREQ_WORDS = {"WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
#: How far past the last start the overlap check looks, and how many meetings at most a
#: series contributes to it: enough for any two real rules to meet, bounded for hostile ones.

_EVERY = re.compile(r"^(?:every\s+)?(?:([0-9]{1,3})\s+)?(week|month|year)s?$", re.ASCII)
_EVERY_WORDS = {
    "weekly": ("WEEKLY", 1),
    "fortnightly": ("WEEKLY", 2),
    "monthly": ("MONTHLY", 1),
    "yearly": ("YEARLY", 1),
    "annually": ("YEARLY", 1),
}
_TIME = re.compile(r"^([0-9]{1,2})[:.]([0-9]{2})\s*(?:-|–|to)\s*([0-9]{1,2})[:.]([0-9]{2})$")
_DAY = re.compile(r"^(?:day\s+)?([0-9]{1,2})(?:st|nd|rd|th)?$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
#: Meeting dates are taken in this range: anything outside is a typo, and date arithmetic
#: near year 1 or 9999 would overflow.
FIRST_YEAR, LAST_YEAR = 1970, 2199
#: A meeting moved further than this is a new meeting: add it as a one-off instead.
MAX_MOVE = timedelta(days=366)
_SPLIT = re.compile(r"\s*(?:,|\band\b)\s*")


class ScheduleError(ValueError):
    """A value a volunteer wrote that does not say a schedule: message and how to fix it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_every(text: str) -> tuple[str, int]:
    """'every 2 months', '2 months', 'weekly', 'fortnightly' -> ("MONTHLY", 2)."""
    words = " ".join(text.lower().split())
    if words in _EVERY_WORDS:
        return _EVERY_WORDS[words]
    match = _EVERY.match(words)
    interval = int(match.group(1) or 1) if match else 0
    if not match or not 1 <= interval <= 99:
        raise ScheduleError(
            f"{text!r} is not a repeat this schedule understands.",
            "Write e.g. 'week', '2 weeks', 'month', '2 months' or 'year'.",
        )
    return match.group(2).upper() + "LY", interval


def parse_on(
    text: str, freq: str
) -> tuple[tuple[tuple[int, int | None], ...], int | None, int | None]:
    """The days of a rule: weekdays (with ordinals for a monthly rule), or a day of the month,
    or a day and month for a yearly one. Returns (weekdays, monthday, month)."""
    words = [w for w in _SPLIT.split(" ".join(text.lower().split())) if w]
    if freq == "WEEKLY":
        if words and all(w in WEEKDAYS for w in words):
            days = dict.fromkeys(WEEKDAYS.index(w) for w in words)  # once each, in order
            return tuple((d, None) for d in days), None, None
        raise ScheduleError(
            f"{text!r} is not a day of the week.",
            "Write e.g. 'Wednesday' or 'Monday and Thursday'.",
        )
    if freq == "MONTHLY":
        day = _DAY.match(words[0]) if len(words) == 1 else None
        if day and 1 <= int(day.group(1)) <= 31:
            return (), int(day.group(1)), None
        # "first and third Tuesday": ordinals, the weekday after the last one
        *head, last = words or [""]
        parts = last.split()
        if (
            len(parts) == 2
            and parts[1] in WEEKDAYS
            and all(w in ORDINALS for w in [*head, parts[0]])
        ):
            weekday = WEEKDAYS.index(parts[1])
            ordinals = dict.fromkeys(ORDINALS[w] for w in [*head, parts[0]])
            return tuple((weekday, o) for o in ordinals), None, None
        raise ScheduleError(
            f"{text!r} is not a day of the month.",
            "Write e.g. 'second Wednesday', 'last Friday', 'first and third Tuesday' or 'day 15'.",
        )
    parts = words[0].split() if len(words) == 1 else []
    if len(parts) == 2 and parts[0].isdigit() and parts[1] in MONTHS and 1 <= int(parts[0]) <= 31:
        return (), int(parts[0]), MONTHS.index(parts[1]) + 1
    raise ScheduleError(f"{text!r} is not a day of the year.", "Write e.g. '14 February'.")


def parse_time_range(text: str) -> TimeRange:
    """'18:00-20:00' (or 18.00 to 20.00) -> TimeRange. An end before the start is an error,
    not a meeting past midnight: that is far more often a typo."""
    match = _TIME.match(text.strip())
    hint = "Write the start and end on the 24-hour clock, e.g. 18:00-20:00."
    if not match:
        raise ScheduleError(f"{text!r} is not a time range.", hint)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ScheduleError(f"{text!r} has a time that does not exist.", hint)
    start, end = time(h1, m1), time(h2, m2)
    if end <= start:
        raise ScheduleError(
            f"The meeting ends ({end:%H:%M}) before it starts ({start:%H:%M}).",
            "Swap the two times, or correct the one that is wrong.",
        )
    return TimeRange(start, end)


def parse_date(text: str) -> date:
    """'2027-01-13' -> date; only that form (Python would also read 20270113 and 2027-W02-3),
    and only years FIRST_YEAR to LAST_YEAR."""
    hint = "Write the date as year-month-day, e.g. 2027-01-13."
    try:
        if not _DATE.match(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise ScheduleError(f"{text!r} is not a date.", hint) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ScheduleError(
            f"{text!r} is too far in the past or the future.",
            f"Meeting dates are between {FIRST_YEAR} and {LAST_YEAR}: check the year.",
        )
    return day


def parse_coordinates(text: str) -> tuple[float, float]:
    """'54.7753, -1.5749' -> (latitude, longitude), as RFC 5545 §3.8.1.6 GEO wants them."""
    try:
        lat, lon = (float(p) for p in text.split(","))
    except ValueError:
        lat = lon = float("nan")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ScheduleError(
            f"{text!r} are not coordinates.", "Write latitude, longitude, e.g. 54.7753, -1.5749."
        )
    return lat, lon


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ScheduleError if there is none such."""
    if not re.fullmatch(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*", name):
        raise ScheduleError(f"{name!r} is not a time zone name.", "Write e.g. Europe/London.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        from difflib import get_close_matches
        from zoneinfo import available_timezones

        close = get_close_matches(name, sorted(available_timezones()), n=1)
        hint = f"Did you mean {close[0]}?" if close else "Write an IANA name, e.g. Europe/London."
        raise ScheduleError(f"There is no time zone called {name!r}.", hint) from None


def date_words(day: date) -> str:
    """'13 January 2027', in English whatever the process's locale (strftime's %B is not)."""
    return f"{day.day} {MONTHS[day.month - 1].capitalize()} {day.year}"


def day_words(day: date) -> str:
    """'Wednesday 13 January 2027'."""
    return f"{WEEKDAYS[day.weekday()].capitalize()} {date_words(day)}"


def describe_rule(rule: Rule) -> str:
    """'every 2 months on the second Wednesday', for pages and messages."""
    unit = FREQ_WORDS[rule.freq]
    every = f"every {rule.interval} {unit}s" if rule.interval > 1 else f"every {unit}"
    if rule.weekdays:
        days = sorted({d for d, _ in rule.weekdays})
        ordinals = [ORDINAL_WORDS[o] for _, o in rule.weekdays if o is not None]
        day_names = " and ".join(WEEKDAYS[d].capitalize() for d in days)
        on = f"the {' and '.join(ordinals)} {day_names}" if ordinals else day_names
        return f"{every} on {on}"
    if rule.month:
        return f"{every} on {rule.monthday} {MONTHS[rule.month - 1].capitalize()}"
    if rule.monthday:
        return f"{every} on day {rule.monthday}"
    return every


def describe_series(series: Series) -> str:
    """'Every 2 months on the second Wednesday, 18:00 to 20:00, from 9 September 2026'."""
    start, end = series.time.start, series.time.end
    rule = describe_rule(series.rule)
    text = f"{rule[0].upper()}{rule[1:]}, {start:%H:%M} to {end:%H:%M}"
    text += f", from {date_words(series.starts)}"
    if series.until:
        text += f" until {date_words(series.until)}"
    if series.count:
        text += f", {series.count} meetings in all"
    return text


def skips(rule: Rule) -> str | None:
    """Why a valid rule has no meeting in some months or years, in plain words, or None."""
    if rule.freq == "MONTHLY" and any(o == 5 for _, o in rule.weekdays):
        return "Not every month has a fifth such weekday: those months have no meeting."
    if rule.freq == "MONTHLY" and rule.monthday and rule.monthday > 28:
        return f"Not every month has a day {rule.monthday}: those months have no meeting."
    if rule.freq == "YEARLY" and (rule.month, rule.monthday) == (2, 29):
        return "29 February comes only in leap years: the other years have no meeting."
    return None


#: rrule's frequencies, by the names RFC 5545 gives them.
def build_series(raw: dict, key: str) -> Series:
    """A Series from checked values (text already validated by the schema's kinds)."""
    freq, interval = parse_every(raw["every"])
    weekdays, monthday, month = parse_on(raw["on"], freq) if "on" in raw else ((), None, None)
    starts = parse_date(raw["starts"])
    if not (weekdays or monthday):  # RFC 5545: the missing parts come from DTSTART
        if freq == "WEEKLY":
            weekdays = ((starts.weekday(), None),)
        else:
            monthday, month = starts.day, (starts.month if freq == "YEARLY" else None)
    return Series(
        key=key,
        starts=starts,
        rule=Rule(freq, interval, weekdays, monthday, month),
        time=parse_time_range(raw["time"]),
        until=parse_date(raw["until"]) if "until" in raw else None,
        count=raw.get("count"),
        title=raw.get("title"),
        description=raw.get("description"),
        cancelled=tuple(
            Cancellation(parse_date(c["date"]), c.get("note")) for c in raw.get("cancelled", [])
        ),
        moved=tuple(
            Move(
                parse_date(m["date"]),
                parse_date(m["to"]),
                parse_time_range(m["time"]) if "time" in m else None,
                m.get("note"),
            )
            for m in raw.get("moved", [])
        ),
    )


def build_one_off(raw: dict, key: str, place: Place | None, online: Online | None) -> OneOff:
    return OneOff(
        key=key,
        date=parse_date(raw["date"]),
        time=parse_time_range(raw["time"]),
        title=raw.get("title"),
        description=raw.get("description"),
        place=place,
        online=online,
    )
