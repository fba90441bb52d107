"""The feeds: all groups and each category in Atom, RSS and JSON Feed, and the changes feed.

Each is a WebSub topic. A feed holds at most FEED_MAX_ENTRIES groups; a helper process may
render it, given only what it shows (``portable_feed``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from publisher import urls
from publisher.model.history import History
from publisher.model.publication import Kind
from publisher.render import changes, jsonfeed, xml_feeds
from publisher.render.common import FORMATS, Item
from publisher.sitemap.context import Document, Load, digest

RENDERERS = {"atom": xml_feeds.atom, "rss": xml_feeds.rss, "json": jsonfeed.render}


def documents(load: Load) -> Iterator[Document]:
    history = load.history
    for feed in load.feeds:
        # Keyed on the history's markers, not on its 100 entries (see Load.listing).
        key = digest(load.listing, feed.key, load.marker(feed))
        arguments = partial(load.portable_feed, feed.key)
        for fmt, render in RENDERERS.items():
            yield Document(
                urls.FEED(feed.key, fmt),
                Kind.FEED,
                FORMATS[fmt],
                render,
                arguments,
                feed.updated,
                key=key,
                portable=True,
            )
    yield Document(
        urls.CHANGES(),
        Kind.FEED,
        FORMATS["atom"],
        changes.render,
        _changes_arguments(history, load),
        history.newest(),
        portable=True,
    )


def _changes_arguments(history: History, load: Load) -> tuple[object, ...]:
    """The changes feed's arguments: the groups its changes name, as they are published
    now (it shows what each changed field holds), and nothing more."""
    named = {c.entry for c in history.changes}
    items: list[Item] = load.items
    current = {i.entry.id: i.group for i in items if i.entry.id in named}
    names = {c.slug: c.name for c in load.directory.categories}
    return (history.changes, names, history.newest(), load.site, current)
