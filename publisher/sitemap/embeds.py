"""What other sites embed: the script, the next meetings as JSON, and the pages for frames
(/embed/all, /embed/<category>, /embed/meetings), which any site may frame."""

from __future__ import annotations

from collections.abc import Iterator

from publisher import urls
from publisher.model.publication import Kind
from publisher.render import embed, html
from publisher.render.common import HTML_TYPE
from publisher.sitemap.assets import STATIC_TYPES, file_bytes
from publisher.sitemap.context import Document, Load
from publisher.sitemap.pages import page

SCRIPT = html.TEMPLATES / "embed" / "v1.js"
JSON_TYPE = "application/json; charset=utf-8"
#: Meetings the embedded "next meetings" list shows.
EMBED_MEETINGS = 10


def documents(load: Load) -> Iterator[Document]:
    site, history = load.site, load.history
    yield Document(
        urls.EMBED_SCRIPT(),
        Kind.EMBED_DATA,
        STATIC_TYPES[".js"],
        file_bytes,
        (SCRIPT.read_bytes(),),
        history.created,
    )
    groups = load.with_meetings
    chosen = [(groups[slug], o) for slug, o in load.cal.soon.next(EMBED_MEETINGS)]
    yield Document(
        urls.EMBED_MEETINGS_DATA(),
        Kind.EMBED_DATA,
        JSON_TYPE,
        embed.meetings_json,
        (chosen, site),
        history.newest(),
    )
    yield Document(
        urls.EMBED_MEETINGS(),
        Kind.EMBED_PAGE,
        HTML_TYPE,
        page,
        (
            "embed.html",
            {
                "heading": "Next meetings",
                "next_meetings": chosen,
                "page": urls.HOME(),
                "what": "all the groups",
                "site": site,
            },
        ),
        history.newest(),
    )
    for feed in load.feeds:
        category = feed.category
        # The groups the script embed shows too: the feed's (at most FEED_MAX_ENTRIES, the
        # most recently changed), in directory order. A page of 10,000 would help no one.
        members = [i.group for i in sorted(feed.items, key=lambda i: i.position)]
        yield Document(
            urls.EMBED(feed.key),
            Kind.EMBED_PAGE,
            HTML_TYPE,
            page,
            (
                "embed.html",
                {
                    "heading": category.name if category else site.title,
                    "groups": members,
                    "page": feed.page_path,
                    "what": "these groups" if category else "all the groups",
                    "site": site,
                },
            ),
            feed.updated,
        )
