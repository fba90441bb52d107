"""Every feed checked against its own specification, on real apps served over HTTP.

Atom: RFC 4287. RSS: RSS 2.0 (rssboard.org) with RFC 822 dates. JSON Feed: version 1.1
(https://www.jsonfeed.org/version/1.1/). OPML: version 2.0 (http://opml.org/spec2.opml).
Entry ids: tag: URIs (RFC 4151). Absolute URLs come from PUBLISHER_BASE_URL, never from the
request's Host header; the test server listens on another port, so a URL built from the
request would show.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
import yaml
from lxml import etree
from lxml import html as lxml_html

from publisher.directory.validate import check_directory, load_directory
from tests.conftest import DATA

# --- What the bundled data and the default settings give ------------------------------------

BASE_URL = "http://127.0.0.1:8000"  # PUBLISHER_BASE_URL's default
DIRECTORY = load_directory(DATA)
LANGUAGE = DIRECTORY.site.language
CATEGORIES = [c.slug for c in DIRECTORY.categories]
KEYS = ["all", *CATEGORIES]
FORMATS = ("atom", "rss", "json")
CHANGES = "/feeds/changes.atom"
OPML = "/feeds.opml"
GROUP_FEEDS = [f"/feeds/{key}.{fmt}" for key in KEYS for fmt in FORMATS]
FEEDS = [*GROUP_FEEDS, CHANGES]
XML_FEEDS = [p for p in FEEDS if not p.endswith(".json")]
ATOM_FEEDS = [p for p in FEEDS if p.endswith(".atom")]
RSS_FEEDS = [p for p in FEEDS if p.endswith(".rss")]
JSON_FEEDS = [p for p in FEEDS if p.endswith(".json")]
CONTENT_TYPES = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}

ATOM_NS = "http://www.w3.org/2005/Atom"
A = f"{{{ATOM_NS}}}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
TAG_ID = re.compile(r"^tag:[a-z0-9.-]+,\d{4}-\d{2}-\d{2}:")  # RFC 4151 taggingEntity
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
RFC822 = re.compile(  # RFC 822 §5.1, with the four-digit year RSS 2.0 recommends
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}(:\d{2})? "
    r"([+-]\d{4}|UT|GMT|[ECMP][SD]T)$"
)
JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"

HOSTILE = '<script>alert(1)</script> "quotes" & <img src=x onerror=alert(1)> javascript:alert(1)'
#: A site title and category name as hostile as the checker lets them be (it refuses < and >
#: in names and titles): ampersands, quotes and an entity-like text.
HOSTILE_TITLE = "Mad & \"Sane\" groups – 'quoted' &amp; &lt;b&gt;"
HOSTILE_CATEGORY_NAME = 'Reading & "Teaching" &lt;i&gt; groups'
HOSTILE_SLUG = "my-mad-space"
HOSTILE_CATEGORY = "reading-teaching-learning-groups"


def names_in(key: str) -> set[str]:
    """Names of the groups the bundled data puts in a feed ("all" or a category slug)."""
    groups = DIRECTORY.groups if key == "all" else DIRECTORY.category(key).groups
    return {g.name for g in groups}


def category_of(key: str) -> str | None:
    return None if key == "all" else key


def fmt_of(path: str) -> str:
    return path.rsplit(".", 1)[1]


def page_url(slug: str) -> str:
    return f"{BASE_URL}/groups/{slug}/"


# --- Parsing ---------------------------------------------------------------------------------

SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def parse_xml(body: bytes) -> etree._Element:
    """Well-formed XML or an XMLSyntaxError; entities and DTDs are never fetched."""
    return etree.fromstring(body, SAFE_XML)


def parse_html(fragment: str) -> etree._Element:
    """An HTML fragment (the escaped content of a feed entry) as elements under a <div>."""
    return lxml_html.fragment_fromstring(fragment, create_parent="div")


def assert_feedparser_clean(body: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, f"feedparser: {parsed.get('bozo_exception')!r}"
    return parsed


def is_absolute(url: object) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def rfc3339(text: object) -> datetime:
    """An RFC 3339 date-time, with its offset, or an AssertionError."""
    assert isinstance(text, str) and RFC3339.match(text), f"not RFC 3339: {text!r}"
    return datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))


def in_second(moment: datetime, start: datetime) -> bool:
    """True when ``moment`` falls within the second that begins at ``start``."""
    return start <= moment < start + timedelta(seconds=1)


def rfc822(text: str | None) -> datetime:
    assert text is not None and RFC822.match(text), f"not RFC 822: {text!r}"
    return parsedate_to_datetime(text)


def one(parent: etree._Element, tag: str) -> etree._Element:
    """The only child ``tag`` of ``parent``; fails on none or several."""
    found = parent.findall(tag)
    assert len(found) == 1, f"{len(found)} <{tag}> in <{parent.tag}>, expected exactly 1"
    return found[0]


def text_of(parent: etree._Element, tag: str) -> str:
    text = (one(parent, tag).text or "").strip()
    assert text, f"<{tag}> is empty"
    return text


def alternates(parent: etree._Element) -> list[etree._Element]:
    """atom:link elements whose relation is "alternate" (RFC 4287 §4.2.7.2: also no rel)."""
    return [
        link for link in parent.findall(f"{A}link") if link.get("rel", "alternate") == "alternate"
    ]


def assert_one_alternate_per_type(parent: etree._Element) -> None:
    """RFC 4287 §4.1.1/§4.1.2: no two rel=alternate links with the same type and hreflang."""
    pairs = Counter((link.get("type"), link.get("hreflang")) for link in alternates(parent))
    assert all(n == 1 for n in pairs.values()), f"alternate links repeat: {pairs}"


@dataclass(frozen=True)
class Entry:
    """One entry of any format, reduced to what every format has."""

    id: str
    title: str
    url: str
    content_html: str


def entries_of(fmt: str, body: bytes) -> list[Entry]:
    if fmt == "json":
        return [
            Entry(i["id"], i["title"], i["url"], i.get("content_html", ""))
            for i in json.loads(body)["items"]
        ]
    root = parse_xml(body)
    if fmt == "atom":
        return [
            Entry(
                text_of(e, f"{A}id"),
                text_of(e, f"{A}title"),
                alternates(e)[0].get("href"),
                one(e, f"{A}content").text or "",
            )
            for e in root.iter(f"{A}entry")
        ]
    return [
        Entry(
            text_of(i, "guid"),
            text_of(i, "title"),
            text_of(i, "link"),
            one(i, "description").text or "",
        )
        for i in one(root, "channel").iter("item")
    ]


def fetch(server, path: str, **kwargs: object) -> bytes:  # noqa: ANN001 - conftest.Server
    response = server.get(path, **kwargs)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    return response.content


# --- Editing a copy of the data --------------------------------------------------------------


def edit_group(data_dir: Path, slug: str, **fields: object) -> None:
    """Set fields of one group in its YAML file (the file is rewritten by yaml.safe_dump)."""
    for path in sorted(data_dir.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in doc.get("groups") or []:
            if group["slug"] == slug:
                group.update(fields)
                path.write_text(
                    yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8"
                )
                return
    raise LookupError(slug)


# --- Checkers, one per specification ---------------------------------------------------------


def check_atom(root: etree._Element, path: str, group_feed: bool) -> None:
    """RFC 4287 §4.1.1 (feed), §4.1.2 (entry), §3.3 (dates), plus the publisher's own rules."""
    assert root.tag == f"{A}feed"
    assert root.get(XML_LANG) == LANGUAGE, "xml:lang missing on atom:feed"
    assert TAG_ID.match(text_of(root, f"{A}id"))
    text_of(root, f"{A}title")
    rfc3339(text_of(root, f"{A}updated"))
    feed_authors = [a for a in root.findall(f"{A}author") if a.findtext(f"{A}name", "").strip()]
    links = root.findall(f"{A}link")
    selves = [link.get("href") for link in links if link.get("rel") == "self"]
    assert selves == [BASE_URL + path], f"rel=self {selves}, expected {BASE_URL + path}"
    html_alternates = [link for link in alternates(root) if link.get("type") == "text/html"]
    assert len(html_alternates) == 1 and is_absolute(html_alternates[0].get("href"))
    assert_one_alternate_per_type(root)

    entries = root.findall(f"{A}entry")
    updated = []
    for entry in entries:
        entry_id = text_of(entry, f"{A}id")
        assert TAG_ID.match(entry_id), f"entry id is not a tag: URI: {entry_id}"
        text_of(entry, f"{A}title")
        updated.append(rfc3339(text_of(entry, f"{A}updated")))
        published = rfc3339(text_of(entry, f"{A}published"))
        assert published <= updated[-1], f"{entry_id}: published after updated"
        if not feed_authors:
            assert entry.findtext(f"{A}author/{A}name", "").strip(), f"{entry_id}: no author"
        entry_alternates = alternates(entry)
        assert entry_alternates, f"{entry_id}: no rel=alternate link"
        assert all(is_absolute(link.get("href")) for link in entry_alternates)
        assert_one_alternate_per_type(entry)
        content = one(entry, f"{A}content")
        assert content.get("type") == "html" and content.text
        if group_feed:
            terms = [c.get("term") for c in entry.findall(f"{A}category")]
            assert terms and all(terms), f"{entry_id}: no atom:category with a term"
    assert feed_authors or entries, "atom:feed has no author and no entries"
    ids = [e.findtext(f"{A}id") for e in entries]
    assert len(ids) == len(set(ids)), "two entries share an atom:id"
    assert updated == sorted(updated, reverse=True), "entries are not newest-updated first"


