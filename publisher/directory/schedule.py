"""Meeting schedules: the occurrences they give, and the checks that catch a schedule that
cannot be meant (``schedule_words`` reads them from what volunteers write).

dateutil's rrule expands each series in local wall-clock time; then the group's IANA zone is
attached: a meeting at 18:00 stays at 18:00 across the clock changes, as calendar apps expand
RRULEs.

Kept here, for what rrule cannot say:

- moved and cancelled meetings (RECURRENCE-ID overrides, §3.8.4.4): a cancelled one stays,
  marked, and a moved one is at its new date and time (``occurrences``);
- the zone: a time that does not exist as the clocks go forward is read as apps read it
  (``_at``, §3.3.5);
- where to begin: rrule walks from DTSTART, so a series begun years ago is handed to it from
  the latest period in its INTERVAL phase before the days asked for (``_first_period``);
- that a rule never gives a date (30 February): rrule would search to the year 9999, a
  second for that one; the search stops after one cycle of the Gregorian calendar
  (``_cycle_end``).

tests/test_expansion.py compares the result with rrule run plainly from each series' start,
and the calendars are expanded back by ical.js and recurring-ical-events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice, takewhile
from math import gcd
from zoneinfo import ZoneInfo

from dateutil import rrule

from publisher.directory.schedule_words import MAX_MOVE, describe_rule, skips, zone
from publisher.model.directory import (
    Meetings,
    Online,
    Place,
    Series,
    TimeRange,
)

CHECK_YEARS = 3
CHECK_MAX = 1000

FREQS = {"WEEKLY": rrule.WEEKLY, "MONTHLY": rrule.MONTHLY, "YEARLY": rrule.YEARLY}
#: The Gregorian calendar repeats every 400 years: 4,800 months. Every week holds each
#: weekday, so one week is a weekly rule's cycle.
CYCLE = {"WEEKLY": 1, "MONTHLY": 4800, "YEARLY": 400}


def _first_period(series: Series, since: date | None) -> int:
    """The period to start from: 0, or (without COUNT, which counts from the very first
    meeting) the latest one in the rule's INTERVAL phase that begins on or before ``since``,
    so a series started years ago is not walked from its start."""
    if since is None or series.count is not None or since <= series.starts:
        return 0
    rule, start = series.rule, series.starts
    if rule.freq == "WEEKLY":
        periods = (since - (start - timedelta(days=start.weekday()))).days // 7
    elif rule.freq == "MONTHLY":
        periods = (since.year - start.year) * 12 + since.month - start.month
    else:
        periods = since.year - start.year
    return periods - periods % rule.interval


def _period_start(series: Series, period: int) -> date:
    """The first day of the ``period``-th week (from Monday, the default WKST), month or
    year from the one that holds the series' start."""
    start = series.starts
    if series.rule.freq == "WEEKLY":
        return start - timedelta(days=start.weekday()) + timedelta(weeks=period)
    if series.rule.freq == "YEARLY":
        return date(start.year + period, 1, 1)
    year, month = divmod(start.month - 1 + period, 12)
    return date(start.year + year, month + 1, 1)


def _cycle_end(series: Series) -> datetime:
    """The end of one calendar cycle of the rule's periods after its first (which the start
    may cut short): a rule with no date by then has none ever."""
    rule = series.rule
    periods = CYCLE[rule.freq] // gcd(CYCLE[rule.freq], rule.interval) + 1
    try:
        return datetime.combine(_period_start(series, periods * rule.interval), time.min)
    except (ValueError, OverflowError):  # past the year 9999, where rrule stops anyway
        return datetime.max


def _rrule(series: Series, period: int, until: datetime | None) -> rrule.rrule:
    """The series' rule as rrule, from the ``period``-th period (0: from its start). The
    parts a rule leaves out come from the series' start (RFC 5545 §3.3.10), named here, since
    rrule's DTSTART is a later day when ``period`` is not 0. ``until`` bounds a search for
    the first date, which COUNT (at least 1) never cuts short: it stands in for COUNT, as
    a rule has one or the other (§3.3.10)."""
    rule, start = series.rule, series.starts
    weekdays = [rrule.weekday(d, o) for d, o in rule.weekdays]
    monthday, month = rule.monthday, rule.month
    if rule.freq == "WEEKLY" and not weekdays:
        weekdays = [rrule.weekday(start.weekday())]
    if rule.freq != "WEEKLY" and not (weekdays or monthday):
        monthday = start.day
    if rule.freq == "YEARLY" and not (weekdays or month):
        month = start.month
    ends = [u for u in (until, series.until and datetime.combine(series.until, time.min)) if u]
    return rrule.rrule(
        FREQS[rule.freq],
        dtstart=datetime.combine(_period_start(series, period) if period else start, time.min),
        interval=rule.interval,
        byweekday=weekdays or None,
        bymonthday=monthday,
        bymonth=month,
        until=min(ends, default=None),
        count=None if until else series.count,
        cache=False,
    )


