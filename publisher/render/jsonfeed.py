"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/) of a category or all groups."""

from __future__ import annotations

import json
from typing import Any

from publisher.render.common import Feed, Item, Site, entry_html, rfc3339

VERSION = "https://jsonfeed.org/version/1.1"


def _item(item: Item, site: Site) -> dict[str, Any]:
    group = item.group
    out: dict[str, Any] = {
        "id": item.entry.entry_id,
        "url": site.url(item.page_path),
    }
    if group.website:
        out["external_url"] = group.website
    out["title"] = group.name
    # JSON Feed 1.1: an item must have content_html or content_text; this one always has HTML.
    out["content_html"] = entry_html(item, site)
    if group.description:
        out["summary"] = group.description
    out["date_published"] = rfc3339(item.entry.published)
    out["date_modified"] = rfc3339(item.entry.updated)
    out["tags"] = [item.category.name]
    # Extension (JSON Feed 1.1 "Extensions": keys start with an underscore) for embeds.
    out["_publisher"] = {
        "category": item.category.slug,
        "slug": group.slug,
        "flags": list(group.flags),
        "position": item.position,
    }
    return out


def render(feed: Feed, site: Site) -> bytes:
    """The feed as JSON, keys in a fixed order, UTF-8 (JSON Feed requires UTF-8)."""
    doc: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "home_page_url": site.url(feed.page_path),
        "feed_url": site.url(feed.path("json")),
        "description": feed.description(site.title),
        "authors": [{"name": site.publisher}],
        "language": site.language,
    }
    if site.hubs:
        doc["hubs"] = [{"type": "WebSub", "url": hub} for hub in site.hubs]
    doc["_publisher"] = {"site": site.title}  # for embeds: "See these groups on ..."
    doc["items"] = [_item(item, site) for item in feed.items]
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()
