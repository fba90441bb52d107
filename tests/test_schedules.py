"""The checker on meeting schedules: every mistake named with file, line, group and field,
and how to fix it; schedules it cannot read never crash it; a bad schedule is never
published, and the last good calendars stay served."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from publisher import calendars
from publisher.cli import main
from publisher.directory.validate import check_directory, load_directory
from publisher.model.errors import DirectoryError
from tests.conftest import DATA

EXAMPLES = DATA.parent / "examples" / "meetings"

GROUP = "category: community-groups\ngroups:\n  - slug: a-group\n    name: A group\n"
LONDON = GROUP + "    meetings:\n      time_zone: Europe/London\n"
MONTHLY = (
    LONDON + "      series:\n"
    "        - starts: 2027-01-13\n"  # line 8
    "          every: month\n"  # line 9
    "          on: second Wednesday\n"  # line 10
    "          time: 18:00-20:00\n"  # line 11
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def check(folder: Path, text: str) -> tuple[object, list]:
    """The directory and its problems, each naming its file as within ``folder``."""
    write(folder, "extra.yaml", text)
    directory, problems = check_directory(folder)
    return directory, [replace(p, file=str(Path(p.file).relative_to(folder))) for p in problems]


def where(line: int, field: str) -> str:
    return f"extra.yaml:{line}, group 'a-group', field 'meetings.{field}': "


# Each case: the file's text, then the start of the message (file, line, group, field and
# the problem) and a piece of the hint saying how to fix it.
ERRORS = {
    "unknown time zone": (
        GROUP + "    meetings:\n      time_zone: Europe/Londn\n",
        where(6, "time_zone") + "error: There is no time zone called 'Europe/Londn'.",
        "Did you mean Europe/London?",
    ),
    "zone calendars cannot describe": (
        GROUP + "    meetings:\n      time_zone: Africa/Casablanca\n",
        where(6, "time_zone") + "error: Calendars cannot describe the time zone "
        "'Africa/Casablanca'",
        "Use a neighbouring zone with the same clocks",
    ),
    "end before start": (
        LONDON + "      one_off:\n        - date: 2027-01-13\n          time: 20:00-18:00\n",
        where(9, "one_off[0].time") + "error: The meeting ends (18:00) before it starts (20:00).",
        "Swap the two times",
    ),
    "malformed time": (
        LONDON + "      one_off:\n        - date: 2027-01-13\n          time: 6pm till late\n",
        where(9, "one_off[0].time") + "error: '6pm till late' is not a time range.",
        "24-hour clock, e.g. 18:00-20:00",
    ),
    "time that does not exist": (
        LONDON + "      one_off:\n        - date: 2027-01-13\n          time: 18:00-24:30\n",
        where(9, "one_off[0].time") + "error: '18:00-24:30' has a time that does not exist.",
        "24-hour clock",
    ),
    "bad date": (
        LONDON + "      one_off:\n        - date: 2027-02-30\n          time: 18:00-20:00\n",
        where(8, "one_off[0].date") + "error: '2027-02-30' is not a date.",
        "year-month-day, e.g. 2027-01-13",
    ),
    "unknown every": (
        MONTHLY.replace("every: month", "every: blue moon"),
        where(9, "series[0].every") + "error: 'blue moon' is not a repeat",
        "Write e.g. 'week', '2 weeks'",
    ),
    "unknown on": (
        MONTHLY.replace("second Wednesday", "second Wedensday"),
        where(10, "series[0].on") + "error: 'second Wedensday' is not a day of the month.",
        "Write e.g. 'second Wednesday'",
    ),
    "weekday for a weekly rule": (
        MONTHLY.replace("every: month", "every: week").replace("second Wednesday", "Wedday"),
        where(10, "series[0].on") + "error: 'Wedday' is not a day of the week.",
        "Write e.g. 'Wednesday'",
    ),
    "until before starts": (
        MONTHLY + "          until: 2026-12-01\n",
        where(12, "series[0].until")
        + "error: The series ends (2026-12-01) before it starts (2027-01-13).",
        "Correct one of the two dates.",
    ),
    "30 February": (
        MONTHLY.replace("every: month", "every: year").replace("second Wednesday", "30 February"),
        where(10, "series[0].on") + "error: This rule (every year on 30 February) gives no "
        "meeting at all.",
        "as written, the date never comes",
    ),
    "day 31 every 12 months from February": (
        MONTHLY.replace("2027-01-13", "2027-02-01")
        .replace("every: month", "every: 12 months")
        .replace("second Wednesday", "day 31"),
        where(10, "series[0].on") + "error: This rule (every 12 months on day 31) gives no "
        "meeting at all.",
        "as written, the date never comes",
    ),
    "cancelled date that is not a meeting": (
        MONTHLY + "          cancelled:\n            - date: 2027-02-11\n",
        where(13, "series[0].cancelled[0].date") + "error: 2027-02-11 is not a date of this "
        "series (every month on the second Wednesday).",
        "Its nearest meeting is on 2027-02-10.",
    ),
    "moved date that is not a meeting": (
        MONTHLY
        + "          moved:\n            - date: 2027-03-09\n              to: 2027-03-16\n",
        where(13, "series[0].moved[0].date") + "error: 2027-03-09 is not a date of this series",
        "Its nearest meeting is on 2027-03-10.",
    ),
    "same date cancelled twice": (
        MONTHLY
        + "          cancelled:\n            - date: 2027-02-10\n            - date: 2027-02-10\n",
        where(14, "series[0].cancelled[1].date")
        + "error: 2027-02-10 is already cancelled or moved above.",
        "Keep one of them.",
    ),
    "cancelled and moved": (
        MONTHLY + "          cancelled:\n            - date: 2027-02-10\n"
        "          moved:\n            - date: 2027-02-10\n              to: 2027-02-17\n",
        where(15, "series[0].moved[0].date")
        + "error: 2027-02-10 is already cancelled or moved above.",
        "Keep one of them.",
    ),
    "two series giving the same meeting": (
        MONTHLY + MONTHLY.split("      series:\n")[1],
        where(12, "series[1]") + "error: The meeting of 2027-01-13 overlaps the meeting of "
        "2027-01-13",
        "remove the duplicate or change a time",
    ),
    "a one-off overlapping a series meeting": (
        MONTHLY + "      one_off:\n        - date: 2027-02-10\n          time: 19:00-21:00\n",
        where(13, "one_off[0]") + "error: The meeting of 2027-02-10 overlaps the meeting of "
        "2027-02-10 (2027-02-10 18:00).",
        "remove the duplicate or change a time",
    ),
    "dates but no time zone": (
        GROUP + "    meetings:\n      one_off:\n        - date: 2027-01-13\n"
        "          time: 18:00-20:00\n",
        "extra.yaml:6, group 'a-group', field 'meetings.time_zone': error: Meetings with "
        "dates need a time zone.",
        "Add 'time_zone: Europe/London'",
    ),
    "count a fraction": (
        MONTHLY + "          count: 2.5\n",
        where(12, "series[0].count") + "error: Expected a whole number, found the number 2.5.",
        "from 1 to 1000",
    ),
    "count in words": (
        MONTHLY + "          count: ten\n",
        where(12, "series[0].count") + "error: Expected a whole number, found 'ten'.",
        "from 1 to 1000",
    ),
    "count zero": (
        MONTHLY + "          count: 0\n",
        where(12, "series[0].count") + "error: Expected a whole number, found the number 0.",
        "from 1 to 1000",
    ),
    "inferred field that is not there": (
        GROUP + "    meetings:\n      frequency_as_published: monthly\n"
        "      inferred: [time_zone]\n",
        where(7, "inferred[0]") + "error: 'time_zone' is not a meeting field",
        "List only fields that are filled in",
    ),
    "inferred field that cannot be inferred": (
        LONDON + "      how_to_join: Just come along.\n      inferred: [how_to_join]\n",
        where(8, "inferred[0]") + "error: 'how_to_join' is not a meeting field",
        "List only fields that are filled in, from: time_zone.",
    ),
}


@pytest.fixture
def folder(data_dir: Path) -> Path:
    return data_dir


@pytest.mark.parametrize(("text", "message", "hint"), ERRORS.values(), ids=ERRORS.keys())
def test_a_schedule_error_names_file_line_group_field_and_the_fix(folder, text, message, hint):
    directory, problems = check(folder, text)
    assert directory is None
    found = [str(p) for p in problems if str(p).startswith(message)]
    assert found, [str(p) for p in problems]
    assert hint in found[0]
    # The group with the error is the only thing wrong.
    assert all(p.file == "extra.yaml" for p in problems), [str(p) for p in problems]


def test_count_and_until_together_are_refused(folder):
    """RFC 5545 §3.3.10: UNTIL and COUNT "MUST NOT occur in the same 'recur'"; dateutil
    deprecates it too. A series says one or the other, and the checker says which to keep."""
    directory, problems = check(
        folder, MONTHLY + "          until: 2027-12-31\n          count: 6\n"
    )
    assert directory is None, "a series with both 'until' and 'count' was accepted"
    [problem] = [p for p in problems if not p.warning]
    assert (problem.file, problem.group) == ("extra.yaml", "a-group")
    assert problem.field in ("meetings.series[0].until", "meetings.series[0].count")
    assert problem.line in (12, 13)
    assert problem.hint


def test_a_moved_meeting_landing_on_another_is_an_overlap(folder):
    """Weekly on Wednesdays, the 13 January meeting moved to the 20th: two meetings at once."""
    text = (
        LONDON + "      series:\n"
        "        - starts: 2027-01-06\n"
        "          every: week\n"
        "          on: Wednesday\n"
        "          time: 18:00-20:00\n"
        "          moved:\n"
        "            - date: 2027-01-13\n"
        "              to: 2027-01-20\n"
    )
    directory, problems = check(folder, text)
    assert directory is None
    [problem] = [p for p in problems if not p.warning]
    assert (problem.file, problem.group) == ("extra.yaml", "a-group")
    assert problem.field is not None and problem.field.startswith("meetings.series[0]")
    assert problem.line is not None and 8 <= problem.line <= 14
    assert "overlaps" in problem.message
    assert "2027-01-13" in problem.message and "2027-01-20" in problem.message
    assert "remove the duplicate or change a time" in problem.hint


def test_moving_a_meeting_onto_a_free_day_is_fine(folder):
    text = (
        MONTHLY + "          moved:\n            - date: 2027-03-10\n              to: 2027-03-17\n"
    )
    directory, problems = check(folder, text)
    assert directory is not None and problems == []


@pytest.mark.parametrize(
    ("on", "warning"),
    [
        ("fifth Monday", "Not every month has a fifth such weekday: those months have no meeting."),
        ("day 31", "Not every month has a day 31: those months have no meeting."),
    ],
)
def test_a_rule_skipping_some_months_is_valid_with_a_plain_warning(folder, capsys, on, warning):
    directory, problems = check(folder, MONTHLY.replace("second Wednesday", on))
    assert directory is not None
    [problem] = problems
    assert problem.warning
    assert str(problem).startswith(where(10, "series[0].on") + "warning: " + warning)
    # The command says it too, and still succeeds.
    assert main(["check", "--data", str(folder)]) == 0
    out = capsys.readouterr()
    assert warning in out.err + out.out


def test_every_schedule_problem_is_reported_at_once(folder, capsys):
    text = (
        "category: community-groups\ngroups:\n"
        "  - slug: one\n    name: One\n    meetings:\n      time_zone: Europe/Londn\n"
        "  - slug: two\n    name: Two\n    meetings:\n      time_zone: Europe/London\n"
        "      one_off:\n        - date: 2027-02-30\n          time: 20:00-18:00\n"
    )
    write(folder, "extra.yaml", text)
    assert main(["check", "--data", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "extra.yaml:6, group 'one', field 'meetings.time_zone'" in err
    assert "extra.yaml:12, group 'two', field 'meetings.one_off[0].date'" in err
    assert "extra.yaml:13, group 'two', field 'meetings.one_off[0].time'" in err
    assert "3 error(s)" in err


def test_the_example_directory_is_valid():
    directory, problems = check_directory(EXAMPLES)
    assert directory is not None
    assert [p for p in problems if not p.warning] == []


@pytest.mark.parametrize(
    "text",
    [
        MONTHLY.replace("2027-01-13", "9999-12-01"),
        MONTHLY + "          cancelled:\n            - date: 9999-12-31\n",
        MONTHLY + "          until: 9999-12-31\n",
        MONTHLY.replace("2027-01-13", "0001-01-01"),
        LONDON + "      one_off:\n        - date: 9999-12-31\n          time: 18:00-20:00\n",
        LONDON + "      one_off:\n        - date: 0001-01-01\n          time: 18:00-20:00\n",
    ],
    ids=[
        "starts-9999",
        "cancelled-9999",
        "until-9999",
        "starts-year-1",
        "one-off-9999",
        "one-off-year-1",
    ],
)
def test_dates_at_the_ends_of_the_calendar_never_crash_the_checker(folder, text):
    directory, problems = check(folder, text)
    if directory is None:
        assert problems and all(p.file == "extra.yaml" and p.line for p in problems)


@pytest.mark.parametrize("to", ["9999-12-31", "0001-01-01"])
def test_a_meeting_moved_to_the_end_of_the_calendar_is_refused_or_published(make_app, data_dir, to):
    """What the checker lets through must publish: either it refuses the move (an error
    with file and line) or the load succeeds. Never a crash of the load."""
    app = make_app(watch_interval=3600)
    publisher = app.extensions["publisher"]
    write(
        data_dir,
        "extra.yaml",
        MONTHLY + f"          moved:\n            - date: 2027-02-10\n              to: {to}\n",
    )
    try:
        publisher.reload()
    except DirectoryError as exc:
        assert any(p.file == f"{data_dir}/extra.yaml" and p.line for p in exc.problems)


def test_an_invalid_schedule_is_refused_and_the_last_good_calendars_stay(make_app, serve, data_dir):
    shutil.rmtree(data_dir)
    shutil.copytree(EXAMPLES, data_dir)
    server = serve(make_app(watch_interval=3600, admin_token="schedule-test-token"))
    paths = [
        "/calendars/all.ics",
        "/calendars/peer-support.ics",
        "/calendars/groups/riverside-peer-circle.ics",
    ]
    before = {path: server.get(path) for path in paths}
    assert all(r.status_code == 200 for r in before.values())

    path = data_dir / "peer-support.yaml"
    text = path.read_text(encoding="utf-8")
    assert "time: 18:00-20:00" in text
    path.write_text(text.replace("time: 18:00-20:00", "time: 20:00-18:00"), encoding="utf-8")
    with pytest.raises(DirectoryError) as refused:
        server.publisher.reload()
    message = str(refused.value)
    assert (
        "peer-support.yaml:23, group 'riverside-peer-circle', field 'meetings.series[0].time': "
        "error: The meeting ends (18:00) before it starts (20:00)." in message
    )

    for path_, old in before.items():
        now = server.get(path_)
        assert now.status_code == 200
        assert now.content == old.content
        assert now.headers["ETag"] == old.headers["ETag"]
    # POST /admin/reload refuses it the same way, naming the problem, and changes nothing.
    answer = server.post("/admin/reload", headers={"Authorization": "Bearer schedule-test-token"})
    assert answer.status_code == 422
    assert any("peer-support.yaml:23" in p for p in answer.json()["problems"])
    assert server.get(paths[0]).content == before[paths[0]].content


# Open-ended schedule values: whatever a volunteer writes, the checker loads the group or
# reports problems with file and line, and never crashes. Each value is mostly plausible, so
# that many schedules load, and sometimes anything at all: text, numbers, lists, nothing.
JUNK = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(st.one_of(st.text(max_size=10), st.integers()), max_size=3),
)


def mostly(good: st.SearchStrategy, odd: st.SearchStrategy = JUNK) -> st.SearchStrategy:
    """``good`` nine times in ten, ``odd`` (by default anything) the tenth."""
    return st.integers(0, 9).flatmap(lambda n: odd if n == 0 else good)


def _time(start: int, minutes: int, sep: str) -> str:
    end = start + minutes
    return f"{start // 60:02d}:{start % 60:02d}{sep}{end // 60:02d}:{end % 60:02d}"


DATES = mostly(
    st.dates(min_value=date(2025, 1, 1), max_value=date(2029, 12, 31)).map(date.isoformat),
    st.one_of(
        st.dates().map(date.isoformat),
        st.sampled_from(["2027-02-30", "2027-1-3", "13/01/2027", "20270113", "2027-W02-3"]),
    ),
)
TIMES = mostly(
    st.builds(
        _time,
        st.integers(0, 20 * 60).map(lambda m: m - m % 15),
        st.sampled_from([30, 60, 90, 120, 180]),
        st.sampled_from(["-", " to ", "–"]),
    ),
    st.one_of(
        st.sampled_from(["6pm", "18:00", "9.30 to 10.30", "18:00/20:00", "23:00-24:00"]),
        st.builds(_time, st.integers(0, 26 * 60), st.integers(-120, 120), st.just("-")),
        JUNK,
    ),
)
EVERY = mostly(
    st.one_of(
        st.sampled_from(["week", "month", "year", "fortnightly", "weekly", "annually"]),
        st.builds(
            lambda n, unit, prefix: f"{prefix}{n} {unit}",
            st.integers(1, 24),
            st.sampled_from(["weeks", "months", "years"]),
            st.sampled_from(["", "every "]),
        ),
    ),
    st.one_of(st.sampled_from(["0 weeks", "100 years", "3 days", "blue moon"]), JUNK),
)
WEEKDAY = st.sampled_from(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Sunday"])
ORDINAL = st.sampled_from(["first", "second", "third", "fourth", "fifth", "last", "sixth"])
ON = mostly(
    st.one_of(
        WEEKDAY,
        st.builds(lambda a, b: f"{a} and {b}", WEEKDAY, WEEKDAY),
        st.builds(lambda o, d: f"{o} {d}", ORDINAL, WEEKDAY),
        st.builds(lambda a, b, d: f"{a} and {b} {d}", ORDINAL, ORDINAL, WEEKDAY),
        st.integers(-1, 40).map(lambda n: f"day {n}"),
        st.builds(
            lambda n, m: f"{n} {m}",
            st.integers(0, 32),
            st.sampled_from(["January", "February", "April", "December", "Febuary"]),
        ),
    ),
    st.one_of(st.sampled_from(["and", ",", "first and", "the 3rd", "31st"]), JUNK),
)
ZONES = mostly(
    st.sampled_from(["Europe/London", "America/New_York", "UTC", "Australia/Lord_Howe"]),
    st.one_of(st.sampled_from(["Europe/Londn", "Africa/Casablanca", "../x"]), JUNK),
)


def _exceptions(
    required: dict[str, st.SearchStrategy], optional: dict[str, st.SearchStrategy]
) -> st.SearchStrategy:
    block = st.fixed_dictionaries({"date": DATES, **required}, optional=optional)
    return mostly(st.lists(mostly(block), max_size=3))


SERIES = st.fixed_dictionaries(
    {"starts": DATES, "every": EVERY, "time": TIMES},
    optional={
        "on": ON,
        "until": DATES,
        "count": mostly(st.integers(-1, 1001)),
        "title": mostly(st.text("abc :-’", min_size=1, max_size=20)),
        "cancelled": _exceptions({}, {"note": mostly(st.just("Closed."))}),
        "moved": _exceptions({"to": DATES}, {"time": TIMES}),
    },
)
ONE_OFF = st.fixed_dictionaries(
    {"date": DATES, "time": TIMES},
    optional={"title": mostly(st.just("A talk"))},
)
MEETINGS = st.fixed_dictionaries(
    {"time_zone": ZONES},
    optional={
        "series": mostly(st.lists(mostly(SERIES), max_size=3)),
        "one_off": mostly(st.lists(mostly(ONE_OFF), max_size=3)),
        "inferred": mostly(st.sampled_from([[], ["time_zone"]]), st.just(["place"])),
        "frequency_as_published": mostly(st.just("monthly")),
    },
)


def _check_generated(meetings: dict) -> tuple[object, list]:
    document = {
        "category": "community-groups",
        "groups": [{"slug": "a-group", "name": "A group", "meetings": meetings}],
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        shutil.copytree(DATA, folder)
        return check(folder, yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(meetings=MEETINGS)
@example(
    meetings={
        "time_zone": "Europe/London",
        "one_off": [{"date": "9999-12-31", "time": "18:00-20:00"}],
    }
)
def test_generated_schedules_never_crash_the_checker(meetings):
    directory, problems = _check_generated(meetings)
    if directory is None:
        errors = [p for p in problems if not p.warning]
        assert errors
        assert all(p.file == "extra.yaml" and p.line and p.message for p in problems), [
            str(p) for p in problems
        ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(meetings=MEETINGS, now=st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC)))
@example(
    meetings={
        "time_zone": "Europe/London",
        "series": [
            {
                "starts": "2027-01-13",
                "every": "month",
                "time": "18:00-20:00",
                "moved": [{"date": "2027-02-13", "to": "9999-12-31"}],
            }
        ],
    },
    now=datetime(2027, 1, 1, tzinfo=UTC),
)
def test_generated_schedules_that_pass_the_checker_can_be_published(meetings, now):
    """What the checker accepts, the publisher can expand into meetings."""
    directory, _ = _check_generated(meetings)
    if directory is not None:
        calendars.upcoming(directory, now)


def test_load_directory_raises_with_every_schedule_problem(folder):
    write(folder, "extra.yaml", MONTHLY.replace("18:00-20:00", "20:00-18:00"))
    with pytest.raises(DirectoryError) as refused:
        load_directory(folder)
    assert [str(p) for p in refused.value.problems] == [
        f"{folder}/{where(11, 'series[0].time')}error: The meeting ends (18:00) before it "
        "starts (20:00). Swap the two times, or correct the one that is wrong."
    ]