def check_rss(root: etree._Element, path: str, atom_ids: dict[str, str]) -> None:
    """RSS 2.0: required channel and item elements; guid is the Atom id of the same group."""
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = one(root, "channel")
    text_of(channel, "title")
    text_of(channel, "description")
    assert is_absolute(text_of(channel, "link"))
    assert text_of(channel, "language") == LANGUAGE
    selves = [link.get("href") for link in channel.findall(f"{A}link") if link.get("rel") == "self"]
    assert selves == [BASE_URL + path], f"atom:link rel=self {selves}"
    guids = []
    for item in channel.findall("item"):
        title = text_of(item, "title")
        link = text_of(item, "link")
        assert is_absolute(link), f"{title}: link {link!r} is not absolute"
        text_of(item, "description")
        guid = one(item, "guid")
        assert guid.get("isPermaLink") == "false", f"{title}: guid isPermaLink is not false"
        assert guid.text == atom_ids[link], f"{title}: guid differs from the Atom id"
        guids.append(guid.text)
        rfc822(one(item, "pubDate").text)
        categories = [c.text for c in item.findall("category")]
        assert categories and all(c and c.strip() for c in categories), f"{title}: no category"
    assert len(guids) == len(set(guids)), "two items share a guid"


def check_json_feed(doc: object, path: str) -> None:
    """JSON Feed 1.1, top level and items, as the specification words them."""
    assert isinstance(doc, dict)
    assert doc.get("version") == JSONFEED_VERSION
    assert isinstance(doc.get("title"), str) and doc["title"]
    assert is_absolute(doc.get("home_page_url"))
    assert doc.get("feed_url") == BASE_URL + path
    authors = doc.get("authors")
    assert isinstance(authors, list) and authors
    assert all(isinstance(a, dict) and isinstance(a.get("name"), str) for a in authors)
    assert doc.get("language") == LANGUAGE
    if "hubs" in doc:
        hubs = doc["hubs"]
        assert isinstance(hubs, list)
        assert all(
            isinstance(h, dict) and h.get("type") and is_absolute(h.get("url")) for h in hubs
        )
    items = doc.get("items")
    assert isinstance(items, list)
    for item in items:
        assert isinstance(item, dict)
        assert isinstance(item.get("id"), str) and item["id"], f"item id not a string: {item}"
        assert is_absolute(item.get("url")), f"{item['id']}: url not absolute"
        if "external_url" in item:
            assert is_absolute(item["external_url"])
        contents = [item.get(k) for k in ("content_html", "content_text") if k in item]
        assert contents and all(isinstance(c, str) for c in contents), f"{item['id']}: content"
        published = rfc3339(item.get("date_published"))
        assert published <= rfc3339(item.get("date_modified"))
        tags = item.get("tags")
        assert isinstance(tags, list) and tags and all(isinstance(t, str) for t in tags)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)), "two items share an id"


