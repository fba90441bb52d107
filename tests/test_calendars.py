"""Calendars as subscribers and readers meet them: stable UIDs and SEQUENCE, the same bytes
for the same data, single-meeting files that follow the clock, HTTP for every calendar,
subscribe help on the pages, and schedule changes in the feeds.

Time comes from the test's Clock: nothing sleeps. The clock thread of the app is slowed to
once an hour, so a test calls ``reload_if_due`` itself, at the moment it chooses.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import feedparser
import pytest
import requests
from icalendar import Calendar
from lxml import html as lxml_html

from publisher.app import close_app
from publisher.directory.validate import load_directory
from tests.conftest import DATA, ROOT, Clock

EXAMPLES = ROOT / "examples" / "meetings"
#: A Sunday: the next meetings are the drop-in on Tuesday 12 January and the Riverside
#: circle on Wednesday 13 January 2027, 18:00 to 20:00 London time (GMT).
START = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
CALENDAR = "text/calendar; charset=utf-8"
RIVERSIDE = "/calendars/groups/riverside-peer-circle.ics"
DROP_IN = "/calendars/groups/tuesday-drop-in.ics"
QUIET = {"watch_interval": 3600}  # the clock thread never fires during a test


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def examples(data_dir: Path) -> Path:
    """The fictional directory with meetings, as the data folder the test may edit."""
    shutil.rmtree(data_dir)
    shutil.copytree(EXAMPLES, data_dir)
    return data_dir


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def parse(body: bytes) -> Calendar:
    return Calendar.from_ical(body)


def masters(body: bytes) -> dict[str, object]:
    """The VEVENTs that are not overrides (no RECURRENCE-ID), by UID."""
    return {str(e["UID"]): e for e in parse(body).walk("VEVENT") if e.get("RECURRENCE-ID") is None}


def stamps(event) -> tuple[int, datetime, datetime, datetime]:  # noqa: ANN001
    return (
        int(event["SEQUENCE"]),
        event.decoded("CREATED"),
        event.decoded("LAST-MODIFIED"),
        event.decoded("DTSTAMP"),
    )


def links_of(body: str) -> list[str]:
    return [str(a) for a in lxml_html.fromstring(body).xpath("//a/@href")]


def calendar_alternates(body: str) -> list[str]:
    tree = lxml_html.fromstring(body)
    return [str(h) for h in tree.xpath('//link[@rel="alternate"][@type="text/calendar"]/@href')]


def next_meetings(page: str) -> list[str]:
    """The datetimes listed under 'Next meetings', in order."""
    tree = lxml_html.fromstring(page)
    return [str(t) for t in tree.xpath('//ul[@class="meetings"]//p[@class="when"]/time/@datetime')]


# --- UIDs, SEQUENCE and the dates of an event ---------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "shows"),
    [
        ("time: 10:30-12:00", "time: 11:00-12:30", ("DTSTART", "T110000")),
        ("on: Tuesday", "on: Thursday", ("RRULE", "BYDAY=TH")),
        ("A made-up weekly drop-in, at 10:30", "A made-up weekly drop-in at half past ten", None),
    ],
    ids=["time", "rule", "description"],
)
def test_uid_is_stable_and_sequence_grows_with_an_edit(
    make_app, serve, examples, clock, old, new, shows
):
    app = make_app(**QUIET)
    first = serve(app).get(DROP_IN)
    [(uid, event)] = masters(first.content).items()
    assert stamps(event) == (0, START, START, START)

    close_app(app)  # a restart on the same database
    server = serve(make_app(**QUIET))
    again = server.get(DROP_IN)
    assert again.content == first.content
    assert list(masters(again.content)) == [uid]

    clock.advance(hours=1)
    edit(examples / "peer-support.yaml", old, new)
    assert server.publisher.reload().changes == 1
    body = server.get(DROP_IN).content
    [(uid_after, event)] = masters(body).items()
    assert uid_after == uid
    assert stamps(event) == (1, START, clock.now, clock.now)
    if shows is not None:
        prop, text = shows
        assert text in event[prop].to_ical().decode()
    else:
        assert "half past ten" in str(event["DESCRIPTION"])

    close_app(server.app)  # another restart: nothing moves
    after_restart = serve(make_app(**QUIET)).get(DROP_IN)
    assert after_restart.content == body


def test_sequence_grows_once_per_change_and_overrides_follow(make_app, serve, examples, clock):
    server = serve(make_app(**QUIET))
    path = examples / "peer-support.yaml"
    for n, (old, new) in enumerate(
        [("time: 18:00-20:00", "time: 18:30-20:30"), ("time: 18:30-20:30", "time: 18:00-20:00")],
        start=1,
    ):
        clock.advance(hours=1)
        edit(path, old, new)
        server.publisher.reload()
        events = parse(server.get(RIVERSIDE).content).walk("VEVENT")
        # The master, the moved and the cancelled meeting: one UID, one SEQUENCE.
        assert len(events) == 3
        assert {str(e["UID"]) for e in events} == {str(events[0]["UID"])}
        assert {stamps(e) for e in events} == {(n, START, clock.now, clock.now)}


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        (  # another group's edit
            "peer-support.yaml",
            "A made-up peer-support circle",
            "An invented peer-support circle",
        ),
        (  # the group's links, which its events do not show
            "peer-support.yaml",
            "    place:\n      as_published: The café",
            "    links:\n      - url: https://example.org/drop-in\n        label: Drop-in\n"
            "    place:\n      as_published: The café",
        ),
        (  # a group in another category
            "reading-groups.yaml",
            "title: Reading group\n",
            "title: Reading circle\n",
        ),
    ],
    ids=["other-group", "links", "other-category"],
)
def test_sequence_stays_when_the_change_is_not_shown(
    make_app, serve, examples, clock, file, old, new
):
    server = serve(make_app(**QUIET))
    before = masters(server.get(DROP_IN).content)
    clock.advance(hours=1)
    edit(examples / file, old, new)
    assert server.publisher.reload().changes == 1  # the edit was a real change
    after = masters(server.get(DROP_IN).content)
    assert list(after) == list(before)
    [event] = after.values()
    assert stamps(event) == (0, START, START, START)


def test_the_group_description_is_shown_so_it_moves_the_sequence(make_app, serve, examples, clock):
    """Riverside's series has no description of its own: its events show the group's."""
    server = serve(make_app(**QUIET))
    clock.advance(hours=1)
    edit(examples / "peer-support.yaml", "A made-up peer-support circle", "An invented circle")
    server.publisher.reload()
    [event] = masters(server.get(RIVERSIDE).content).values()
    assert stamps(event) == (1, START, clock.now, clock.now)
    assert "An invented circle" in str(event["DESCRIPTION"])


# --- The same data gives the same bytes -----------------------------------------------------


def calendar_paths(server) -> list[str]:  # noqa: ANN001
    return sorted(p for p in server.publisher.current.documents if p.startswith("/calendars/"))


def test_two_renders_of_the_same_data_give_the_same_bytes(make_app, serve, examples, tmp_path):
    one = serve(make_app(database=str(tmp_path / "one.sqlite3"), **QUIET))
    two = serve(make_app(database=str(tmp_path / "two.sqlite3"), **QUIET))
    paths = calendar_paths(one)
    assert calendar_paths(two) == paths
    assert len(paths) > 50  # 4 group calendars, 2 categories, all, and single meetings
    bodies = {}
    with requests.Session() as session:
        for path in paths:
            a = session.get(one.url + path, timeout=10)
            b = session.get(two.url + path, timeout=10)
            assert a.status_code == b.status_code == 200
            assert a.content == b.content, path
            assert a.headers["ETag"] == b.headers["ETag"]
            bodies[path] = a.content

    close_app(one.app)  # a restart renders nothing new and serves the same bytes
    again = serve(make_app(database=str(tmp_path / "one.sqlite3"), **QUIET))
    assert calendar_paths(again) == paths
    with requests.Session() as session:
        for path in paths:
            assert session.get(again.url + path, timeout=10).content == bodies[path], path


# --- Single meetings follow the clock -------------------------------------------------------


def test_single_meeting_files_and_next_meetings_follow_the_clock(make_app, serve, examples, clock):
    server = serve(make_app(**QUIET))
    publisher = server.publisher
    meeting = "/calendars/groups/riverside-peer-circle/2027-01-13.ics"
    a_year_on = "/calendars/groups/riverside-peer-circle/2028-01-12.ics"

    answer = server.get(meeting)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == CALENDAR
    [event] = parse(answer.content).walk("VEVENT")
    assert event.get("RRULE") is None
    assert event.decoded("DTSTART") == datetime(2027, 1, 13, 18, tzinfo=UTC)
    assert server.get("/calendars/groups/riverside-peer-circle/2027-01-14.ics").status_code == 404
    assert server.get("/calendars/groups/riverside-peer-circle/2026-11-11.ics").status_code == 404
    assert server.get(a_year_on).status_code == 404  # more than 12 months ahead
    # The meeting moved from 10 to 17 March has its file on the day it now happens.
    assert server.get("/calendars/groups/riverside-peer-circle/2027-03-10.ics").status_code == 404
    moved = server.get("/calendars/groups/riverside-peer-circle/2027-03-17.ics")
    assert moved.status_code == 200
    [event] = parse(moved.content).walk("VEVENT")
    assert event.decoded("DTSTART") == datetime(2027, 3, 17, 18, tzinfo=UTC)
    assert "Moved from Wednesday 10 March 2027." in str(event["DESCRIPTION"])
    page = server.get("/groups/riverside-peer-circle/").text
    assert next_meetings(page)[0] == "2027-01-13T18:00:00+00:00"

    # Nothing to do before the first listed meeting ends.
    due = publisher.current.due
    assert due is not None and due > START
    clock.now = due - timedelta(seconds=1)
    assert publisher.reload_if_due() is None
    assert publisher.current.due == due

    # Just after the Riverside meeting of 13 January ends (20:00 GMT).
    clock.now = datetime(2027, 1, 13, 20, 0, 1, tzinfo=UTC)
    assert publisher.reload_if_due() is not None
    assert server.get(meeting).status_code == 404
    assert meeting not in publisher.current.documents
    page = server.get("/groups/riverside-peer-circle/").text
    listed = next_meetings(page)
    assert "2027-01-13T18:00:00+00:00" not in listed
    assert listed[0] == "2027-03-17T18:00:00+00:00"  # the meeting moved from 10 March
    assert "Wednesday 13 January 2027" not in server.get("/").text
    assert publisher.current.due is not None and publisher.current.due > clock.now > due
    assert publisher.reload_if_due() is None  # until the new due moment

    # The meeting of January 2028 has come within 12 months: it has its file now.
    answer = server.get(a_year_on)
    assert answer.status_code == 200
    assert parse(answer.content).walk("VEVENT")[0].decoded("DTSTART") == datetime(
        2028, 1, 12, 18, tzinfo=UTC
    )


def test_due_survives_a_restart(make_app, serve, examples, clock):
    app = make_app(**QUIET)
    due = app.extensions["publisher"].current.due
    assert due is not None
    close_app(app)
    clock.now = due + timedelta(minutes=1)
    again = make_app(**QUIET)
    publisher = again.extensions["publisher"]
    # The first load at start has already moved on past the meeting that ended.
    assert publisher.current.due is not None and publisher.current.due > clock.now


# --- HTTP for every calendar ---------------------------------------------------------------


def every_calendar(folder: Path) -> list[str]:
    directory = load_directory(folder)
    paths = ["/calendars/all.ics"]
    paths += [f"/calendars/{c.slug}.ics" for c in directory.categories]
    paths += [f"/calendars/groups/{g.slug}.ics" for g in directory.groups]
    return paths


@pytest.mark.parametrize("source", ["bundled", "examples"])
def test_every_calendar_answers_with_type_etag_304_and_cors(make_app, serve, data_dir, source):
    if source == "examples":
        shutil.rmtree(data_dir)
        shutil.copytree(EXAMPLES, data_dir)
    server = serve(make_app(**QUIET))
    paths = every_calendar(data_dir)
    singles = [
        p for p in server.publisher.current.documents if re.fullmatch(r"/calendars/groups/.+/.+", p)
    ]
    if source == "examples":
        assert len(singles) > 40
        paths += sorted(singles)
    else:
        assert singles == []
        assert len(paths) == 1 + 4 + 13
    with requests.Session() as session:
        for path in paths:
            answer = session.get(server.url + path, timeout=10)
            assert answer.status_code == 200, path
            assert answer.headers["Content-Type"] == CALENDAR, path
            assert answer.headers["Access-Control-Allow-Origin"] == "*", path
            etag = answer.headers["ETag"]
            assert re.fullmatch(r'"[^"]+"', etag), path  # strong
            assert answer.content.startswith(b"BEGIN:VCALENDAR\r\n")
            assert answer.content.endswith(b"END:VCALENDAR\r\n")
            parse(answer.content)
            again = session.get(server.url + path, headers={"If-None-Match": etag}, timeout=10)
            assert again.status_code == 304, path
            assert again.content == b""
            assert again.headers["ETag"] == etag
            assert again.headers["Access-Control-Allow-Origin"] == "*", path


# --- The bundled directory ------------------------------------------------------------------


def test_a_group_without_dates_gets_an_empty_calendar_that_says_why(server):
    answer = server.get("/calendars/groups/north-east-mad-studies-forum.ics")
    assert answer.status_code == 200
    calendar = parse(answer.content)
    assert calendar.walk("VEVENT") == []
    assert [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    description = str(calendar["DESCRIPTION"])
    assert "bi-monthly" in description
    assert "Dates will appear in this calendar once the organiser publishes them." in description

    page = server.get("/groups/north-east-mad-studies-forum/").text
    text = " ".join(lxml_html.fromstring(page).text_content().split())
    assert "No dates or times have been published yet." in text
    assert "They will appear here, and in this group’s calendar, once the organiser" in text
    assert "Next meetings" not in text


def test_no_group_of_the_bundled_directory_gets_invented_meetings(server):
    assert not any(
        re.fullmatch(r"/calendars/groups/.+/.+", p) for p in server.publisher.current.documents
    )
    for path in every_calendar(DATA):
        assert parse(server.get(path).content).walk("VEVENT") == [], path
    home = server.get("/").text
    assert "Next meetings" not in home
    assert "Add this meeting" not in home
    assert server.publisher.current.due is None


# --- Subscribe help on the pages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "calendar", "name"),
    [
        (
            "/groups/riverside-peer-circle/",
            "/calendars/groups/riverside-peer-circle.ics",
            "Riverside Peer Circle (example)",
        ),
        ("/categories/peer-support/", "/calendars/peer-support.ics", "Peer support (example)"),
    ],
    ids=["group", "category"],
)
@pytest.mark.parametrize("base", ["http://127.0.0.1:8000", "https://groups.example.org"])
def test_subscribe_help_links_to_the_right_calendar(
    make_app, serve, examples, page, calendar, name, base
):
    config = {} if base.startswith("http://127.") else {"base_url": base}
    server = serve(make_app(**config, **QUIET))
    body = server.get(page).text
    hrefs = links_of(body)
    https = base + calendar
    webcal = "webcal://" + https.split("://", 1)[1]
    assert webcal in hrefs
    assert calendar_alternates(body) == [https]
    assert server.get(calendar).status_code == 200
    google = [h for h in hrefs if "google.com" in h]
    outlook = [h for h in hrefs if "outlook." in h]
    if base.startswith("http://127."):
        assert google == [] and outlook == []  # their servers cannot reach a loopback address
        return
    assert google == ["https://calendar.google.com/calendar/r?cid=" + quote(webcal, safe="")]
    assert google[0].endswith(
        "cid=webcal%3A%2F%2Fgroups.example.org%2Fcalendars%2F"
        + (calendar.removeprefix("/calendars/").replace("/", "%2F"))
    )
    assert len(outlook) == 2
    for link, host in zip(outlook, ["outlook.live.com", "outlook.office.com"], strict=True):
        parts = urlsplit(link)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", host, "/calendar/0/addfromweb")
        query = parse_qs(parts.query)
        assert query["url"] == [https]
        assert len(query["name"]) == 1 and name in query["name"][0]
        assert "+" not in parts.query  # spaces are %20, which both services read


def test_pages_carry_the_absolute_calendar_address(make_app, serve, examples):
    server = serve(make_app(base_url="https://groups.example.org", **QUIET))
    expected = {
        "/": "https://groups.example.org/calendars/all.ics",
        "/categories/reading-groups/": "https://groups.example.org/calendars/reading-groups.ics",
        "/groups/example-reading-group/": (
            "https://groups.example.org/calendars/groups/example-reading-group.ics"
        ),
    }
    for page, href in expected.items():
        assert calendar_alternates(server.get(page).text) == [href], page


def test_the_home_page_lists_the_next_meetings_in_plain_words(make_app, serve, examples):
    server = serve(make_app(**QUIET))
    home = server.get("/").text
    text = " ".join(lxml_html.fromstring(home).text_content().split())
    assert "Wednesday 13 January 2027, 6pm to 8pm" in text
    assert "Tuesday 12 January 2027, 10:30am to midday" in text
    # Named in New York time, where the group meets.
    assert "Thursday 4 February 2027, midday to 1pm (New York time)" in text
    assert "webcal://127.0.0.1:8000/calendars/all.ics" in links_of(home)
    listed = next_meetings(home)
    assert listed == sorted(listed, key=datetime.fromisoformat)
    assert listed[0] == "2027-01-12T10:30:00+00:00"


def test_the_opml_does_not_list_calendars(make_app, serve, examples):
    server = serve(make_app(**QUIET))
    opml = server.get("/feeds.opml")
    assert opml.status_code == 200
    assert b".ics" not in opml.content
    assert b"calendar" not in opml.content.lower()


# --- A schedule change is an entry change ---------------------------------------------------


def test_a_schedule_change_reaches_the_changes_feed_and_the_category_feed(
    make_app, serve, examples, clock
):
    server = serve(make_app(**QUIET))
    changes_before = feedparser.parse(server.get("/feeds/changes.atom").content)
    clock.advance(days=1)
    edit(examples / "peer-support.yaml", "time: 18:00-20:00", "time: 18:30-20:30")
    assert server.publisher.reload().changes == 1

    changes = feedparser.parse(server.get("/feeds/changes.atom").content)
    assert len(changes.entries) == len(changes_before.entries) + 1
    newest = changes.entries[0]
    assert newest.title == "Changed: Riverside Peer Circle (example)"
    assert "meetings" in newest.summary
    assert newest.updated_parsed[:6] == clock.now.timetuple()[:6]

    category = feedparser.parse(server.get("/feeds/peer-support.atom").content)
    [entry] = [e for e in category.entries if "riverside-peer-circle" in e.link]
    assert entry.updated_parsed[:6] == clock.now.timetuple()[:6]
    assert category.entries[0].link == entry.link  # newest first
    other = feedparser.parse(server.get("/feeds/reading-groups.atom").content)
    assert all(e.updated_parsed[:6] != clock.now.timetuple()[:6] for e in other.entries)
