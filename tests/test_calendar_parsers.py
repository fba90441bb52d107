"""The calendars of examples/meetings, read by the parsers calendar apps run.

A real server (werkzeug, 127.0.0.1, port 0) serves the fictional directory in
examples/meetings at a fixed time, 2026-11-25 12:00 UTC. Every calendar it serves is read by:

- icalendar (Python), and expanded by recurring-ical-events, which takes each TZID's rules
  from the tz database (zoneinfo);
- Mozilla's ical.js 2.2.1, Thunderbird's parser, through tests/js/expand.mjs, which registers
  the calendar's own VTIMEZONEs with ICAL.TimezoneService as Thunderbird does, so its times
  come from the rules the file publishes.

Both expansions over the next 24 months must equal, occurrence for occurrence, what the
schedule in examples/meetings says, worked out here by hand from the YAML with plain date
arithmetic (not with publisher's own schedule code). Agreement of the two expanders also
shows that the published VTIMEZONEs agree with the tz database. Content lines, calendar
properties (RFC 5545, RFC 7986) and time zones are checked on the bytes.

ical.js needs node and `npm ci --prefix tests/js`, which `make test` runs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.serving import make_server

from publisher.app import close_app, create_app
from publisher.render import ical
from tests.conftest import ROOT, Clock, Server, _QuietHandler

EXAMPLES = ROOT / "examples" / "meetings"
JS = ROOT / "tests" / "js"
ICAL_JS_VERSION = "2.2.1"
NODE_TIMEOUT = 30  # seconds; an expansion takes well under one

BASE_URL = "http://127.0.0.1:8000"  # PUBLISHER_BASE_URL's default
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WINDOW = (NOW, datetime(2028, 11, 25, 12, 0, tzinfo=UTC))  # the next 24 months
PRODID = "-//Mad Studies groups directory//publisher//EN"
REFRESH = "PT6H"  # PUBLISHER_CALENDAR_REFRESH's default, 21600 s
SITE = "Example meeting groups (fictional)"

LONDON, NEW_YORK = "Europe/London", "America/New_York"
MON, TUE, WED, THU, FRI = range(5)

# --- What examples/meetings says, worked out by hand ----------------------------------------


@dataclass(frozen=True)
class Group:
    slug: str
    name: str
    zone: str
    category: str


PEER, READERS = "peer-support", "reading-groups"
RIVERSIDE = Group("riverside-peer-circle", "Riverside Peer Circle (example)", LONDON, PEER)
DROP_IN = Group("tuesday-drop-in", "Tuesday Drop-in (example)", LONDON, "peer-support")
TRANSATLANTIC = Group(
    "transatlantic-online-circle", "Transatlantic Online Circle (example)", NEW_YORK, "peer-support"
)
READING = Group(
    "example-reading-group",
    "Example Mad Studies Reading Group (fictional)",
    LONDON,
    "reading-groups",
)
GROUPS = (RIVERSIDE, DROP_IN, TRANSATLANTIC, READING)
ENDED_TITLE = "Reading group (afternoons, ended)"
CATEGORIES = {PEER: "Peer support (example)", READERS: "Reading groups (example)"}


@dataclass(frozen=True)
class Meeting:
    """One occurrence as a calendar app must show it."""

    group: Group
    key: str  # the event's key: the start of its UID, "series-<first date>" or "meeting-<date>"
    recurrence: datetime | None  # RECURRENCE-ID, local; None for a one-off
    start: datetime  # local, in group.zone
    end: datetime
    summary: str
    status: str = "CONFIRMED"

    def row(self, single: bool = False) -> tuple:
        """What both expanders report, in the form compare() gives them."""
        return (
            self.key,
            None if single or self.recurrence is None else _utc(self.recurrence),
            _utc(self.start),
            _utc(self.end),
            f"{self.start:%Y-%m-%dT%H:%M:%S}",
            self.group.zone,
            self.summary,
            self.status,
        )


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1..4, or -1: the last) ``weekday`` (0 = Monday) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def months(year: int, month: int, every: int = 1) -> Iterator[tuple[int, int]]:
    while year < 2030:
        yield year, month
        year, month = year + (month + every - 1) // 12, (month + every - 1) % 12 + 1


def at(group: Group, day: date, start: str, end: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(group.zone)
    return (
        datetime.combine(day, time.fromisoformat(start), tzinfo=tz),
        datetime.combine(day, time.fromisoformat(end), tzinfo=tz),
    )


def scheduled() -> list[Meeting]:
    """Every meeting examples/meetings gives from its first until 2030."""
    out = []

    def series(group: Group, key: str, days: Iterable[date], span: tuple[str, str], title: str):
        summary = f"{group.name}: {title}" if title else group.name
        for day in days:
            start, end = at(group, day, *span)
            out.append(Meeting(group, key, start, start, end, summary))

    # Riverside: every 2 months on the second Wednesday, 18:00-20:00, from 2026-09-09.
    riverside = [nth_weekday(y, m, WED, 2) for y, m in months(2026, 9, every=2)]
    series(RIVERSIDE, "series-2026-09-09", riverside, ("18:00", "20:00"), "")
    # Tuesday Drop-in: every Tuesday, 10:30-12:00, from 2026-09-01.
    tuesdays = (date(2026, 9, 1) + timedelta(weeks=n) for n in range(52 * 4))
    series(DROP_IN, "series-2026-09-01", tuesdays, ("10:30", "12:00"), "Drop-in")
    # Transatlantic: every month on the first Thursday, 12:00-13:00 New York time.
    thursdays = (nth_weekday(y, m, THU, 1) for y, m in months(2026, 11))
    series(TRANSATLANTIC, "series-2026-11-05", thursdays, ("12:00", "13:00"), "")
    # Reading group: the last Friday, 14:00-15:30, 2026-01-30 until 2026-06-30; then the
    # first Monday, 18:30-20:00, from 2026-09-07; and two one-off meetings.
    fridays = (nth_weekday(2026, m, FRI, -1) for m in range(1, 7))
    series(READING, "series-2026-01-30", fridays, ("14:00", "15:30"), ENDED_TITLE)
    mondays = (nth_weekday(y, m, MON, 1) for y, m in months(2026, 9))
    series(READING, "series-2026-09-07", mondays, ("18:30", "20:00"), "Reading group")
    for day, span, title in (
        (date(2027, 2, 20), ("10:00", "16:00"), "Study day: writing our own histories"),
        (date(2027, 6, 24), ("19:00", "20:00"), "Online session: reading together"),
    ):
        start, end = at(READING, day, *span)
        summary = f"{READING.name}: {title}"
        out.append(Meeting(READING, f"meeting-{day}", None, start, end, summary))

    # The exceptions: 2027-03-10 moved to 2027-03-17, 2027-05-12 cancelled.
    moved_from = at(RIVERSIDE, date(2027, 3, 10), "18:00", "20:00")[0]
    moved_to = at(RIVERSIDE, date(2027, 3, 17), "18:00", "20:00")
    cancelled = at(RIVERSIDE, date(2027, 5, 12), "18:00", "20:00")[0]
    for i, m in enumerate(out):
        if m.group == RIVERSIDE and m.recurrence == moved_from:
            out[i] = replace(m, start=moved_to[0], end=moved_to[1])
        elif m.group == RIVERSIDE and m.recurrence == cancelled:
            out[i] = replace(m, summary=f"Cancelled: {m.summary}", status="CANCELLED")
    return out


MEETINGS = scheduled()


def meetings_of(groups: tuple[Group, ...], start: datetime, end: datetime) -> list[Meeting]:
    """The meetings of ``groups`` that overlap [start, end)."""
    return [m for m in MEETINGS if m.group in groups and m.start < end and m.end > start]


# --- The calendars served -------------------------------------------------------------------


@dataclass(frozen=True)
class Cal:
    path: str
    name: str
    description: str
    page: str
    zone: str  # X-WR-TIMEZONE: the group's zone, else the directory's
    groups: tuple[Group, ...]
    day: date | None = None  # a single meeting's file: the day it is on


def single(group: Group, day: date) -> Cal:
    return Cal(
        f"/calendars/groups/{group.slug}/{day}.ics",
        f"{group.name}, {day.day} {day:%B %Y}",
        group.name,
        f"/groups/{group.slug}/",
        group.zone,
        (group,),
        day,
    )


ALL = Cal(
    "/calendars/all.ics",
    f"{SITE}: meetings",
    # As HEAD renders it. The refactor of calendars.documents in progress writes "Meetings of
    # every group that publish their dates.": ungrammatical, and it no longer names the site.
    f"Meetings of every group in {SITE} that publishes its dates.",
    "/",
    LONDON,
    GROUPS,
)
CATEGORY_CALS = [
    Cal(
        f"/calendars/{slug}.ics",
        f"{name}: meetings",
        f"Meetings of the groups in {name} ({SITE}) that publish their dates.",
        f"/categories/{slug}/",
        LONDON,
        tuple(g for g in GROUPS if g.category == slug),
    )
    for slug, name in CATEGORIES.items()
]
GROUP_CALS = [
    Cal(
        f"/calendars/groups/{g.slug}.ics",
        f"{g.name}: meetings",
        f"Meetings of {g.name}, from {SITE}.",
        f"/groups/{g.slug}/",
        g.zone,
        (g,),
    )
    for g in GROUPS
]
SINGLE_CALS = [
    single(DROP_IN, date(2026, 12, 1)),  # the first meeting of the window
    single(DROP_IN, date(2027, 3, 30)),  # the first Tuesday of British summer time
    single(RIVERSIDE, date(2027, 3, 17)),  # moved there from 2027-03-10
    single(RIVERSIDE, date(2027, 5, 12)),  # cancelled
    single(TRANSATLANTIC, date(2027, 11, 4)),  # between the British and American changes
    single(READING, date(2027, 2, 20)),  # a one-off meeting
]
CALENDARS = [ALL, *CATEGORY_CALS, *GROUP_CALS, *SINGLE_CALS]
BY_PATH = {c.path: c for c in CALENDARS}
PATHS = list(BY_PATH)


def expected_rows(cal: Cal) -> list[tuple]:
    """What an expansion of ``cal`` over WINDOW must give."""
    found = meetings_of(cal.groups, *WINDOW)
    if cal.day is not None:
        found = [m for m in found if m.start.date() == cal.day]
        assert len(found) == 1
    return sorted(m.row(single=cal.day is not None) for m in found)


# --- Fixtures: one server for the module, each calendar fetched and expanded once ------------


@pytest.fixture(scope="module")
def meetings_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """examples/meetings, published at NOW and served over HTTP, for the whole module."""
    tmp = tmp_path_factory.mktemp("meetings")
    shutil.copytree(EXAMPLES, tmp / "data")
    settings = {
        "data": str(tmp / "data"),
        "database": str(tmp / "instance" / "publisher.sqlite3"),
        "watch": False,
        "access_log": False,
    }
    app = create_app(settings, clock=Clock(NOW))
    assert app.extensions["publisher.ready"].wait(timeout=60)
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{httpd.server_port}", app)
    httpd.shutdown()
    thread.join(timeout=10)
    close_app(app)


@pytest.fixture(scope="module")
def fetched(meetings_server: Server) -> dict[str, bytes]:
    """Path -> body of every calendar in CALENDARS, fetched once."""
    bodies = {}
    for path in PATHS:
        response = meetings_server.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8", path
        bodies[path] = response.content
    return bodies


def _check_ical_js() -> Path:
    node = shutil.which("node")
    package = JS / "node_modules" / "ical.js" / "package.json"
    if node is None or not package.is_file():
        pytest.fail(
            "These tests run Mozilla ical.js under node, and "
            + ("node is not on PATH" if node is None else f"{package} is missing")
            + ": run `make test` (it runs `npm ci --prefix tests/js`), or install node 20 "
            "and run `npm ci --prefix tests/js`.",
            pytrace=False,
        )
    version = json.loads(package.read_text(encoding="utf-8"))["version"]
    if version != ICAL_JS_VERSION:
        pytest.fail(
            f"tests/js has ical.js {version}, not the pinned {ICAL_JS_VERSION}: run "
            "`npm ci --prefix tests/js`.",
            pytrace=False,
        )
    return Path(node)


@pytest.fixture(scope="module")
def ical_js(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """expand(body, start, end, offsets_at=()) -> expand.mjs's JSON, memoised."""
    node = _check_ical_js()
    folder = tmp_path_factory.mktemp("ics")
    memo: dict[tuple, dict] = {}

    def expand(
        body: bytes, start: datetime = WINDOW[0], end: datetime = WINDOW[1], offsets_at=()
    ) -> dict:
        key = (body, start, end, tuple(offsets_at))
        if key not in memo:
            path = folder / f"{len(memo)}.ics"
            path.write_bytes(body)
            args = [str(node), str(JS / "expand.mjs"), str(path), _utc(start), _utc(end)]
            for moment in offsets_at:
                args += ["--offset-at", _utc(moment)]
            done = subprocess.run(
                args, capture_output=True, text=True, timeout=NODE_TIMEOUT, cwd=JS, check=False
            )
            assert done.returncode == 0, f"ical.js could not read the calendar:\n{done.stderr}"
            memo[key] = json.loads(done.stdout)
        return memo[key]

    return expand