# --- Fixtures ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _default_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules below expect PUBLISHER_BASE_URL's default, whatever the shell has set."""
    monkeypatch.delenv("PUBLISHER_BASE_URL", raising=False)
    monkeypatch.delenv("PUBLISHER_TAG_AUTHORITY", raising=False)


def edit_site(data_dir: Path, category: str | None = None, **fields: object) -> None:
    """Set fields of site.yaml, or of one of its categories."""
    path = data_dir / "site.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    target = (
        doc if category is None else next(c for c in doc["categories"] if c["slug"] == category)
    )
    target.update(fields)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def hostile(data_dir, make_app, serve):  # noqa: ANN001, ANN201
    """The bundled data with HOSTILE as one group's description, the site's description
    and a category's, and the hostile title and category name, served."""
    edit_group(data_dir, HOSTILE_SLUG, description=HOSTILE)
    edit_site(data_dir, title=HOSTILE_TITLE, description=HOSTILE)
    edit_site(data_dir, HOSTILE_CATEGORY, name=HOSTILE_CATEGORY_NAME, description=HOSTILE)
    assert check_directory(data_dir)[0] is not None, "the hostile text must be accepted"
    return serve(make_app())


# --- 1. Every feed is well-formed --------------------------------------------------------------


@pytest.mark.parametrize("path", FEEDS)
def test_every_feed_is_well_formed(server, path):
    """XML feeds parse with lxml and feedparser (bozo 0); JSON Feed is JSON (RFC 8259)."""
    response = server.get(path)
    assert response.status_code == 200
    fmt = fmt_of(path)
    assert response.headers["Content-Type"] == f"{CONTENT_TYPES[fmt]}; charset=utf-8"
    if fmt == "json":
        json.loads(response.content)
    else:
        parse_xml(response.content)
        assert_feedparser_clean(response.content)


