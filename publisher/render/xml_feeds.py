"""Atom 1.0 (RFC 4287) and RSS 2.0 feeds of groups, built with feedgen.

feedgen fills in the current time and its own generator unless told otherwise; every such
field is set here from the history so the same data gives the same bytes.
"""

from __future__ import annotations

from datetime import datetime

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from publisher.render.common import GENERATOR, Feed, Item, Site, entry_html
from publisher.urls import CATEGORY_SCHEME

ATOM_NS = "http://www.w3.org/2005/Atom"


class WebSubExtension(BaseExtension):
    """Adds ``atom:link rel="hub"`` (WebSub §4) to RSS, where feedgen writes only rel=self.

    In Atom the hub links are ordinary links (see ``generator``); registering this for RSS
    only keeps a needless ``atom:`` prefix out of Atom documents.
    """

    def __init__(self) -> None:
        self.hubs: tuple[str, ...] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"atom": ATOM_NS}

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        channel = feed.find("channel")
        for hub in self.hubs:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=hub, rel="hub")
        return feed


class EntryLinksExtension(BaseEntryExtension):
    """Writes an Atom entry's links with their rel and type (RFC 4287 §4.2.7).

    feedgen 1.0.0 drops every attribute but href from entry links (lkiesow/python-feedgen#135),
    which turns a group's website, meant as rel="related", into a second rel="alternate".
    RSS keeps feedgen's own <link>, which is right.
    """

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        # feedgen builds entries without a namespace; the feed's default xmlns covers them.
        for broken in entry.findall("link"):
            entry.remove(broken)
        for link in self.links:
            etree.SubElement(entry, "link", link)
        return entry


def generator(
    feed_id: str,
    title: str,
    subtitle: str,
    self_url: str,
    html_url: str,
    updated: datetime,
    site: Site,
) -> FeedGenerator:
    """A FeedGenerator with every feed-level field set, none left to feedgen's defaults."""
    fg = FeedGenerator()
    fg.register_extension("websub", WebSubExtension, None, atom=False, rss=True)
    fg.websub.hubs = site.hubs
    fg.id(feed_id)
    fg.title(title)
    fg.subtitle(subtitle)  # RSS requires a description; Atom shows it as the subtitle
    fg.author({"name": site.publisher})
    fg.language(site.language)
    fg.generator(GENERATOR)
    fg.updated(updated)
    fg.link(href=self_url, rel="self")
    for hub in site.hubs:
        fg.link(href=hub, rel="hub")
    fg.link(href=html_url, rel="alternate", type="text/html")  # the last is RSS <link>
    return fg


def _group_feed(feed: Feed, site: Site, fmt: str) -> FeedGenerator:
    fg = generator(
        feed_id=f"{site.tag_base}feeds/{feed.key}",
        title=feed.title,
        subtitle=feed.description(site.title),
        self_url=site.url(feed.path(fmt)),
        html_url=site.url(feed.page_path),
        updated=feed.updated,
        site=site,
    )
    for item in feed.items:
        _entry(fg, item, site)
    return fg


def entry_links(fe: FeedEntry, links: list[dict[str, str]]) -> None:
    """Set an entry's links: all of them in Atom, the alternate one as RSS <link>."""
    fe.link(href=links[0]["href"], rel="alternate")
    fe.register_extension("links", EntryLinksExtension, atom=True, rss=False)
    fe.links.links = links


def _entry(fg: FeedGenerator, item: Item, site: Site) -> None:
    fe = fg.add_entry(order="append")
    fe.id(item.entry.entry_id)
    fe.title(item.group.name)
    fe.content(entry_html(item, site), type="html")
    links = [{"href": site.url(item.page_path), "rel": "alternate", "type": "text/html"}]
    if item.group.website:
        links.append({"href": item.group.website, "rel": "related"})
    entry_links(fe, links)
    scheme = site.url(CATEGORY_SCHEME())
    fe.category(term=item.category.slug, label=item.category.name, scheme=scheme)
    fe.published(item.entry.published)
    fe.updated(item.entry.updated)


def atom(feed: Feed, site: Site) -> bytes:
    """RFC 4287 feed of a category (or all groups)."""
    return _group_feed(feed, site, "atom").atom_str(pretty=True)


def rss(feed: Feed, site: Site) -> bytes:
    """RSS 2.0 feed of a category (or all groups); each guid is the entry's tag: id."""
    return _group_feed(feed, site, "rss").rss_str(pretty=True)
