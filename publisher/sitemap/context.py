"""What a format module declares (a ``Document``), and the load it declares them from.

A ``Load`` holds one load's inputs (the directory, its history, the site's settings, the
calendars' events) and what several formats derive from them, each made once, when first
asked for. ``Memo`` is what one load keeps for the next.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, NamedTuple

from markupsafe import Markup

from publisher import calendars
from publisher.model.directory import Directory, Group
from publisher.model.history import Entry, History
from publisher.model.publication import Kind
from publisher.render import html
from publisher.render.common import Feed, Item, Site, feeds_of, items_of, portable_feed
from publisher.version import render_version


class Document(NamedTuple):
    """One document, as its format module declares it: its address (from publisher.urls),
    kind and type, and how it is made: a pure module-level function and its arguments.

    The build derives its key from the arguments; a hand-made ``key`` stands in only where
    that would cost the one-field-edit goal (tests/test_document_keys.py checks that any
    change of the arguments changes it). A named tuple: 20,000 are listed per load at
    10,000 groups."""

    path: str
    kind: Kind
    content_type: str
    render: Callable[..., bytes]
    #: The render's arguments; with a hand-made key, a function that makes them, called
    #: only when the document is rendered (an edit lists 10,000 group pages, renders one).
    args: tuple[Any, ...] | Callable[[], tuple[Any, ...]]
    #: The newest change of its inputs: its Last-Modified.
    changed: datetime
    key: str | None = None
    status: int = 200
    location: str | None = None
    #: Its arguments are small and picklable: a helper process may render it.
    portable: bool = False

    def arguments(self) -> tuple[Any, ...]:
        return self.args() if callable(self.args) else self.args


def digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def derived_key(document: Document) -> str:
    """The key of everything the document is made from: the code (templates included), the
    function, the status and redirect, and the arguments."""
    if callable(document.args):  # its repr would be a new address at every load
        raise TypeError(f"{document.path}: arguments made when rendered need a hand-made key")
    render = document.render
    return digest(
        render_version(),
        render.__module__,
        render.__qualname__,
        document.status,
        document.location,
        document.args,
    )


def _item_key(base: str, item: Item) -> str:
    """Everything a group's page and list entry show, as text (cheaper than hashing, and
    10,000 of them are made per load): its content's fingerprint, its dates and place."""
    e = item.entry
    return (
        f"{base}|{e.entry_id}|{e.fingerprint}|{e.published.timestamp()}|"
        f"{e.updated.timestamp()}|{e.slug}|{item.category.slug}|{item.category.name}"
    )


@dataclass
class Memo:
    """What one build keeps for the next, owned by the Publisher: each event's VEVENT, and
    each group's key with the history entry it was made from. History entries are kept
    between loads unless they change, so an entry that is the same object as last time
    gives the same key, without making it again for each of 10,000 groups."""

    blocks: calendars.Blocks = field(default_factory=calendars.Blocks)
    item_keys: dict[str, tuple[Entry, str, str, str]] = field(default_factory=dict)

    def item_key(self, base: str, item: Item) -> str:
        cached = self.item_keys.get(item.group.slug)
        if (
            cached is not None
            and cached[0] is item.entry
            and cached[1] == base
            and cached[2] == item.category.name
        ):
            return cached[3]
        return _item_key(base, item)


@dataclass(eq=False)
class Load:
    """One load's inputs, and what several formats derive from them, made once."""

    directory: Directory
    history: History
    site: Site
    memo: Memo
    cal: calendars.Calendars
    #: The part of every hand-made key that is not the document's own: the code and
    #: templates, and the site's settings.
    base: str = field(init=False)
    _portable_feeds: dict[str, tuple[Feed, Site]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.base = digest(render_version(), self.site)

    @cached_property
    def items(self) -> list[Item]:
        """Every present group with its history entry, in directory order."""
        return items_of(self.directory, self.history)

    @cached_property
    def item_keys(self) -> dict[str, str]:
        """Each group's key (all its page and list entry show), by slug; kept in the memo
        for the next load."""
        base, memo = self.base, self.memo
        keys = {item.group.slug: memo.item_key(base, item) for item in self.items}
        memo.item_keys = {
            i.group.slug: (i.entry, base, i.category.name, keys[i.group.slug]) for i in self.items
        }
        return keys

    @cached_property
    def feeds(self) -> list[Feed]:
        """The all-groups feed, then one per category."""
        return feeds_of(self.items, self.directory, self.history, self.site)

    @cached_property
    def feed_of(self) -> dict[str, Feed]:
        return {f.key: f for f in self.feeds}

    def portable_feed(self, key: str) -> tuple[Feed, Site]:
        """A feed's arguments as a helper process may take them: the feed without the
        groups of its categories (a category holds every one of them), and the site."""
        found = self._portable_feeds.get(key)
        if found is None:
            found = self._portable_feeds[key] = (portable_feed(self.feed_of[key]), self.site)
        return found

    @cached_property
    def by_category(self) -> dict[str, list[Item]]:
        items = self.items
        return {
            c.slug: [i for i in items if i.category.slug == c.slug]
            for c in self.directory.categories
        }

    @cached_property
    def listing(self) -> str:
        """The key part of documents listing many groups, instead of every group's key: any
        change to a group is a logged change, counted in last_change_id and dated in its
        categories' newest change. What is not logged comes in here: the categories' names
        and descriptions, and the order of the groups (pages list them as the files do)."""
        return digest(
            self.base,
            [
                (c.slug, c.name, c.description, [g.slug for g in c.groups])
                for c in self.directory.categories
            ],
        )

    def marker(self, feed: Feed) -> int | datetime:
        """What changes whenever a group of ``feed`` changes: the history's last change for
        all groups, the newest change in its category for a category."""
        return self.history.last_change_id if feed.category is None else feed.updated

    @cached_property
    def alternates(self) -> dict[str, Markup]:
        """<link rel="alternate"> of each feed, made once, not on each of 10,000 pages."""
        site = self.site
        return {f.key: html.fragment("_alternates.html", feed=f, site=site) for f in self.feeds}

    @cached_property
    def with_meetings(self) -> dict[str, Group]:
        """The groups with meetings, by slug."""
        return {e.group.slug: e.group for e in self.cal.events}