# --- 2. Atom (RFC 4287) ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ATOM_FEEDS)
def test_atom_feed_follows_rfc4287(server, path):
    """RFC 4287 §4.1.1/§4.1.2 with RFC 3339 dates and RFC 4151 tag: ids; self link absolute."""
    check_atom(parse_xml(fetch(server, path)), path, group_feed=path != CHANGES)


@pytest.mark.parametrize("fmt", FORMATS)
def test_self_url_comes_from_settings_not_from_host_header(server, fmt):
    """Absolute URLs start with PUBLISHER_BASE_URL even when the request names another host."""
    path = f"/feeds/all.{fmt}"
    body = fetch(server, path, headers={"Host": "evil.example:4444"})
    assert b"evil.example" not in body
    assert server.url.encode() not in body  # the test server's own port
    assert f'"{BASE_URL}{path}"'.encode() in body


@pytest.mark.parametrize("fmt", FORMATS)
def test_base_url_setting_is_used_for_every_absolute_url(make_app, serve, fmt):
    """PUBLISHER_BASE_URL (trailing slash dropped) prefixes the self URL and entry URLs."""
    server = serve(make_app(base_url="https://groups.example.org/"))
    path = f"/feeds/all.{fmt}"
    body = fetch(server, path)
    assert f'"https://groups.example.org{path}"'.encode() in body
    assert BASE_URL.encode() not in body
    urls = [e.url for e in entries_of(fmt, body)]
    assert urls and all(u.startswith("https://groups.example.org/groups/") for u in urls)


@pytest.mark.parametrize("fmt", FORMATS)
def test_edited_group_moves_to_the_top(data_dir, make_app, serve, clock, fmt):
    """Feeds list the most recently updated entry first, and only the edited entry is
    updated (Atom rules re-run on mixed dates)."""
    server = serve(make_app())
    clock.advance(days=2)
    edited = clock.now  # the load's changes fall within the second it starts in
    slug = "hamilton-mad-students-collective"
    edit_group(data_dir, slug, description="A peer support and advocacy community, Canada.")
    result = server.publisher.reload()
    for key in ("all", HOSTILE_CATEGORY):
        path = f"/feeds/{key}.{fmt}"
        body = fetch(server, path)
        entries = entries_of(fmt, body)
        assert len(entries) == len(names_in(key))
        assert entries[0].url == page_url(slug), f"{path}: edited group is not first"
        if fmt == "rss":
            continue
        if fmt == "atom":
            root = parse_xml(body)
            check_atom(root, path, group_feed=True)
            assert in_second(rfc3339(root.findtext(f"{A}updated")), edited)
            dates = [rfc3339(e.findtext(f"{A}updated")) for e in root.iter(f"{A}entry")]
        else:
            dates = [rfc3339(i["date_modified"]) for i in json.loads(body)["items"]]
        assert in_second(dates[0], edited)
        assert all(d < edited for d in dates[1:]), f"{path}: untouched entries moved"
    assert result.changes == 1, f"one edit recorded as {result.changes} changes"