def rie_expand(body: bytes, start: datetime = WINDOW[0], end: datetime = WINDOW[1]) -> list:
    """recurring-ical-events' occurrences, in expand.mjs's form. recurring-ical-events gives
    a one-off event a RECURRENCE-ID of its own start; ical.js, none: that is left out."""
    calendar = icalendar.Calendar.from_ical(body)
    recurring = {str(e["UID"]) for e in calendar.walk("VEVENT") if "RRULE" in e or "RDATE" in e}
    out = []
    for e in recurring_ical_events.of(calendar).between(start, end):
        begin, finish = e["DTSTART"].dt, e["DTEND"].dt
        recurrence = e.get("RECURRENCE-ID") if str(e["UID"]) in recurring else None
        out.append(
            {
                "uid": str(e["UID"]),
                "recurrenceId": None if recurrence is None else _utc(recurrence.dt),
                "start": _utc(begin),
                "end": _utc(finish),
                "localStart": f"{begin:%Y-%m-%dT%H:%M:%S}",
                "tzid": getattr(begin.tzinfo, "key", None),
                "summary": str(e["SUMMARY"]),
                "status": str(e["STATUS"]),
            }
        )
    return sorted(out, key=lambda o: (o["start"], o["uid"]))


def rows(occurrences: list[dict]) -> list[tuple]:
    """An expansion as Meeting.row gives it: the UID shortened to the event's key."""
    return sorted(
        (
            o["uid"].split(".", 1)[0],
            o["recurrenceId"],
            o["start"],
            o["end"],
            o["localStart"],
            o["tzid"],
            o["summary"],
            o["status"],
        )
        for o in occurrences
    )


