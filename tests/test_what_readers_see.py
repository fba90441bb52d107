"""What readers see, from an issue filed after a first try as a new user: each test is named
after the fault it pins.

- The calendar section of a page promised new, moved and cancelled meetings where no group in
  its scope had published a date.

Real apps over HTTP, read back with independent parsers (feedparser, lxml, json, icalendar).
"""

from __future__ import annotations

import shutil

import yaml
from icalendar import Calendar
from lxml import etree
from lxml import html as lxml_html

from publisher.directory.model import Directory
from publisher.directory.validate import load_directory
from tests.conftest import DATA, ROOT

EXAMPLES = ROOT / "examples" / "meetings"


def words(element: etree._Element) -> str:
    """An element's text as a reader hears it: whitespace collapsed."""
    return " ".join(element.text_content().split())


# --- 11. The calendar section says so plainly when no group in its scope has dates -----------

PROMISE = "new, moved and cancelled meetings appear there by themselves"
NO_DATES_YET = "has published any meeting dates yet"


def scopes(directory: Directory) -> dict[str, bool | None]:
    """Each page with a calendar section, and whether a group in its scope has dates (None:
    no group there has meetings at all, so the page has no calendar section)."""

    def dated(groups: tuple) -> bool | None:
        if not any(g.meetings for g in groups):
            return None
        return any(g.meetings.scheduled for g in groups if g.meetings)

    pages = {"/": dated(directory.groups)}
    for category in directory.categories:
        pages[f"/categories/{category.slug}/"] = dated(category.groups)
    return pages


def calendar_section(server, path: str) -> etree._Element | None:  # noqa: ANN001
    response = server.get(path)
    assert response.status_code == 200
    found = lxml_html.fromstring(response.content).xpath("//section[@class='calendar']")
    assert len(found) <= 1
    return found[0] if found else None


def check_calendar_sections(server, directory: Directory) -> None:  # noqa: ANN001
    for path, dated in scopes(directory).items():
        section = calendar_section(server, path)
        if dated is None:
            assert section is None, f"{path}: a calendar section with no meetings in scope"
            continue
        assert section is not None, f"{path}: no calendar section"
        text = words(section)
        # The subscribe links stay either way: dates will come.
        assert any(h.startswith("webcal://") for h in section.xpath(".//a/@href")), path
        if dated:
            assert PROMISE in text, path
            assert NO_DATES_YET not in text, path
        else:
            assert PROMISE not in text, f"{path}: promises meetings no group has published"
            assert NO_DATES_YET in text, f"{path}: does not say that no dates are published"
            assert "Cancelled" not in text, f"{path}: explains cancelled meetings there are none of"


def test_calendar_section_promises_no_meetings_where_no_group_has_dates(server):
    """The bundled directory: one group has meetings ("bi-monthly") but no dates."""
    check_calendar_sections(server, load_directory(DATA))
    assert scopes(load_directory(DATA))["/"] is False


def test_calendar_section_keeps_its_promise_where_groups_have_dates(make_app, serve, tmp_path):
    folder = tmp_path / "meetings"
    shutil.copytree(EXAMPLES, folder)
    server = serve(make_app(data=str(folder)))
    check_calendar_sections(server, load_directory(folder))
    assert all(scopes(load_directory(folder)).values())


def test_calendar_section_of_each_scope_follows_its_own_groups(make_app, serve, tmp_path):
    """One category loses its dates (only a frequency is left): its page says so plainly,
    while the home page, whose other category still has dates, keeps the promise."""
    folder = tmp_path / "meetings"
    shutil.copytree(EXAMPLES, folder)
    path = folder / "reading-groups.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["groups"][0]["meetings"] = {"frequency_as_published": "monthly"}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    server = serve(make_app(data=str(folder)))
    directory = load_directory(folder)
    assert scopes(directory) == {
        "/": True,
        "/categories/peer-support/": True,
        "/categories/reading-groups/": False,
    }
    check_calendar_sections(server, directory)
    group = words(calendar_section(server, "/groups/example-reading-group/"))
    assert PROMISE not in group
    assert "This group has not published any meeting dates yet." in group


def test_calendar_of_a_scope_without_dates_says_why_it_is_empty(server):
    """The calendar's own description says it plainly too."""
    for path in ("/calendars/all.ics", "/calendars/reading-teaching-learning-groups.ics"):
        calendar = Calendar.from_ical(server.get(path).content)
        assert calendar.walk("VEVENT") == []
        assert "No group" in str(calendar["DESCRIPTION"]), path
        assert "once they are published" in str(calendar["DESCRIPTION"]), path