@pytest.mark.parametrize("key", ["all", HOSTILE_CATEGORY])
def test_atom_entry_links_keep_their_rel_and_type(data_dir, make_app, serve, key):
    """RFC 4287 §4.1.2: one rel=alternate link per type; a group's own website is
    rel="related", not a second alternate; the page link keeps type="text/html"."""
    slug, website = HOSTILE_SLUG, "https://example.org/my-mad-space"
    edit_group(data_dir, slug, links=[{"url": website, "label": "Website"}])
    server = serve(make_app())
    body = fetch(server, f"/feeds/{key}.atom")
    # The links are plain Atom elements: no stray prefix (the W3C validator warns of ns0:).
    assert b"xmlns:ns" not in body and b"<ns0:" not in body
    root = parse_xml(body)
    entry = next(e for e in root.iter(f"{A}entry") if e.findtext(f"{A}id").endswith(slug))
    links = [(x.get("rel"), x.get("type"), x.get("href")) for x in entry.findall(f"{A}link")]
    assert ("alternate", "text/html", page_url(slug)) in links, links
    assert ("related", None, website) in links, links
    assert_one_alternate_per_type(entry)


# --- 3. RSS 2.0 --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", RSS_FEEDS)
def test_rss_feed_follows_rss_2_0(server, path):
    """RSS 2.0 channel/item elements, RFC 822 pubDate, guid = the Atom entry's tag: id."""
    atom = entries_of("atom", fetch(server, path.replace(".rss", ".atom")))
    check_rss(parse_xml(fetch(server, path)), path, {e.url: e.id for e in atom})


@pytest.mark.parametrize("key", KEYS)
def test_rss_dates_match_atom_dates(server, key):
    """RSS pubDate is the Atom entry's published time, in RFC 822 form (whole seconds)."""
    atom = parse_xml(fetch(server, f"/feeds/{key}.atom"))
    published = {
        e.findtext(f"{A}id"): rfc3339(e.findtext(f"{A}published")) for e in atom.iter(f"{A}entry")
    }
    rss = parse_xml(fetch(server, f"/feeds/{key}.rss"))
    items = list(rss.iter("item"))
    assert len(items) == len(published)
    for item in items:
        atom_published = published[item.findtext("guid")].replace(microsecond=0)
        assert rfc822(item.findtext("pubDate")) == atom_published


# --- 4. JSON Feed 1.1 --------------------------------------------------------------------------


@pytest.mark.parametrize("path", JSON_FEEDS)
def test_json_feed_follows_version_1_1(server, path):
    """JSON Feed 1.1: version, title, absolute URLs, authors, language, items with ids."""
    check_json_feed(json.loads(fetch(server, path)), path)


# --- 5. OPML 2.0 -------------------------------------------------------------------------------


def opml_outlines(server) -> list[etree._Element]:  # noqa: ANN001
    root = parse_xml(fetch(server, OPML))
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert text_of(one(root, "head"), "title")
    return list(one(root, "body").iter("outline"))


def test_opml_follows_opml_2_0(server):
    """OPML 2.0: every outline has text; subscriptions are type="rss" with an absolute xmlUrl;
    the all-groups feed and calendars are never listed."""
    outlines = opml_outlines(server)
    assert outlines
    assert all(o.get("text") for o in outlines), "an outline without text"
    feeds = [o for o in outlines if o.get("xmlUrl") is not None]
    assert all(o.get("type") == "rss" and is_absolute(o.get("xmlUrl")) for o in feeds)
    urls = Counter(o.get("xmlUrl") for o in feeds)
    assert all(n == 1 for n in urls.values()), urls
    assert not any(u.startswith(f"{BASE_URL}/feeds/all.") for u in urls)
    body = fetch(server, OPML)
    assert b".ics" not in body


