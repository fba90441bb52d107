"""The HTML pages: every group shown as published, semantic and accessible markup."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import html
from markupsafe import Markup, escape

from publisher.directory.validate import load_directory
from publisher.render import html as rendering
from publisher.version import render_version
from tests.conftest import DATA

DIRECTORY = load_directory(DATA)
PAGES = [
    "/",
    "/subscribe/",
    "/groups/north-east-mad-studies-forum/",
    *[f"/categories/{c.slug}/" for c in DIRECTORY.categories],
    *[f"/subscribe/{c.slug}/" for c in DIRECTORY.categories],
]


def parse(server, path):
    response = server.get(path)
    assert response.status_code == 200
    return html.fromstring(response.content)


@pytest.mark.parametrize("path", PAGES)
def test_page_structure(server, path):
    """WCAG 2.2: language, landmarks, one h1, a working skip link, a title."""
    doc = parse(server, path)
    assert doc.get("lang") == "en-GB"
    assert len(doc.xpath("//h1")) == 1
    assert len(doc.xpath("//main[@id='main']")) == 1
    assert doc.xpath("//header") and doc.xpath("//footer") and doc.xpath("//nav[@aria-label]")
    skip = doc.xpath("//body/a[1]")[0]
    assert skip.get("href") == "#main"
    assert doc.findtext(".//title").strip()
    assert doc.xpath("//meta[@name='viewport']")


@pytest.mark.parametrize("path", PAGES)
def test_no_third_party_requests_and_nothing_inline(server, path):
    """No request leaves this site; no inline script or style (the CSP forbids them)."""
    doc = parse(server, path)
    for element in doc.xpath("//script|//link[@rel='stylesheet']|//img|//iframe"):
        url = element.get("src") or element.get("href")
        assert url.startswith("/"), url
    assert all(script.get("src") for script in doc.xpath("//script"))
    assert not doc.xpath("//style|//*[@style]|//*[@onclick]")


def test_home_lists_every_group_under_its_category(server):
    doc = parse(server, "/")
    for category in DIRECTORY.categories:
        section = doc.xpath(f"//section[@aria-labelledby='{category.slug}']")[0]
        assert section.xpath(".//h2")[0].text_content() == category.name
        names = [a.text_content() for a in section.xpath(".//h3/a")]
        assert names == [g.name for g in category.groups]
    assert len(doc.xpath("//section//h3/a")) == 13


@pytest.mark.parametrize("category", DIRECTORY.categories, ids=lambda c: c.slug)
def test_category_page_lists_its_groups_and_autodiscovers_its_feeds(server, category):
    doc = parse(server, f"/categories/{category.slug}/")
    assert [a.text_content() for a in doc.xpath("//h3/a")] == [g.name for g in category.groups]
    alternates = {link.get("href") for link in doc.xpath("//link[@rel='alternate']")}
    assert alternates == {
        f"http://127.0.0.1:8000/feeds/{category.slug}.{fmt}" for fmt in ("atom", "rss", "json")
    } | {f"http://127.0.0.1:8000/calendars/{category.slug}.ics"}
    subscribe = doc.xpath("//p[@class='subscribe']/a")[0]
    assert subscribe.get("href") == f"/subscribe/{category.slug}/"


@pytest.mark.parametrize("group", DIRECTORY.groups, ids=lambda g: g.slug)
def test_group_page_shows_the_description_exactly(server, group):
    doc = parse(server, f"/groups/{group.slug}/")
    assert doc.xpath("//h1")[0].text_content() == group.name
    text = doc.text_content()
    if group.description:
        assert doc.xpath("//p[@class='description']")[0].text_content() == group.description
    else:
        assert "No description has been published for this group." in text


def test_incomplete_email_is_shown_as_published_and_never_linked(server):
    page = server.get("/groups/north-east-mad-studies-forum/").text
    doc = html.fromstring(page)
    assert "v.e.potts’at’" in doc.text_content()
    assert "@stigmaresearch" in doc.text_content()
    assert not doc.xpath("//a[starts-with(@href, 'mailto:')]")
    assert not doc.xpath("//a[contains(@href, 'twitter.com') or contains(@href, 'x.com')]")
    assert "Meets bi-monthly, as the source page puts it." in doc.text_content()
    assert "(worked out from the source page, not stated on it)" in doc.text_content()


def test_subscribe_page_lists_every_format_and_reader(server):
    doc = parse(server, "/subscribe/facebook-groups/")
    urls = [code.text_content() for code in doc.xpath("//ul[@class='feeds']//code")]
    assert urls == [
        f"http://127.0.0.1:8000/feeds/facebook-groups.{fmt}" for fmt in ("atom", "rss", "json")
    ]
    readers = [dt.text_content() for dt in doc.xpath("//dl[@class='readers']/dt")]
    assert readers == ["NetNewsWire", "Feedly", "Inoreader", "Thunderbird", "Miniflux"]
    # The copy buttons only appear with JavaScript; without it the addresses are there to copy.
    assert all(button.get("hidden") is not None for button in doc.xpath("//button"))


def test_every_subscribe_link_leads_to_a_subscribe_page(server):
    for path in ["/", *[f"/categories/{c.slug}/" for c in DIRECTORY.categories]]:
        doc = parse(server, path)
        feeds = "//a[contains(., 'Subscribe')][not(ancestor::section[@class='calendar'])]"
        links = [a.get("href") for a in doc.xpath(feeds)]
        assert links and all(link.startswith("/subscribe/") for link in links)


def test_home_lists_at_most_fifty_groups_of_a_category_and_links_to_the_rest(
    data_dir, make_app, serve
):
    """A home page of every group of a large directory would be megabytes, on a phone too:
    it shows the first 50 of each category and links to the category's page for all."""
    groups = "".join(f"  - slug: group-{n}\n    name: Group {n}\n" for n in range(60))
    (data_dir / "community-groups.yaml").write_text(
        f"category: community-groups\ngroups:\n{groups}", encoding="utf-8"
    )
    server = serve(make_app())
    doc = parse(server, "/")
    section = doc.xpath("//section[@aria-labelledby='community-groups']")[0]
    assert [a.text_content() for a in section.xpath(".//h3/a")] == [f"Group {n}" for n in range(50)]
    more = section.xpath(".//p[@class='more']/a")[0]
    assert more.get("href") == "/categories/community-groups/"
    assert more.text_content() == "See all 60 groups in Community Groups"
    category = parse(server, "/categories/community-groups/")
    assert len(category.xpath("//h3/a")) == 60


@given(st.one_of(st.text(), st.integers(), st.none(), st.builds(Markup, st.text())))
def test_templates_escape_output_exactly_as_markupsafe_does(value):
    """Pages escape {{ value }} without making a Markup of each string; the text must be
    markupsafe's to the byte, with its C speed-up and without it."""
    expected = str(escape(value))
    assert str(rendering.output_escape(value)) == expected
    if type(value) is str:
        assert rendering._escape_text(value) == expected  # noqa: SLF001 - the fallback


@given(st.text())
def test_what_a_template_outputs_is_escaped(text):
    """The compiled templates call our escape: what they output is still escaped."""
    template = rendering.environment().from_string("<p title='{{ v }}'>{{ v }}</p>")
    assert template.render(v=text) == f"<p title='{escape(text)}'>{escape(text)}</p>"
    assert template.render(v=Markup("<b>")) == "<p title='<b>'><b></p>"  # marked safe


def test_compiled_templates_are_kept_per_version_of_the_code():
    """Jinja checks a cached template against its source, not against the options it was
    compiled with: the cache's names carry the code's version, so new code compiles anew."""
    cache = rendering.environment().bytecode_cache
    assert cache is not None
    assert render_version()[:16] in cache.pattern  # type: ignore[attr-defined]