def lines_of(body: bytes) -> list[str]:
    """Unfolded content lines (RFC 5545 §3.1)."""
    return body.decode("utf-8").replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]


def props(body: bytes, component: str = "VCALENDAR") -> list[tuple[str, str]]:
    """(name with parameters, value) of the content lines directly inside the first
    ``component``, in order."""
    out: list[tuple[str, str]] = []
    stack: list[str] = []
    level = None  # the depth of the component, once found
    for line in lines_of(body):
        name, value = line.split(":", 1)
        if name == "BEGIN":
            stack.append(value)
            if level is None and value == component:
                level = len(stack)
        elif name == "END":
            if len(stack) == level:
                return out
            stack.pop()
        elif len(stack) == level:
            out.append((name, value))
    return out


# --- Both parsers read every calendar --------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_icalendar_reads_the_calendar(fetched, path):
    cal = icalendar.Calendar.from_ical(fetched[path])
    assert cal.name == "VCALENDAR"
    errors = [(c.name, c.errors) for c in cal.walk() if c.errors]
    assert errors == []
    events = cal.walk("VEVENT")
    expected = BY_PATH[path]
    masters = {str(e["UID"]) for e in events if "RECURRENCE-ID" not in e}
    if expected.day is not None:
        assert len(events) == 1
    else:
        keys = {m.key for m in MEETINGS if m.group in expected.groups}  # ended series too
        assert sorted(uid.split(".", 1)[0] for uid in masters) == sorted(keys)