@pytest.mark.parametrize("category", CATEGORIES)
def test_opml_lists_each_category_atom_feed_once(server, category):
    """Importing the OPML subscribes to each category's Atom feed exactly once."""
    urls = [o.get("xmlUrl") for o in opml_outlines(server)]
    assert urls.count(f"{BASE_URL}/feeds/{category}.atom") == 1
    assert not [
        u for u in urls if u and f"/feeds/{category}." in u and u.endswith((".rss", ".json"))
    ]


def test_opml_changes_feed_has_an_outline_of_its_own(server):
    """The changes feed is listed once, in a parent outline holding no other feed."""
    outlines = opml_outlines(server)
    changes = [o for o in outlines if o.get("xmlUrl") == BASE_URL + CHANGES]
    assert len(changes) == 1
    siblings = [o for o in changes[0].getparent() if o is not changes[0]]
    assert not [o for o in siblings if o.get("xmlUrl")], "changes feed shares its outline"


# --- 6. Content --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("key", KEYS)
def test_feed_lists_exactly_its_groups(server, key, fmt):
    """The all-groups feed has all 13 groups; a category feed has its groups and no other;
    titles are the group names as in the data."""
    entries = entries_of(fmt, fetch(server, f"/feeds/{key}.{fmt}"))
    titles = [e.title for e in entries]
    assert sorted(titles) == sorted(names_in(key))
    if key == "all":
        assert len(titles) == len(DIRECTORY.groups) == 13
    slugs = {g.slug for g in (DIRECTORY.groups if key == "all" else DIRECTORY.category(key).groups)}
    assert {e.url for e in entries} == {page_url(s) for s in slugs}


@pytest.mark.parametrize("key", KEYS)
def test_a_group_has_the_same_id_in_every_format(server, key):
    """One group, one id: Atom atom:id = RSS guid = JSON Feed item id (a tag: URI)."""
    ids = {
        fmt: {e.url: e.id for e in entries_of(fmt, fetch(server, f"/feeds/{key}.{fmt}"))}
        for fmt in FORMATS
    }
    assert ids["atom"] == ids["rss"] == ids["json"]
    assert all(TAG_ID.match(i) for i in ids["atom"].values())


@pytest.mark.parametrize("fmt", FORMATS)
def test_all_feed_and_category_feed_agree_on_ids(server, fmt):
    """A group's id in the all-groups feed is its id in its category's feed."""
    everything = {e.url: e.id for e in entries_of(fmt, fetch(server, f"/feeds/all.{fmt}"))}
    for category in CATEGORIES:
        for e in entries_of(fmt, fetch(server, f"/feeds/{category}.{fmt}")):
            assert everything[e.url] == e.id


# --- 7. Hostile data ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*FEEDS, OPML])
def test_hostile_text_keeps_every_feed_well_formed(hostile, path):
    """Markup and quotes in the data never break XML (lxml, feedparser bozo 0) or JSON."""
    body = fetch(hostile, path)
    if path.endswith(".json"):
        json.loads(body)
        return
    parse_xml(body)
    if path != OPML:
        assert_feedparser_clean(body)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("key", ["all", HOSTILE_CATEGORY])
def test_hostile_description_round_trips_as_text(hostile, key, fmt):
    """The entry's HTML, unescaped once by the format's parser, holds the description as
    escaped text: the HTML parser gives it back exactly, with no script, img or on* handler."""
    body = fetch(hostile, f"/feeds/{key}.{fmt}")
    entry = next(e for e in entries_of(fmt, body) if e.url == page_url(HOSTILE_SLUG))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in entry.content_html
    assert "<script" not in entry.content_html and "<img" not in entry.content_html
    fragment = parse_html(entry.content_html)
    assert fragment.find("p").text_content() == HOSTILE
    assert not fragment.xpath("//script | //img | //*[@*[starts-with(name(), 'on')]]")
    assert not [a for a in fragment.iter("a") if a.get("href", "").startswith("javascript:")]
    if fmt == "json":
        item = next(i for i in json.loads(body)["items"] if i["id"] == entry.id)
        assert item["summary"] == HOSTILE
    else:
        assert_feedparser_clean(body)


