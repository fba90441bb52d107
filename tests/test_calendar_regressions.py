"""Regressions of the calendars, each named after the bug a review found."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import yaml
from icalendar import Calendar

from publisher.directory.schedule import occurrences
from publisher.model.directory import Meetings, Rule, Series, TimeRange
from publisher.render.html import meeting_when

LONDON = "Europe/London"


def rewrite(data_dir, slug: str, change) -> None:  # noqa: ANN001
    path = data_dir / "community-groups.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["groups"] = [g for g in (change(g) if g["slug"] == slug else g for g in doc["groups"]) if g]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_a_renamed_groups_calendar_address_answered_404(make_app, serve, data_dir, clock):
    """Subscribed apps kept the old address: it now moves with the page (301)."""
    server = serve(make_app())
    rewrite(
        data_dir,
        "oor-mad-history",
        lambda g: {**g, "slug": "oor-history", "previous_slugs": ["oor-mad-history"]},
    )
    clock.advance(minutes=1)
    server.publisher.reload()
    old = server.get("/calendars/groups/oor-mad-history.ics")
    assert old.status_code == 301
    assert old.headers["Location"] == "http://127.0.0.1:8000/calendars/groups/oor-history.ics"
    assert server.get("/calendars/groups/oor-history.ics").status_code == 200


def test_a_removed_groups_calendar_answered_404_and_apps_kept_its_events(
    make_app, serve, data_dir, clock
):
    """An error leaves subscribed apps showing the old events; an empty calendar clears them."""
    server = serve(make_app())
    rewrite(data_dir, "oor-mad-history", lambda g: None)
    clock.advance(minutes=1)
    server.publisher.reload()
    answer = server.get("/calendars/groups/oor-mad-history.ics")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(answer.content)
    assert not calendar.walk("VEVENT") and calendar.walk("VTIMEZONE")
    assert "no longer listed" in str(calendar["DESCRIPTION"])


def test_a_time_in_the_spring_gap_was_shown_an_hour_before_apps_show_it():
    """01:30 on 28 March 2027 does not exist in London; RFC 5545 §3.3.5 reads it as 02:30
    BST, as apps do, and the page said 1:30am."""
    series = Series(
        "k",
        date(2027, 3, 28),
        Rule("YEARLY", 1, monthday=28, month=3),
        TimeRange(time(1, 30), time(2, 45)),
    )
    meetings = Meetings(time_zone=LONDON, series=(series,))
    [found] = occurrences(
        meetings, datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC)
    )
    assert found.start.astimezone(UTC) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert meeting_when(found, LONDON) == "Sunday 28 March 2027, 2:30am to 2:45am"


def test_a_carriage_return_in_a_description_reached_the_calendar_raw(data_dir):
    """A lone CR is a control character in iCalendar TEXT (§3.3.11): refused by the checker."""
    from publisher.directory.validate import check_directory

    rewrite(data_dir, "oor-mad-history", lambda g: {**g, "description": "a\rb"})
    _, problems = check_directory(data_dir)
    assert [p.field for p in problems if "control characters" in p.message] == ["description"]


def series_yaml(starts: str, key: str | None = None) -> dict:
    item = {"starts": starts, "every": "month", "on": "first Monday", "time": "18:00-20:00"}
    return {**({"key": key} if key else {}), **item}


def with_series(data_dir, *series: dict) -> None:  # noqa: ANN001
    meetings = {"time_zone": LONDON, "series": list(series)}
    rewrite(data_dir, "oor-mad-history", lambda g: {**g, "meetings": meetings})


def test_correcting_a_series_start_gave_it_a_new_uid_and_apps_a_duplicate(data_dir):
    """The UID came only from 'starts': a series with its own 'key' keeps its UID through
    any edit (without one, the README says to keep 'starts' once published)."""
    from publisher.directory.validate import load_directory

    with_series(data_dir, series_yaml("2027-01-04", key="monthly-meeting"))
    before = load_directory(data_dir)
    with_series(data_dir, series_yaml("2027-02-01", key="monthly-meeting"))
    after = load_directory(data_dir)
    keys = [
        next(g for g in d.groups if g.slug == "oor-mad-history").meetings.series[0].key
        for d in (before, after)
    ]
    assert keys == ["series.monthly-meeting", "series.monthly-meeting"]


def test_the_same_meeting_key_twice_is_refused(data_dir):
    from publisher.directory.validate import check_directory

    with_series(data_dir, series_yaml("2027-01-04", "same"), series_yaml("2027-01-05", "same"))
    _, problems = check_directory(data_dir)
    [problem] = [p for p in problems if not p.warning]
    assert problem.field == "meetings.series[1].key"
    assert "used twice" in problem.message


def _calendar_of(make_app, serve, data_dir, change) -> bytes:  # noqa: ANN001
    """oor-mad-history's calendar once ``change`` gives it a weekly meeting and more."""
    meetings = {
        "time_zone": LONDON,
        "series": [series_yaml("2027-01-04") | {"every": "week", "on": "Monday"}],
    }
    rewrite(data_dir, "oor-mad-history", lambda g: change({**g, "meetings": meetings}))
    response = serve(make_app()).get("/calendars/groups/oor-mad-history.ics")
    assert response.status_code == 200
    return response.content


def test_a_backslash_and_n_in_a_description_reached_apps_as_a_line_break(make_app, serve, data_dir):
    """icalendar's TEXT escaping reads backslash-N as a line break: 'C:\\New' became 'C:',
    a new line and 'ew'. What the group wrote reaches apps as written."""
    text = r"Minutes are in C:\New minutes\NOTES, not \n anywhere else."
    body = _calendar_of(make_app, serve, data_dir, lambda g: {**g, "description": text})
    [event] = Calendar.from_ical(body).walk("VEVENT")
    assert str(event["DESCRIPTION"]).split("\n\n")[0] == text


def test_a_place_near_the_greenwich_meridian_had_an_exponent_in_its_longitude(
    make_app, serve, data_dir
):
    """GEO holds FLOATs (RFC 5545 §3.3.7), which have no exponent: icalendar wrote -5e-05."""
    place = {"as_published": "Greenwich", "coordinates": "51.4779, -0.00005"}
    body = _calendar_of(make_app, serve, data_dir, lambda g: {**g, "place": place})
    [geo] = [line for line in body.split(b"\r\n") if line.startswith(b"GEO:")]
    assert geo == b"GEO:51.477900;-0.000050"
    [event] = Calendar.from_ical(body).walk("VEVENT")
    assert event["GEO"].latitude == 51.4779 and event["GEO"].longitude == -0.00005