@pytest.mark.parametrize("path", PATHS)
def test_ical_js_reads_the_calendar(fetched, ical_js, path):
    result = ical_js(fetched[path])
    assert sorted(result["zones"]) == sorted({g.zone for g in BY_PATH[path].groups})
    assert len(result["occurrences"]) == len(expected_rows(BY_PATH[path]))


@pytest.mark.parametrize("path", PATHS)
def test_both_expanders_give_the_published_schedule(fetched, ical_js, path):
    """The next 24 months: the same occurrences from ical.js (with the file's VTIMEZONEs) and
    recurring-ical-events (with the tz database), and exactly those of examples/meetings."""
    by_ical_js = ical_js(fetched[path])["occurrences"]
    by_rie = rie_expand(fetched[path])
    assert by_ical_js == by_rie
    assert rows(by_ical_js) == expected_rows(BY_PATH[path])


# --- What the schedule says, at the moments that matter --------------------------------------


def _starts(occurrences: list[dict], summary: str) -> dict[str, tuple[str, str]]:
    """Local start date -> (UTC start, local wall time) of the occurrences of ``summary``."""
    return {
        o["localStart"][:10]: (o["start"], o["localStart"][11:])
        for o in occurrences
        if o["summary"] == summary
    }


@pytest.mark.parametrize("expander", ["ical.js", "recurring-ical-events"])
def test_tuesday_drop_in_stays_at_half_past_ten_in_london(fetched, ical_js, expander):
    body = fetched["/calendars/groups/tuesday-drop-in.ics"]
    found = ical_js(body)["occurrences"] if expander == "ical.js" else rie_expand(body)
    starts = _starts(found, "Tuesday Drop-in (example): Drop-in")
    # Before and after 28 March 2027 (GMT -> BST) and 31 October 2027 (BST -> GMT).
    assert starts["2027-03-23"] == ("2027-03-23T10:30:00Z", "10:30:00")
    assert starts["2027-03-30"] == ("2027-03-30T09:30:00Z", "10:30:00")
    assert starts["2027-10-26"] == ("2027-10-26T09:30:00Z", "10:30:00")
    assert starts["2027-11-02"] == ("2027-11-02T10:30:00Z", "10:30:00")
    # And every Tuesday of the window, each at 10:30 London time, one a week.
    days = sorted(starts)
    assert days[0] == "2026-12-01" and days[-1] == "2028-11-21"
    assert len(days) == 104
    assert {d.weekday() for d in map(date.fromisoformat, days)} == {TUE}
    assert {wall for _, wall in starts.values()} == {"10:30:00"}
    assert {o["tzid"] for o in found} == {LONDON}


