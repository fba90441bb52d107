"""What readers see, from an issue filed after a first try as a new user: each test is named
after the fault it pins.

- The calendar section of a page promised new, moved and cancelled meetings where no group in
  its scope had published a date.
- The changes feed named the field that changed ("description") but not what it now says.
- Names and titles reached RSS and OPML text that many readers treat as HTML: markup in them
  was live after one decode.

Real apps over HTTP, read back with independent parsers (feedparser, lxml, json, icalendar).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import feedparser
import pytest
import yaml
from icalendar import Calendar
from lxml import etree
from lxml import html as lxml_html

from publisher.directory.validate import check_directory, load_directory
from publisher.model.directory import Directory
from tests.conftest import DATA, ROOT
from tests.test_history import edit_group, read_groups, remove_group, write_groups

EXAMPLES = ROOT / "examples" / "meetings"
HOSTILE = '<script>alert(1)</script> "quotes" & <img src=x onerror=alert(1)> javascript:alert(1)'
CHANGES = "/feeds/changes.atom"
ATOM = "{http://www.w3.org/2005/Atom}"
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


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


# --- 12. The changes feed shows what changed -------------------------------------------------

RTL = "reading-teaching-learning-groups"
FORUM = "north-east-mad-studies-forum"


def change_entries(server) -> list[tuple[str, str]]:  # noqa: ANN001
    """(title, the text of the entry's HTML), newest first: feedparser's and lxml's reading
    of the feed must agree on it, and it must hold no live markup."""
    body = server.get(CHANGES).content
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    root = etree.fromstring(body, SAFE_XML)
    raw = [e.find(f"{ATOM}content") for e in root.iter(f"{ATOM}entry")]
    assert all(c.get("type") == "html" for c in raw)
    out = []
    for entry, content in zip(parsed.entries, raw, strict=True):
        fragment = lxml_html.fragment_fromstring(content.text, create_parent="div")
        mine = lxml_html.fragment_fromstring(entry.content[0].value, create_parent="div")
        assert words(mine) == words(fragment)
        assert not fragment.xpath("//script | //img | //*[@*[starts-with(name(), 'on')]]")
        out.append((entry.title, words(fragment)))
    return out


def test_changes_feed_names_the_field_but_not_the_change(server, data_dir, clock):
    """Each changed field is labelled with its new value; a removed value says so."""
    groups = read_groups(data_dir, RTL)
    forum = next(g for g in groups if g["slug"] == FORUM)
    forum["name"] = "North East Mad Studies Forum & friends"
    forum["description"] = HOSTILE
    forum["place"] = {"as_published": "Palace Green Library, Durham"}
    forum["contact"] = {"name": "Victoria Armstrong", "twitter": "@madstudiesne"}
    forum["meetings"] = {
        "time_zone": "Europe/London",
        "series": [
            {
                "starts": "2026-03-04",
                "every": "month",
                "on": "first Wednesday",
                "time": "18:00-20:00",
            }
        ],
    }
    write_groups(data_dir, RTL, groups)
    edit_group(data_dir, RTL, "my-mad-space", description=None)
    edit_group(data_dir, RTL, "hamilton-mad-students-collective", contact={"as_published": "x"})
    clock.advance(minutes=5)
    assert server.publisher.reload().changes == 3

    entries = dict(change_entries(server)[:3])
    forum_text = entries["Changed: North East Mad Studies Forum & friends"]
    assert "Name: North East Mad Studies Forum & friends" in forum_text
    assert f"Description: {HOSTILE}" in forum_text
    assert "Place: Palace Green Library, Durham" in forum_text
    assert "Contact details: Victoria Armstrong; Twitter: @madstudiesne" in forum_text
    assert "v.e.potts" not in forum_text  # the old email, no longer published
    assert "Every month on the first Wednesday, 18:00 to 20:00, from 4 March 2026" in forum_text
    assert "Description: removed." in entries["Changed: My Mad Space"]
    # Contact details only as worded on the source page: not shown on the page, not removed.
    hamilton = entries["Changed: The Hamilton Mad Students Collective"]
    assert "Contact details: none shown on the group’s page" in hamilton


def test_changes_feed_shows_a_value_only_while_it_is_published(server, data_dir, clock):
    """An older change of a field changed again since shows no value (it is no longer
    published); once a group is removed, its earlier changes show none of its details."""
    edit_group(data_dir, RTL, "my-mad-space", description="First new text.")
    clock.advance(minutes=5)
    server.publisher.reload()
    edit_group(data_dir, RTL, "my-mad-space", description="Second new text.")
    clock.advance(minutes=5)
    server.publisher.reload()
    newer, older = change_entries(server)[:2]
    assert "Description: Second new text." in newer[1]
    assert "First new text." not in older[1] and "Second new text." not in older[1]
    assert "changed again since" in older[1]

    edit_group(data_dir, "community-groups", "oor-mad-history", place={"country": "Scotland"})
    clock.advance(minutes=5)
    server.publisher.reload()
    assert "Place: Scotland" in change_entries(server)[0][1]
    remove_group(data_dir, "community-groups", "oor-mad-history")
    clock.advance(minutes=5)
    server.publisher.reload()
    removed, edited = change_entries(server)[:2]
    assert removed[0] == "Removed: Oor Mad History"
    assert edited[0] == "Changed: Oor Mad History"
    assert "Scotland" not in edited[1]
    assert "no longer listed" in edited[1]


# --- 14. Names and titles never read as markup, in any format --------------------------------

MARKUP = "Community <img src=x onerror=alert(1)> Groups"


def set_yaml(path: Path, change) -> None:  # noqa: ANN001
    """Change site.yaml through PyYAML (it has no key PyYAML 1.1 would misread)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def edit(path: Path, old: str, new: str) -> None:
    """Change a groups file as text: PyYAML would read the key ``on:`` as true."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "field"),
    [
        ("site.yaml", "title: Example meeting groups (fictional)", "title"),
        ("site.yaml", "name: Peer support (example)", "categories[0].name"),
        ("peer-support.yaml", "name: Riverside Peer Circle (example)", "name"),
        ("reading-groups.yaml", "title: Reading group (afternoons, ended)", "series[0].title"),
        (
            "reading-groups.yaml",
            'title: "Study day: writing our own histories"',
            "one_off[0].title",
        ),
    ],
    ids=["site title", "category name", "group name", "series title", "one-off title"],
)
def test_markup_in_a_name_or_title_is_refused_by_the_check(tmp_path, file, old, field):
    """A name or title reaches RSS and OPML text, which many readers treat as HTML: the
    checker refuses < and > there, saying which file and field, and why."""
    folder = tmp_path / "meetings"
    shutil.copytree(EXAMPLES, folder)
    key = old.split(":")[0]
    edit(folder / file, old, f"{key}: {json.dumps(MARKUP)}")
    directory, problems = check_directory(folder)
    assert directory is None
    [problem] = [p for p in problems if not p.warning]
    assert (problem.field or "").endswith(field), str(problem)
    assert problem.file == str(folder / file), str(problem)
    assert "< or >" in str(problem) and "feed readers" in str(problem), str(problem)


TAG = re.compile(r"<[A-Za-z!/?]")


def assert_no_markup(text: str, where: str) -> None:
    assert not TAG.search(text), f"{where}: reads as markup after one decode: {text!r}"


def assert_safe_html(text: str, where: str) -> None:
    fragment = lxml_html.fragment_fromstring(text, create_parent="div")
    live = fragment.xpath("//script | //img | //iframe | //*[@*[starts-with(name(), 'on')]]")
    assert not live, f"{where}: live markup in HTML text"


def check_xml(body: bytes, path: str) -> None:
    """Every element's text and every attribute, once decoded by lxml: text holds nothing
    that reads as markup; an element that holds HTML (Atom content, an RSS item's
    description) holds no live markup."""
    root = etree.fromstring(body, SAFE_XML)
    for element in root.iter():
        for name, value in element.attrib.items():
            assert_no_markup(value, f"{path} <{element.tag} {name}>")
        text, parent = element.text or "", element.getparent()
        holds_html = element.tag == f"{ATOM}content" or (
            element.tag == "description" and parent is not None and parent.tag == "item"
        )
        if holds_html:
            assert_safe_html(text, f"{path} <{element.tag}>")
        else:
            assert_no_markup(text, f"{path} <{element.tag}>")


def check_json(value: object, path: str, key: str = "") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            check_json(v, path, k)
    elif isinstance(value, list):
        for v in value:
            check_json(v, path, key)
    elif isinstance(value, str):
        if key == "content_html":
            assert_safe_html(value, f"{path} {key}")
        elif key != "summary":  # the description, plain text by definition (JSON Feed 1.1)
            assert_no_markup(value, f"{path} {key}")


def check_calendar(body: bytes, path: str) -> None:
    """Names (SUMMARY, NAME, X-WR-CALNAME) are plain: no markup. DESCRIPTION is TEXT by
    definition (RFC 5545 §3.3.11) and may hold what a description holds."""
    calendar = Calendar.from_ical(body)
    for component in calendar.walk():
        for name in ("SUMMARY", "NAME", "X-WR-CALNAME"):
            if name in component:
                assert_no_markup(str(component[name]), f"{path} {name}")


def check_page(body: bytes, path: str) -> None:
    page = lxml_html.document_fromstring(body)
    assert not [s for s in page.iter("script") if "alert" in (s.text or "")], path
    assert not page.xpath("//img | //*[@*[starts-with(name(), 'on')]]"), path
    assert not [a for a in page.iter("a") if a.get("href", "").startswith("javascript:")], path


SITE_TITLE = 'Mad & "Sane" groups – ‘quoted’'
CATEGORY_NAME = "Peer support & 'friends'"


def _hostile_site(doc: dict) -> None:
    doc["title"] = SITE_TITLE
    doc["description"] = HOSTILE
    doc["categories"][0]["name"] = CATEGORY_NAME
    doc["categories"][0]["description"] = HOSTILE


def _hostile_groups(path: Path) -> None:
    edit(path, "name: Riverside Peer Circle (example)", "name: 'Riverside \"Peer\" Circle & co'")
    edit(
        path,
        "      A made-up peer-support circle",
        f"      {HOSTILE} A made-up peer-support circle",
    )
    edit(
        path,
        "how_to_join: Just come along; no need to book.",
        f"how_to_join: {json.dumps(HOSTILE)}",
    )
    edit(
        path,
        "          time: 18:00-20:00\n",
        f"          time: 18:00-20:00\n          description: {json.dumps(HOSTILE)}\n",
    )


def test_hostile_site_and_group_text_reads_as_text_in_every_format(make_app, serve, tmp_path):
    """site.yaml's title and description, a category's name and description and a group's
    fields, with quotes, ampersands and (where allowed) markup: every document of every
    format keeps them as text after one decode."""
    folder = tmp_path / "meetings"
    shutil.copytree(EXAMPLES, folder)
    set_yaml(folder / "site.yaml", _hostile_site)
    _hostile_groups(folder / "peer-support.yaml")
    directory, problems = check_directory(folder)
    assert directory is not None, [str(p) for p in problems]
    server = serve(make_app(data=str(folder)))
    paths = sorted(p for p, doc in server.publisher.current.documents.items() if doc.status == 200)
    kinds = set()
    for path in paths:
        response = server.get(path)
        assert response.status_code == 200, path
        kind = response.headers["Content-Type"].split(";")[0]
        kinds.add(kind)
        if kind in ("application/atom+xml", "application/rss+xml", "text/x-opml"):
            check_xml(response.content, path)
            if kind != "text/x-opml":
                assert feedparser.parse(response.content).bozo == 0, path
        elif kind in ("application/feed+json", "application/json"):
            check_json(json.loads(response.content), path)
        elif kind == "text/calendar":
            check_calendar(response.content, path)
        elif kind == "text/html":
            check_page(response.content, path)
    assert kinds >= {
        "application/atom+xml",
        "application/rss+xml",
        "text/x-opml",
        "application/feed+json",
        "application/json",
        "text/calendar",
        "text/html",
    }
    rss = etree.fromstring(server.get("/feeds/peer-support.rss").content, SAFE_XML)
    channel = rss.find("channel")
    assert channel.findtext("title") == f"{CATEGORY_NAME} – {SITE_TITLE}"