def series_dates(
    series: Series,
    before: date | None = None,
    limit: int | None = None,
    since: date | None = None,
) -> Iterator[date]:
    """The dates the rule gives (moves and cancellations not applied), in order: from the
    first on or after ``starts`` (or from about ``since``: some earlier dates may come too),
    stopping before ``before``, after ``limit`` dates, at ``until`` and after ``count``."""
    period = _first_period(series, since)
    days = (moment.date() for moment in _rrule(series, period, None))
    if before is not None:
        days = takewhile(lambda day: day < before, days)
    return islice(days, limit)


@lru_cache(maxsize=4096)
def first_date(series: Series) -> date | None:
    """The series' first meeting (DTSTART, RFC 5545 §3.8.5.3: the first instance), or None
    when the rule gives no date at all (30 February). Kept: the checker asks, then each
    calendar's renderer."""
    found = next(iter(_rrule(series, 0, _cycle_end(series))), None)
    return found.date() if found else None


@dataclass(frozen=True)
class Occurrence:
    """One meeting as it will happen: moves and cancellations applied, in the group's zone.

    ``key`` is the series' or one-off's key; ``date`` is the date the series gives it (the
    RECURRENCE-ID), ``start`` where it really is."""

    key: str
    date: date
    start: datetime
    end: datetime
    cancelled: bool = False
    moved: bool = False
    note: str | None = None
    title: str | None = None
    description: str | None = None
    place: Place | None = None
    online: Online | None = None