@pytest.mark.parametrize("expander", ["ical.js", "recurring-ical-events"])
def test_new_york_group_meets_at_noon_new_york_time(fetched, ical_js, expander):
    body = fetched["/calendars/all.ics"]
    found = ical_js(body)["occurrences"] if expander == "ical.js" else rie_expand(body)
    starts = _starts(found, "Transatlantic Online Circle (example)")
    assert starts["2026-12-03"] == ("2026-12-03T17:00:00Z", "12:00:00")  # EST, UTC-5
    assert starts["2027-03-04"] == ("2027-03-04T17:00:00Z", "12:00:00")
    assert starts["2027-04-01"] == ("2027-04-01T16:00:00Z", "12:00:00")  # EDT, UTC-4
    assert starts["2027-07-01"] == ("2027-07-01T16:00:00Z", "12:00:00")
    # 4 November 2027: Britain is back on GMT (31 October), New York not yet (7 November),
    # so the meeting is at 16:00 UTC, which is 16:00 in London, not 17:00.
    assert starts["2027-11-04"] == ("2027-11-04T16:00:00Z", "12:00:00")
    assert starts["2027-12-02"] == ("2027-12-02T17:00:00Z", "12:00:00")
    assert starts["2028-11-02"] == ("2028-11-02T16:00:00Z", "12:00:00")  # the same in 2028
    assert len(starts) == 24
    assert {wall for _, wall in starts.values()} == {"12:00:00"}


def _riverside(occurrences: list[dict]) -> list[dict]:
    return [o for o in occurrences if o["summary"].endswith("Riverside Peer Circle (example)")]


@pytest.mark.parametrize("expander", ["ical.js", "recurring-ical-events"])
def test_moved_meeting_is_shown_once_at_its_new_date(fetched, ical_js, expander):
    body = fetched["/calendars/all.ics"]
    found = _riverside(ical_js(body)["occurrences"] if expander == "ical.js" else rie_expand(body))
    moved = [o for o in found if o["localStart"].startswith("2027-03-17")]
    assert [(o["start"], o["end"], o["recurrenceId"], o["status"]) for o in moved] == [
        ("2027-03-17T18:00:00Z", "2027-03-17T20:00:00Z", "2027-03-10T18:00:00Z", "CONFIRMED")
    ]
    assert [o for o in found if o["localStart"].startswith("2027-03-10")] == []
    assert [o["recurrenceId"] for o in found].count("2027-03-10T18:00:00Z") == 1


def test_moved_meeting_has_a_file_at_its_new_date_only(meetings_server):
    folder = "/calendars/groups/riverside-peer-circle"
    assert meetings_server.get(f"{folder}/2027-03-10.ics").status_code == 404
    body = meetings_server.get(f"{folder}/2027-03-17.ics").content
    assert ("DTSTART;TZID=Europe/London", "20270317T180000") in props(body, "VEVENT")
    text = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]["DESCRIPTION"]
    assert "Moved from Wednesday 10 March 2027. The room is in use on the 10th." in text


