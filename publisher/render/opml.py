"""OPML 2.0 (http://opml.org/spec2.opml) subscription list.

Each category's Atom feed is listed once (not the all-groups feed too), so importing the file
subscribes to every group exactly once; the changes feed has an outline of its own. Calendars
are not listed: feed readers would try to read them as feeds. There is no dateModified: the
list changes only when the categories do, not with every edit of a group.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from publisher.render.common import Site
from publisher.urls import CATEGORY, CHANGES, FEED, HOME


def render(categories: Sequence[tuple[str, str]], site: Site) -> bytes:
    """The list, given each category's slug and name, in the directory's order."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{site.title}: feeds"
    etree.SubElement(head, "ownerName").text = site.publisher
    etree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = etree.SubElement(root, "body")
    groups = etree.SubElement(body, "outline", text=f"{site.title}, by category")
    for slug, name in categories:
        etree.SubElement(
            groups,
            "outline",
            type="rss",
            text=name,
            title=name,
            xmlUrl=site.url(FEED(slug, "atom")),
            htmlUrl=site.url(CATEGORY(slug)),
        )
    changes = etree.SubElement(body, "outline", text="What changed")
    etree.SubElement(
        changes,
        "outline",
        type="rss",
        text=f"What changed – {site.title}",
        title=f"What changed – {site.title}",
        xmlUrl=site.url(CHANGES()),
        htmlUrl=site.url(HOME()),
    )
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