def _at(day: date, span: TimeRange, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Start and end as calendar apps read them (RFC 5545 §3.3.5): a time that does not
    exist (01:30 as the clocks go forward) means the same instant an hour later on the
    clock, so pages say 2:30am as the apps show it."""
    return (
        datetime.combine(day, span.start, tzinfo=tz).astimezone(UTC).astimezone(tz),
        datetime.combine(day, span.end, tzinfo=tz).astimezone(UTC).astimezone(tz),
    )


def occurrences(
    meetings: Meetings, start: datetime, end: datetime, limit: int | None = None
) -> list[Occurrence]:
    """Every meeting that has not ended by ``start`` and starts before ``end``, in order of
    start; cancelled ones included (marked), moved ones where they moved to."""
    if not meetings.scheduled or meetings.time_zone is None:
        return []
    tz = zone(meetings.time_zone)
    out: list[Occurrence] = []
    for series in meetings.series:
        cancelled = {c.date: c for c in series.cancelled}
        moved = {m.date: m for m in series.moved}
        # A moved meeting can come from a date outside the window: widen it by the moves.
        shift = max((abs(m.date - m.to) for m in series.moved), default=timedelta(0))
        first = start.astimezone(tz).date() - shift - timedelta(days=1)
        last = end.astimezone(tz).date() + shift + timedelta(days=1)
        found = 0
        for day in series_dates(series, before=last, since=first):
            if day < first:
                continue
            if limit is not None and found >= limit + len(series.moved):
                break  # moves reorder at most that many: the first ``limit`` are in
            found += 1
            move = moved.get(day)
            span = move.time if move and move.time else series.time
            begin, finish = _at(move.to if move else day, span, tz)
            skip = cancelled.get(day)
            out.append(
                Occurrence(
                    key=series.key,
                    date=day,
                    start=begin,
                    end=finish,
                    cancelled=skip is not None,
                    moved=move is not None,
                    note=(skip.note if skip else move.note if move else None),
                    title=series.title,
                    description=series.description,
                )
            )
    for one in meetings.one_off:
        begin, finish = _at(one.date, one.time, tz)
        out.append(
            Occurrence(
                key=one.key,
                date=one.date,
                start=begin,
                end=finish,
                title=one.title,
                description=one.description,
                place=one.place,
                online=one.online,
            )
        )
    out = sorted(
        (o for o in out if o.end > start and o.start < end), key=lambda o: (o.start, o.key)
    )
    return out[:limit] if limit is not None else out


@dataclass(frozen=True)
class Finding:
    """One problem with a schedule: where (path inside ``meetings``), what, how to fix."""

    path: tuple[str | int, ...]
    message: str
    hint: str
    warning: bool = False


def check(meetings: Meetings) -> list[Finding]:
    """What the schema cannot see: rules with no meeting at all, end before start, cancelled
    or moved dates that are not meetings of their series, and meetings that overlap."""
    found: list[Finding] = []
    if meetings.scheduled and meetings.time_zone is None:
        found.append(
            Finding(
                ("time_zone",),
                "Meetings with dates need a time zone.",
                "Add 'time_zone: Europe/London' (or the zone where the group meets).",
            )
        )
        return found
    spans: list[tuple[datetime, datetime, tuple[str | int, ...], str]] = []
    horizon = max(
        [s.starts for s in meetings.series] + [o.date for o in meetings.one_off],
        default=date.min,
    ) + timedelta(days=365 * CHECK_YEARS)
    for i, series in enumerate(meetings.series):
        path = ("series", i)
        if series.until is not None and series.count is not None:
            found.append(
                Finding(
                    (*path, "count"),
                    "A series can end on a date (until) or after a number of meetings (count), "
                    "not both.",
                    "Keep one of the two lines (RFC 5545 forbids both in one rule).",
                )
            )
            continue
        if series.until is not None and series.until < series.starts:
            found.append(
                Finding(
                    (*path, "until"),
                    f"The series ends ({series.until}) before it starts ({series.starts}).",
                    "Correct one of the two dates.",
                )
            )
            continue
        if first_date(series) is None:
            found.append(
                Finding(
                    (*path, "on"),
                    f"This rule ({describe_rule(series.rule)}) gives no meeting at all.",
                    "Check the day, the month and the end: as written, the date never comes.",
                )
            )
            continue
        why = skips(series.rule)
        if why:
            found.append(Finding((*path, "on"), why, "This is allowed.", warning=True))
        found += _check_exceptions(series, path)
        tz_dates = list(series_dates(series, before=horizon, limit=CHECK_MAX))
        moved = {m.date: m for m in series.moved}
        for day in tz_dates:
            move = moved.get(day)
            if any(c.date == day for c in series.cancelled):
                continue
            span = move.time if move and move.time else series.time
            spans.append((*_naive(move.to if move else day, span), path, f"the meeting of {day}"))
    for i, one in enumerate(meetings.one_off):
        spans.append((*_naive(one.date, one.time), ("one_off", i), f"the meeting of {one.date}"))
    spans.sort(key=lambda s: (s[0], s[1]))
    reported: set[tuple[str | int, ...]] = set()
    latest: tuple[datetime, datetime, tuple[str | int, ...], str] | None = None
    for span in spans:  # each meeting against the one that ends last among those before it
        if latest is not None and span[0] < latest[1] and span[2] not in reported:
            reported.add(span[2])
            found.append(
                Finding(
                    span[2],
                    f"{span[3].capitalize()} overlaps {latest[3]} ({latest[0]:%Y-%m-%d %H:%M}).",
                    "A group's meetings must not overlap: remove the duplicate or change a time.",
                )
            )
        if latest is None or span[1] > latest[1]:
            latest = span
    return found


def _naive(day: date, span: TimeRange) -> tuple[datetime, datetime]:
    return datetime.combine(day, span.start), datetime.combine(day, span.end)


def _check_exceptions(series: Series, path: tuple[str | int, ...]) -> list[Finding]:
    """Each cancelled or moved date must be a date of the series, named only once, and a
    move must stay within a year (beyond that it is another meeting)."""
    found = []
    named: set[date] = set()
    items = [("cancelled", j, c.date) for j, c in enumerate(series.cancelled)] + [
        ("moved", j, m.date) for j, m in enumerate(series.moved)
    ]
    for kind, j, day in items:
        where = (*path, kind, j, "date")
        if day in named:
            found.append(
                Finding(where, f"{day} is already cancelled or moved above.", "Keep one of them.")
            )
            continue
        named.add(day)
        if kind == "moved" and abs(series.moved[j].to - day) > MAX_MOVE:
            found.append(
                Finding(
                    (*path, kind, j, "to"),
                    f"This meeting is moved by more than a year ({day} to {series.moved[j].to}).",
                    "Cancel it here and add the new meeting under one_off instead.",
                )
            )
        if not _is_date_of(series, day):
            nearest = _nearest(series, day)
            found.append(
                Finding(
                    where,
                    f"{day} is not a date of this series ({describe_rule(series.rule)}).",
                    f"Its nearest meeting is on {nearest}." if nearest else "Check the date.",
                )
            )
    return found


def _is_date_of(series: Series, day: date) -> bool:
    return day in series_dates(series, before=day + timedelta(days=1))


def _nearest(series: Series, day: date) -> date | None:
    dates = list(series_dates(series, before=day + timedelta(days=400), limit=CHECK_MAX))
    return min(dates, key=lambda d: abs(d - day), default=None)