@pytest.mark.parametrize(
    "path", [f"/groups/{HOSTILE_SLUG}/", f"/categories/{HOSTILE_CATEGORY}/", "/"]
)
def test_hostile_description_is_text_on_html_pages(hostile, path):
    """HTML pages escape the description: no live script, and the text reads back exactly."""
    response = hostile.get(path)
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert "<img src=x" not in response.text
    page = lxml_html.document_fromstring(response.content)
    assert not [s for s in page.iter("script") if "alert" in (s.text or "")]
    assert not page.xpath("//img[@onerror] | //*[@*[starts-with(name(), 'on')]]")
    if path.startswith("/groups/"):
        assert page.xpath("//meta[@name='description']/@content") == [HOSTILE]
        assert HOSTILE in [p.text_content() for p in page.iter("p")]


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<b>x</b>", "//x.org"]
)
def test_links_that_are_not_web_addresses_are_refused(data_dir, url):
    """Only http(s) links are published: the loader names the group and field links[0].url."""
    edit_group(data_dir, HOSTILE_SLUG, links=[{"url": url, "label": "Click"}])
    directory, problems = check_directory(data_dir)
    assert directory is None
    assert [(p.group, p.field) for p in problems if not p.warning] == [
        (HOSTILE_SLUG, "links[0].url")
    ], [str(p) for p in problems]


# --- 8. Determinism ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*FEEDS, OPML])
def test_fresh_apps_render_byte_identical_feeds(make_app, serve, tmp_path, path):
    """Same data and clock, two fresh databases: the same bytes (so the same ETags)."""
    first = serve(make_app(database=str(tmp_path / "first" / "publisher.sqlite3")))
    second = serve(make_app(database=str(tmp_path / "second" / "publisher.sqlite3")))
    one_body, other_body = first.get(path), second.get(path)
    assert one_body.status_code == other_body.status_code == 200
    assert one_body.content == other_body.content
    assert one_body.headers["ETag"] == other_body.headers["ETag"]


@pytest.mark.parametrize("fmt", [*FORMATS, "opml"])
def test_hostile_site_title_and_category_name_are_text_after_one_decode(hostile, fmt):
    """The site title and a category name reach RSS and OPML text, which their specs do
    not say is not HTML, and which many readers take as HTML: they read back exactly, and
    nothing in them reads as markup once decoded (the checker keeps < and > out of names
    and titles). Atom text constructs and JSON Feed titles too."""
    title = f"{HOSTILE_CATEGORY_NAME} – {HOSTILE_TITLE}"
    about = f"New and changed entries for the groups in {HOSTILE_CATEGORY_NAME} in {HOSTILE_TITLE}."
    body = fetch(hostile, OPML if fmt == "opml" else f"/feeds/{HOSTILE_CATEGORY}.{fmt}")
    if fmt == "opml":
        root = parse_xml(body)
        texts = [o.get("text") for o in root.iter("outline")] + [root.findtext("head/title")]
        assert HOSTILE_CATEGORY_NAME in texts and f"What changed – {HOSTILE_TITLE}" in texts
        labels = [HOSTILE_CATEGORY_NAME]
    elif fmt == "json":
        doc = json.loads(body)
        texts = [doc["title"], doc["description"]]
        labels = [t for item in doc["items"] for t in item["tags"]]
    else:
        parsed = assert_feedparser_clean(body)
        assert parsed.feed.title == title
        assert {t.get("label") or t.term for e in parsed.entries for t in e.tags} <= {
            HOSTILE_CATEGORY_NAME,
            HOSTILE_CATEGORY,
        }
        if fmt == "rss":
            channel = one(parse_xml(body), "channel")
            texts = [channel.findtext("title"), channel.findtext("description")]
            labels = [c.text for c in channel.iter("category")]
        else:
            root = parse_xml(body)
            texts = [root.findtext(f"{A}title"), root.findtext(f"{A}subtitle")]
            labels = [c.get("label") for c in root.iter(f"{A}category")]
    if fmt != "opml":
        assert texts == [title, about]
    assert labels and set(labels) == {HOSTILE_CATEGORY_NAME}
    assert not [t for t in texts + labels if "<" in t or ">" in t]