@pytest.mark.parametrize("path", [ALL.path, single(RIVERSIDE, date(2027, 5, 12)).path])
@pytest.mark.parametrize("expander", ["ical.js", "recurring-ical-events"])
def test_cancelled_meeting_is_shown_as_cancelled(fetched, ical_js, path, expander):
    body = fetched[path]
    found = _riverside(ical_js(body)["occurrences"] if expander == "ical.js" else rie_expand(body))
    cancelled = [o for o in found if o["status"] == "CANCELLED"]
    assert [(o["start"], o["end"], o["localStart"], o["summary"]) for o in cancelled] == [
        (
            "2027-05-12T17:00:00Z",
            "2027-05-12T19:00:00Z",
            "2027-05-12T18:00:00",
            "Cancelled: Riverside Peer Circle (example)",
        )
    ]
    others = [o for o in found if o["status"] != "CANCELLED"]
    assert all(not o["summary"].startswith("Cancelled") for o in others)
    assert [o for o in found if o["localStart"].startswith("2027-05-12")] == cancelled


@pytest.mark.parametrize("expander", ["ical.js", "recurring-ical-events"])
def test_ended_series_has_no_meeting_after_its_end(fetched, ical_js, expander):
    """Expanded from 1 January 2026: the afternoon series' six meetings, then none."""
    body = fetched["/calendars/groups/example-reading-group.ics"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    if expander == "ical.js":
        found = ical_js(body, start, WINDOW[1])["occurrences"]
    else:
        found = rie_expand(body, start, WINDOW[1])
    ended = [(o["start"], o["localStart"]) for o in found if o["summary"].endswith(ENDED_TITLE)]
    assert ended == [
        ("2026-01-30T14:00:00Z", "2026-01-30T14:00:00"),
        ("2026-02-27T14:00:00Z", "2026-02-27T14:00:00"),
        ("2026-03-27T14:00:00Z", "2026-03-27T14:00:00"),
        ("2026-04-24T13:00:00Z", "2026-04-24T14:00:00"),  # BST from 29 March 2026
        ("2026-05-29T13:00:00Z", "2026-05-29T14:00:00"),
        ("2026-06-26T13:00:00Z", "2026-06-26T14:00:00"),
    ]
    assert rows(found) == sorted(m.row() for m in meetings_of((READING,), start, WINDOW[1]))


# --- The VTIMEZONE trap ----------------------------------------------------------------------

JANUARY, JULY = datetime(2027, 1, 15, 12, tzinfo=UTC), datetime(2027, 7, 15, 12, tzinfo=UTC)
RIGHT_OFFSETS = {
    LONDON: {_utc(JANUARY): 0, _utc(JULY): 3600},
    NEW_YORK: {_utc(JANUARY): -5 * 3600, _utc(JULY): -4 * 3600},
}


def test_ical_js_reads_our_vtimezones_right(fetched, ical_js):
    """ical.js takes each zone's rules from the file's VTIMEZONE (it has no zones of its own):
    ours give London UTC+0 in January and UTC+1 in July, New York UTC-5 and UTC-4."""
    result = ical_js(fetched["/calendars/all.ics"], offsets_at=(JANUARY, JULY))
    assert sorted(result["zones"]) == [NEW_YORK, LONDON]
    assert result["offsets"] == RIGHT_OFFSETS


def test_the_trap_is_there_to_be_avoided(ical_js):
    """The control, which shows the check above can fail: icalendar's own VTIMEZONEs
    (add_missing_timezones: one STANDARD with a long RDATE list "valid until 2038") are read
    by ical.js 2.2.1 as UTC+1 all year in London and UTC-5 all year in New York, so a
    meeting at 10:30 London time in January would show at 09:30."""
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//control//EN")
    cal.add("VERSION", "2.0")
    for n, zone in enumerate((LONDON, NEW_YORK)):
        event = icalendar.Event()
        event.add("UID", f"control-{n}@example.org")
        event.add("DTSTAMP", NOW)
        event.add("DTSTART", datetime(2027, 1, 5, 10, 30, tzinfo=ZoneInfo(zone)))
        event.add("DTEND", datetime(2027, 1, 5, 11, 30, tzinfo=ZoneInfo(zone)))
        event.add("SUMMARY", zone)
        cal.add_component(event)
    cal.add_missing_timezones()
    result = ical_js(cal.to_ical(), offsets_at=(JANUARY, JULY))
    assert result["offsets"] == {
        LONDON: {_utc(JANUARY): 3600, _utc(JULY): 3600},
        NEW_YORK: {_utc(JANUARY): -5 * 3600, _utc(JULY): -5 * 3600},
    }
    london = next(o for o in result["occurrences"] if o["summary"] == LONDON)
    assert london["start"] == "2027-01-05T09:30:00Z"  # an hour early


# --- The bytes: content lines, calendar properties, time zones -------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_content_lines_end_with_crlf_and_fold_at_75_octets(fetched, path):
    check_content_lines(fetched[path])


def check_content_lines(body: bytes) -> None:
    """RFC 5545 §3.1: lines end with CRLF, at most 75 octets each, UTF-8, folded between
    characters (so that every line, not only the whole, is UTF-8, as §3.1 advises)."""
    assert body.endswith(b"\r\n")
    lines = body.split(b"\r\n")[:-1]
    assert [line for line in lines if b"\r" in line or b"\n" in line] == []
    assert [line for line in lines if len(line) > 75] == []
    body.decode("utf-8")
    for line in lines:
        line.decode("utf-8")
    assert lines[0] == b"BEGIN:VCALENDAR" and lines[-1] == b"END:VCALENDAR"


def test_every_calendar_of_the_bundled_directory_is_well_formed(server):
    """The bundled directory's calendars (no dates, names and texts with curly quotes and
    dashes): content lines, and both Python readers."""
    paths = sorted(p for p in server.publisher.current.documents if p.endswith(".ics"))
    assert len(paths) == 1 + 4 + 13  # all, each category, each group
    for path in paths:
        body = server.get(path).content
        check_content_lines(body)
        cal = icalendar.Calendar.from_ical(body)
        assert [c.errors for c in cal.walk() if c.errors] == []
        assert rie_expand(body) == []


@pytest.mark.parametrize("path", PATHS)
def test_calendar_properties(fetched, path):
    """RFC 5545 §3.7 and RFC 7986 §5, with the X-WR-* and X-PUBLISHED-TTL older apps read."""
    cal = BY_PATH[path]
    found = props(fetched[path])
    names = [name for name, _ in found]
    assert len(names) == len(set(names)), "a calendar property is repeated"
    assert dict(found) == {
        "VERSION": "2.0",
        "PRODID": PRODID,
        "CALSCALE": "GREGORIAN",
        "NAME": escape(cal.name),
        "X-WR-CALNAME": escape(cal.name),
        "DESCRIPTION": escape(cal.description),
        "X-WR-CALDESC": escape(cal.description),
        "X-WR-TIMEZONE": cal.zone,
        "REFRESH-INTERVAL;VALUE=DURATION": REFRESH,
        "X-PUBLISHED-TTL": REFRESH,
        "URL": BASE_URL + cal.page,
        "SOURCE": BASE_URL + cal.path,
    }


def escape(text: str) -> str:
    """TEXT escaping, RFC 5545 §3.3.11."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


DATE_TIMES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")


def _event_lines(body: bytes) -> list[str]:
    out, inside = [], False
    for line in lines_of(body):
        inside = (inside or line == "BEGIN:VEVENT") and line != "END:VEVENT"
        if inside:
            out.append(line)
    return out


@pytest.mark.parametrize("path", PATHS)
def test_every_tzid_has_its_vtimezone_and_no_time_floats(fetched, path):
    """RFC 5545 §3.6.5 (a VTIMEZONE for each TZID), §3.3.5 (no floating time: a meeting
    happens at one instant), §3.3.10 (UNTIL in UTC with a zoned DTSTART)."""
    body = fetched[path]
    defined = [v for n, v in (p for p in _vtimezone_props(body)) if n == "TZID"]
    used, floating, untils = set(), [], []
    for line in _event_lines(body):
        name, value = line.split(":", 1)
        base, *params = name.split(";")
        if base in DATE_TIMES:
            tzid = [p.split("=", 1)[1] for p in params if p.startswith("TZID=")]
            used.update(tzid)
            if not tzid and not value.endswith("Z"):
                floating.append(line)
        if base == "RRULE":
            untils += re.findall(r"UNTIL=([^;]*)", value)
    assert floating == []
    assert sorted(defined) == sorted(used) == sorted({g.zone for g in BY_PATH[path].groups})
    assert all(re.fullmatch(r"\d{8}T\d{6}Z", u) for u in untils), untils
    if READING in BY_PATH[path].groups and BY_PATH[path].day is None:
        assert untils == ["20260630T225959Z"]  # the last second of 30 June 2026, BST
    else:
        assert untils == []


def _vtimezone_props(body: bytes) -> list[tuple[str, str]]:
    out, inside = [], False
    for line in lines_of(body):
        inside = (inside or line == "BEGIN:VTIMEZONE") and line != "END:VTIMEZONE"
        if inside and not line.startswith(("BEGIN:", "END:")):
            out.append(tuple(line.split(":", 1)))
    return out


@pytest.mark.parametrize("path", [c.path for c in SINGLE_CALS])
def test_single_meeting_file_holds_one_meeting_without_rule(fetched, meetings_server, path):
    """One VEVENT, no RRULE and no RECURRENCE-ID; its UID is the series' with the meeting's
    date, so adding it never clashes with the subscribed calendar."""
    cal = BY_PATH[path]
    events = icalendar.Calendar.from_ical(fetched[path]).walk("VEVENT")
    assert len(events) == 1
    (event,) = events
    assert [p for p in ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID") if p in event] == []
    (meeting,) = [m for m in meetings_of(cal.groups, *WINDOW) if m.start.date() == cal.day]
    group_events = icalendar.Calendar.from_ical(
        fetched[f"/calendars/groups/{cal.groups[0].slug}.ics"]
    ).walk("VEVENT")
    (series_uid,) = {str(e["UID"]) for e in group_events if str(e["UID"]).startswith(meeting.key)}
    on = (meeting.recurrence or meeting.start).date()
    assert str(event["UID"]) == series_uid.replace("@", f"-{on:%Y%m%d}@", 1)
    assert event["DTSTART"].dt == meeting.start and event["DTEND"].dt == meeting.end
    assert str(event["STATUS"]) == meeting.status and str(event["SUMMARY"]) == meeting.summary


def test_single_meeting_files_are_the_meetings_of_the_next_twelve_months(meetings_server):
    """One file per day with a meeting in the next year: cancelled ones too, moved ones at
    their new date."""
    day_file = re.compile(r"^/calendars/groups/[a-z0-9-]+/\d{4}-\d{2}-\d{2}\.ics$")
    served = {p for p in meetings_server.publisher.current.documents if day_file.match(p)}
    year = datetime(2027, 11, 25, 12, tzinfo=UTC)
    expected = {single(m.group, m.start.date()).path for m in meetings_of(GROUPS, NOW, year)}
    assert served == expected
    assert len(expected) == 52 + 6 + 12 + 14


# --- A group without meetings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "description"),
    [
        (
            "mad-failures",
            "No meetings of The Mad Failures Facebook Group are listed. Should the group "
            "publish meeting dates, they will appear in this calendar.",
        ),
        (
            "north-east-mad-studies-forum",
            "North East Mad Studies forum meets bi-monthly, as its listing puts it, but no "
            "dates or times have been published. Dates will appear in this calendar once the "
            "organiser publishes them.",
        ),
    ],
)
def test_calendar_of_a_group_without_meetings(server, ical_js, slug, description):
    """The bundled directory's groups publish no dates: their calendars hold no VEVENT, but
    still the directory's VTIMEZONE (§3.6: a calendar holds at least one component), and both
    parsers read them."""
    response = server.get(f"/calendars/groups/{slug}.ics")
    assert response.status_code == 200
    body = response.content
    cal = icalendar.Calendar.from_ical(body)
    assert cal.walk("VEVENT") == []
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == [LONDON]
    assert str(cal["DESCRIPTION"]) == description
    assert dict(props(body))["SOURCE"] == f"{BASE_URL}/calendars/groups/{slug}.ics"
    result = ical_js(body, offsets_at=(JANUARY, JULY))
    assert result["zones"] == [LONDON]
    assert result["offsets"] == {LONDON: RIGHT_OFFSETS[LONDON]}
    assert result["occurrences"] == []
    assert rie_expand(body) == []
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))


@given(
    st.one_of(
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=60),
        st.text(alphabet=st.characters(exclude_categories=["Cs", "Cc"]), min_size=20),
    )
)
def test_any_content_line_folds_within_75_octets_and_unfolds_to_itself(text):
    """RFC 5545 §3.1 for every line, not only those our data happens to have: ASCII lines
    are folded by slicing (the fast way), others never inside a UTF-8 sequence."""
    folded = ical._fold(f"DESCRIPTION:{text}")  # noqa: SLF001 - the folding itself
    assert folded.endswith(b"\r\n")
    lines = folded[:-2].split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert all(line.startswith(b" ") for line in lines[1:])
    assert b"".join([lines[0], *(line[1:] for line in lines[1:])]).decode() == (
        f"DESCRIPTION:{text}"
    )
