"""Our expansion of schedules against dateutil's rrule run plainly from each series' start.

schedule.series_dates hands rrule a series from the latest period in its INTERVAL phase
before the days asked for, and first_date stops looking after one cycle of the calendar:
any rule a volunteer can write must give exactly the dates rrule gives from its start, from
the first meeting or from any later day, and a rule has no first date only when it has none.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from dateutil import rrule as du
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.directory.schedule import first_date, series_dates
from publisher.model.directory import Rule, Series, TimeRange

WEEKLY = st.builds(
    lambda interval, days: Rule("WEEKLY", interval, tuple((d, None) for d in sorted(days))),
    st.integers(1, 8),
    st.sets(st.integers(0, 6), min_size=1, max_size=3),
)
MONTHLY = st.one_of(
    st.builds(
        lambda interval, days: Rule("MONTHLY", interval, tuple(sorted(days))),
        st.integers(1, 13),
        st.sets(
            st.tuples(st.integers(0, 6), st.sampled_from([1, 2, 3, 4, 5, -1])),
            min_size=1,
            max_size=2,
        ),
    ),
    st.builds(
        lambda interval, day: Rule("MONTHLY", interval, monthday=day),
        st.integers(1, 13),
        st.integers(1, 31),
    ),
)
YEARLY = st.builds(
    lambda interval, month, day: Rule("YEARLY", interval, monthday=day, month=month),
    st.integers(1, 5),
    st.integers(1, 12),
    st.integers(1, 31),
)
STARTS = st.dates(date(2015, 1, 1), date(2035, 12, 31))


@st.composite
def series(draw: st.DrawFn) -> Series:
    rule = draw(st.one_of(WEEKLY, MONTHLY, YEARLY))
    starts = draw(STARTS)
    until = draw(st.none() | st.integers(-5, 4000).map(lambda n: starts + timedelta(days=n)))
    count = draw(st.none() | st.integers(1, 40)) if until is None else None  # never both
    return Series("k", starts, rule, TimeRange(time(18), time(20)), until=until, count=count)


def reference(s: Series, before: date) -> list[date]:
    """dateutil's dates for the same rule parts, from the series' start."""
    rule = s.rule
    freq = {"WEEKLY": du.WEEKLY, "MONTHLY": du.MONTHLY, "YEARLY": du.YEARLY}[rule.freq]
    found = du.rrule(
        freq,
        interval=rule.interval,
        dtstart=datetime.combine(s.starts, s.time.start),
        byweekday=[du.weekday(d, o) for d, o in rule.weekdays] or None,
        bymonthday=rule.monthday,
        bymonth=rule.month,
        until=datetime.combine(s.until, time.max) if s.until else None,
        count=s.count,
    ).between(datetime.combine(s.starts, time.min), datetime.combine(before, time.min), inc=True)
    return [d.date() for d in found]


@settings(max_examples=400, deadline=None)
@given(series(), st.integers(-60, 3000))
def test_expansion_gives_the_dates_dateutil_gives(s, offset):
    since = s.starts + timedelta(days=offset)
    before = since + timedelta(days=800)
    expected = [d for d in reference(s, before) if d >= since]
    assert [d for d in series_dates(s, before=before, since=since) if d >= since] == expected
    everything = reference(s, s.starts + timedelta(days=3000))
    if everything:
        assert first_date(s) == everything[0]
        head = everything[:20]
        assert list(series_dates(s, limit=len(head))) == head


def test_a_rule_that_never_happens_has_no_first_date():
    """30 February: the checker refuses it with 'gives no meeting at all'."""
    never = Series(
        "k",
        date(2027, 1, 1),
        Rule("YEARLY", 1, monthday=30, month=2),
        TimeRange(time(18), time(20)),
    )
    assert first_date(never) is None
    assert list(series_dates(never, before=date(2100, 1, 1))) == []


@pytest.mark.parametrize(
    ("rule", "starts", "first"),
    [
        (Rule("YEARLY", 1, monthday=30, month=2), date(2027, 1, 1), None),
        (Rule("MONTHLY", 12, monthday=31), date(2027, 2, 1), None),  # always February
        (Rule("YEARLY", 4, monthday=29, month=2), date(2027, 1, 1), None),  # never a leap year
        (Rule("MONTHLY", 48, ((0, 5),)), date(2027, 2, 1), None),  # no fifth Monday in 28 days
        (Rule("MONTHLY", 12, ((0, 5),)), date(2027, 2, 1), date(2044, 2, 29)),
        (Rule("YEARLY", 1, monthday=29, month=2), date(2097, 3, 1), date(2104, 2, 29)),
        (Rule("YEARLY", 99, monthday=29, month=2), date(2027, 1, 1), date(2324, 2, 29)),
        (Rule("MONTHLY", 99, monthday=31), date(2027, 2, 1), date(2035, 5, 31)),
        # Starts on a Sunday, after its week's Tuesday: the first is three weeks on.
        (Rule("WEEKLY", 3, ((1, None),)), date(2027, 1, 3), date(2027, 1, 19)),
    ],
)
def test_a_first_date_far_off_is_found_and_a_rule_without_one_has_none(rule, starts, first):
    """first_date stops after one cycle of the Gregorian calendar (400 years, 4,800 months)
    past the first period: rare dates within it are found, and rules with none end there
    (rrule alone searches to the year 9999). Each expected date is rrule's from the start."""
    found = first_date(Series("k", starts, rule, TimeRange(time(18), time(20))))
    assert found == first
