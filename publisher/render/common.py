"""What every renderer shares: the site's settings, the published items, URLs and HTML bits."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import NamedTuple

from markupsafe import Markup, escape

from publisher.model.directory import FLAGS, Category, Directory, Group
from publisher.model.history import Entry, History
from publisher.urls import CATEGORY, FEED, GROUP, HOME, SUBSCRIBE, SUBSCRIBE_ALL


class Portable(partial):  # type: ignore[type-arg]
    """A render another process can run: a module-level function and picklable arguments.

    A load with many of these to render shares them with helper processes
    (``publisher.helpers``); every other render runs in the loading process."""


FORMATS = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
FORMAT_NAMES = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}
OPML_TYPE = "text/x-opml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
GENERATOR = "publisher"


@dataclass(frozen=True)
class Site:
    """Settings and directory facts every document shows."""

    base: str
    publisher: str
    title: str
    description: str
    language: str
    hubs: tuple[str, ...]
    feed_max_entries: int
    tag_base: str
    #: Seconds between two fetches that calendars ask apps for (RFC 7986 REFRESH-INTERVAL).
    calendar_refresh: int = 21600
    #: The directory's own time zone: meeting times elsewhere say which zone they are in.
    time_zone: str = "UTC"

    def url(self, path: str) -> str:
        return self.base + path


class Item(NamedTuple):
    """A present group with its history: one entry in feeds, one row on pages.

    A named tuple: one is made per group on every load."""

    group: Group
    category: Category
    entry: Entry
    #: Place in the directory's order, which feeds (ordered by change) do not keep.
    position: int = 0

    @property
    def page_path(self) -> str:
        return GROUP(self.group.slug)


@dataclass(frozen=True)
class Feed:
    """One feed (or its page): the whole directory or one category."""

    key: str  # "all" or a category slug
    title: str
    category: Category | None
    items: tuple[Item, ...]  # newest change first, at most feed_max_entries
    updated: datetime

    def path(self, fmt: str) -> str:
        return FEED(self.key, fmt)

    @property
    def page_path(self) -> str:
        return HOME() if self.category is None else CATEGORY(self.key)

    def description(self, site_title: str) -> str:
        what = "all groups" if self.category is None else f"the groups in {self.category.name}"
        return f"New and changed entries for {what} in {site_title}."

    @property
    def subscribe_path(self) -> str:
        return SUBSCRIBE_ALL() if self.category is None else SUBSCRIBE(self.key)


def items_of(directory: Directory, history: History) -> list[Item]:
    """Present groups joined with their history entry, in directory order."""
    active = history.active()
    return [
        Item(g, c, active[g.slug], n)
        for n, (c, g) in enumerate((c, g) for c in directory.categories for g in c.groups)
    ]


def newest_first(
    keyed: list[tuple[tuple[float, str, str], int]], items: list[Item], limit: int
) -> tuple[Item, ...]:
    """The ``limit`` most recently changed, newest first; ties broken by name then slug so
    the order is stable. A partial sort: a feed of 100 from 10,000 groups sorts 100."""
    return tuple(items[i] for _, i in heapq.nsmallest(limit, keyed))


def portable_feed(feed: Feed) -> Feed:
    """``feed`` with only what its documents show, to be sent to a helper process: its
    categories without their groups (a category holds every one of them)."""
    light: dict[str, Category] = {}

    def strip(category: Category) -> Category:
        if category.slug not in light:
            light[category.slug] = replace(category, groups=())
        return light[category.slug]

    return replace(
        feed,
        category=None if feed.category is None else strip(feed.category),
        items=tuple(item._replace(category=strip(item.category)) for item in feed.items),
    )


def feeds_of(items: list[Item], directory: Directory, history: History, site: Site) -> list[Feed]:
    """The all-groups feed, then one per category, each holding its newest entries.

    ``updated`` is the newest change that altered the feed, removals included.
    """
    limit = site.feed_max_entries
    keyed = [
        ((-i.entry.updated.timestamp(), i.group.name.casefold(), i.group.slug), n)
        for n, i in enumerate(items)
    ]
    feeds = [Feed("all", site.title, None, newest_first(keyed, items, limit), history.newest())]
    for category in directory.categories:
        mine = [k for k in keyed if items[k[1]].category.slug == category.slug]
        feeds.append(
            Feed(
                category.slug,
                f"{category.name} – {site.title}",
                category,
                newest_first(mine, items, limit),
                history.newest(category.slug),
            )
        )
    return feeds


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC; the fraction of a second only where there is one."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds").rstrip("0").rstrip(".") + "Z"


def entry_html(item: Item, site: Site) -> str:
    """The entry's content as safe HTML: every text escaped, only checked http(s) links.

    Each feed format shows it, for the all-groups feed and the group's category: made once.
    """
    return _entry_html(item.group, site.url(item.page_path))


@lru_cache(maxsize=4096)
def _entry_html(group: Group, page_url: str) -> str:
    parts: list[str] = []
    if group.description:
        parts.append(f"<p>{escape(group.description)}</p>")
    else:
        parts.append("<p>No description has been published for this group.</p>")
    facts = [FLAGS[f] for f in group.flags]
    if group.place and group.place.as_published:
        facts.append(f"Place: {group.place.as_published}")
    if group.meetings and group.meetings.frequency_as_published:
        facts.append(f"Meets: {group.meetings.frequency_as_published}")
    if facts:
        parts.append("<ul>" + "".join(f"<li>{escape(f)}</li>" for f in facts) + "</ul>")
    links = [Markup('<a href="{}">{}</a>').format(link.url, link.label) for link in group.links]
    links.append(Markup('<a href="{}">This group in the directory</a>').format(page_url))
    parts.append("<p>" + " · ".join(links) + "</p>")
    return "".join(str(p) for p in parts)
