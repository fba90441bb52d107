"""The site's HTML pages: home, each category's, each group's, the subscribe help and the hub.

Pages listing many groups (home, categories) and the 10,000 group pages have hand-made keys:
deriving them from their arguments would walk every group at every load. A group page's
arguments are made only when it is rendered, and hold only what it shows, so a helper
process may render it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from markupsafe import Markup

from publisher import calendars, urls
from publisher.directory.schedule import Occurrence
from publisher.model.publication import Kind
from publisher.render import html
from publisher.render.common import HTML_TYPE, Feed, Item, Site
from publisher.sitemap.calendars import Links, links
from publisher.sitemap.context import Document, Load, digest

#: Groups the home page lists per category; a larger category links to its own page for the
#: rest (a home page of 10,000 groups would be megabytes, for a phone too).
HOME_PER_CATEGORY = 50


def page(template: str, context: dict[str, Any]) -> bytes:
    """A page from its template and everything it shows."""
    return html.page(template, **context)


class Embed(NamedTuple):
    """What a page's "Embed this" section offers: the script target and the frame."""

    what: str
    target: str
    frame: str
    title: str


def _embed_section(feed: Feed, site: Site) -> Markup:
    """The "Embed this" section of a category's pages: the same on each of its groups'
    pages, so made once, not 10,000 times."""
    assert feed.category is not None
    name = feed.category.name
    what = Embed(
        f"the groups in {name}",
        f"category:{feed.key}",
        urls.EMBED(feed.key),
        f"{name} – {site.title}",
    )
    return html.fragment("_embed.html", embed=what, site=site)


def calendar_links(site: Site, path: str, name: str, shown: bool) -> Links | None:
    """Subscribe links for a page's calendar: only where some group there has meetings."""
    return links(site, path, name) if shown else None


def documents(load: Load) -> Iterator[Document]:
    site, history, feeds = load.site, load.history, load.feeds
    listing, alternates, by_category = load.listing, load.alternates, load.by_category
    embeds = {f.key: _embed_section(f, site) for f in feeds if f.category is not None}
    categories = load.directory.categories
    meets = {c.slug: any(g.meetings for g in c.groups) for c in categories}
    # Whether a group there has published dates: if none has, the calendar section says so
    # rather than promise meetings.
    dated = {c.slug: any(g.meetings and g.meetings.scheduled for g in c.groups) for c in categories}
    for feed in feeds:
        yield Document(
            feed.subscribe_path,
            Kind.PAGE,
            HTML_TYPE,
            page,
            (
                "subscribe.html",
                {"feed": _heading(feed, load), "alternates": alternates[feed.key], "site": site},
            ),
            history.created,
        )
        if feed.category is None:
            continue
        yield Document(
            feed.page_path,
            Kind.PAGE,
            HTML_TYPE,
            page,
            lambda f=feed: (
                "category.html",
                {
                    "feed": f,
                    "entries": by_category[f.key],
                    "alternates": alternates[f.key],
                    "calendar": calendar_links(site, urls.CALENDAR(f.key), f.title, meets[f.key]),
                    "dated": dated[f.key],
                    "embed": embeds[f.key],
                    "site": site,
                },
            ),
            feed.updated,
            key=digest(listing, feed.key, load.marker(feed), "page"),
        )
    soon = load.cal.soon
    next_meetings = soon.next(calendars.NEXT_ON_HOME)
    groups = load.with_meetings

    def home() -> tuple[str, dict[str, Any]]:
        return "home.html", {
            "feeds": feeds,
            "by_category": {k: v[:HOME_PER_CATEGORY] for k, v in by_category.items()},
            "counts": {k: len(v) for k, v in by_category.items()},
            "shown": HOME_PER_CATEGORY,
            "alternates": alternates["all"],
            "calendar": calendar_links(site, urls.CALENDAR("all"), site.title, any(meets.values())),
            "dated": any(dated.values()),
            "next_meetings": [(groups[slug], o) for slug, o in next_meetings],
            "site": site,
        }

    yield Document(
        urls.HOME(),
        Kind.PAGE,
        HTML_TYPE,
        page,
        home,
        history.newest(),
        key=digest(listing, "home", history.last_change_id, next_meetings),
    )
    item_keys = load.item_keys
    for item in load.items:
        feed = load.feed_of[item.category.slug]
        slug = item.group.slug
        mine = soon.by_group.get(slug, ())[: calendars.NEXT_ON_GROUP]
        yield Document(
            item.page_path,
            Kind.PAGE,
            HTML_TYPE,
            page,
            # Made only if rendered: an edit lists 10,000 of these and renders one.
            lambda i=item, f=feed, m=mine: _group_page(
                site, i, f, m, alternates[f.key], embeds[f.key]
            ),
            item.entry.updated,
            key=f"{item_keys[slug]}|{mine!r}" if mine else item_keys[slug],
            portable=True,
        )
    if site.url(urls.HUB()) in site.hubs:
        yield Document(
            urls.HUB(),
            Kind.PAGE,
            HTML_TYPE,
            page,
            ("hub.html", {"alternates": "", "site": site}),
            history.created,
        )


def _heading(feed: Feed, load: Load) -> Feed:
    """What the subscribe page shows of a feed: its name and addresses, not its entries or
    their dates (its key is derived from these)."""
    category = feed.category
    return replace(
        feed,
        category=None if category is None else replace(category, groups=()),
        items=(),
        updated=load.history.created,
    )


def _group_page(
    site: Site,
    item: Item,
    feed: Feed,
    mine: Sequence[Occurrence],
    alternates: Markup,
    embed: Markup,
) -> tuple[str, dict[str, Any]]:
    """A group page's arguments: only what the page shows, not the item, whose category
    holds every group, as they may be sent to a helper process."""
    group = item.group
    return "group.html", {
        "group": group,
        "entry": item.entry,
        "category_name": item.category.name,
        "category_path": feed.page_path,
        "subscribe_path": feed.subscribe_path,
        "alternates": alternates,
        "calendar": calendar_links(
            site, urls.GROUP_CALENDAR(group.slug), group.name, bool(group.meetings)
        ),
        "dated": bool(group.meetings and group.meetings.scheduled),
        "next_meetings": [(group, o) for o in mine],
        "embed": embed,
        "site": site,
    }
