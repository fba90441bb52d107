"""Every document the service serves, rendered once per data change: bytes, ETag, type.

``build`` lists every document with a key made of its inputs; a document whose key has not
changed since the previous build is reused as it is, so a one-field edit re-renders only the
documents that show that group (its page, its category's and the all-groups documents, the
changes feed). Nothing here runs per request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import NamedTuple

from markupsafe import Markup

from publisher import calendars, urls
from publisher.directory.schedule import Occurrence
from publisher.helpers import Helpers, Spread
from publisher.model.directory import Directory, Group
from publisher.model.history import Entry, History
from publisher.model.publication import Kind, Publication
from publisher.render import changes, embed, html, jsonfeed, opml, xml_feeds
from publisher.render.common import (
    FORMATS,
    HTML_TYPE,
    OPML_TYPE,
    Feed,
    Item,
    Portable,
    Site,
    feeds_of,
    items_of,
    portable_feed,
)
from publisher.version import render_version

FEED_RENDERERS = {"atom": xml_feeds.atom, "rss": xml_feeds.rss, "json": jsonfeed.render}
STATIC = html.TEMPLATES / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
EMBED_SCRIPT = html.TEMPLATES / "embed" / "v1.js"
JSON_TYPE = "application/json; charset=utf-8"
#: Groups the home page lists per category; a larger category links to its own page for the
#: rest (a home page of 10,000 groups would be megabytes, for a phone too).
HOME_PER_CATEGORY = 50
#: Meetings the embedded "next meetings" list shows.
EMBED_MEETINGS = 10
#: Portable renders (a page and a calendar per group), at least, before a load shares them
#: with helper processes, and how many go to a helper at a time (about 100 KB pickled,
#: 0.3 MB of pages and calendars).
SPREAD_RENDERS = 2_000
SPREAD_CHUNK = 100


@dataclass
class Memo:
    """What one build keeps for the next, owned by the Publisher: each event's VEVENT, and
    each group's key with the history entry it was made from. History entries
    are kept between loads unless they change, so an entry that is the same object as last
    time gives the same key, without making it again for each of 10,000 groups."""

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


def render_portables(renders: list[Portable]) -> list[tuple[bytes, str]]:
    """Module-level, so a helper process can run it: each render's bytes and ETag, in
    order (hashing 50 MB of pages there spares the loading process a tenth of a second)."""
    return [(body, etag_of(body)) for body in (render() for render in renders)]


def prepare_helper(_: list[object]) -> list[object]:
    """Run by a helper while it would otherwise wait (``Helpers.warm``): importing this
    module imports every renderer, and the templates are compiled now rather than on the
    helper's first chunk."""
    env = html.environment()
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    return []


class Spec(NamedTuple):
    """A document to be: its inputs' key, how to render it, and when its inputs last changed.

    A named tuple, not a frozen dataclass: 10,000 are made per load, and a tuple is made
    several times faster."""

    path: str
    kind: Kind
    content_type: str
    key: str
    #: How to render it; None for a document rendered through ``portable``.
    render: Callable[[], bytes] | None
    changed: datetime
    status: int = 200
    location: str | None = None
    #: The render as a Portable, made when needed, for those a helper may run: build
    #: renders these through it, wherever they run.
    portable: Callable[[], Portable] | None = None


def _key(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _item_key(base: str, item: Item) -> str:
    """Everything a group's page and list entry show, as text (cheaper than hashing, and
    10,000 of them are made per load)."""
    e = item.entry
    return (
        f"{base}|{e.entry_id}|{e.fingerprint}|{e.published.timestamp()}|"
        f"{e.updated.timestamp()}|{e.slug}|{item.category.slug}|{item.category.name}"
    )


def specs(
    directory: Directory,
    history: History,
    site: Site,
    memo: Memo,
    cal: calendars.Calendars,
) -> Iterator[Spec]:
    """Every document of the directory, in a fixed order."""
    base = _key(render_version(), site)
    items = items_of(directory, history)
    item_keys = {item.group.slug: memo.item_key(base, item) for item in items}
    memo.item_keys = {
        i.group.slug: (i.entry, base, i.category.name, item_keys[i.group.slug]) for i in items
    }

    feeds = feeds_of(items, directory, history, site)
    by_category = {
        c.slug: [i for i in items if i.category.slug == c.slug] for c in directory.categories
    }
    names = {c.slug: c.name for c in directory.categories}
    # Documents listing many groups are keyed on the history's markers instead of on every
    # group's key: any change to a group is a logged change, counted in last_change_id and
    # dated in its categories' newest change. What is not logged comes in here: the
    # categories' names and descriptions, and the order of the groups (pages list them as
    # the files do).
    listing = _key(
        base,
        [(c.slug, c.name, c.description, [g.slug for g in c.groups]) for c in directory.categories],
    )
    # <link rel="alternate"> of each feed, made once, not on each of 10,000 pages.
    alternates = {f.key: html.fragment("_alternates.html", feed=f, site=site) for f in feeds}
    common = {"site": site}

    def embed_of(feed: Feed) -> Markup:
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

    embeds = {f.key: embed_of(f) for f in feeds if f.category is not None}

    soon = cal.soon
    meets = {c.slug: any(g.meetings for g in c.groups) for c in directory.categories}
    # Whether a group there has published dates: if none has, the calendar section says so
    # rather than promise meetings.
    dated = {
        c.slug: any(g.meetings and g.meetings.scheduled for g in c.groups)
        for c in directory.categories
    }

    light: dict[str, Feed] = {}

    def feed_job(feed: Feed, render: Callable[[Feed, Site], bytes]) -> Portable:
        """A feed as a helper may render it: without the groups of its categories."""
        if feed.key not in light:
            light[feed.key] = portable_feed(feed)
        return Portable(render, light[feed.key], site)

    for feed in feeds:
        marker = history.last_change_id if feed.category is None else feed.updated
        key = _key(listing, feed.key, marker)
        for fmt, render in FEED_RENDERERS.items():
            yield Spec(
                feed.path(fmt),
                Kind.FEED,
                FORMATS[fmt],
                key,
                None,
                feed.updated,
                portable=partial(feed_job, feed, render),
            )
        yield Spec(
            feed.subscribe_path,
            Kind.PAGE,
            HTML_TYPE,
            _key(base, feed.key, feed.title),
            lambda f=feed: html.page(
                "subscribe.html", feed=f, alternates=alternates[f.key], **common
            ),
            history.created,
        )
        if feed.category is not None:
            mine = by_category[feed.key]
            yield Spec(
                feed.page_path,
                Kind.PAGE,
                HTML_TYPE,
                _key(listing, feed.key, marker, "page"),
                lambda f=feed, m=mine: html.page(
                    "category.html",
                    feed=f,
                    entries=m,
                    alternates=alternates[f.key],
                    calendar=_calendar_links(site, urls.CALENDAR(f.key), f.title, meets[f.key]),
                    dated=dated[f.key],
                    embed=embeds[f.key],
                    **common,
                ),
                feed.updated,
            )
    newest = history.newest()
    yield Spec(
        urls.CHANGES(),
        Kind.FEED,
        FORMATS["atom"],
        _key(listing, "changes", history.last_change_id),
        None,
        newest,
        portable=partial(_changes_feed, history, names, newest, site, items),
    )
    yield Spec(
        urls.OUTLINE(),
        Kind.OUTLINE,
        OPML_TYPE,
        _key(base, [(f.key, f.title) for f in feeds]),
        lambda: opml.render(feeds, site),
        history.created,  # it lists categories, not groups: group edits do not touch it
    )
    next_meetings = soon.next(calendars.NEXT_ON_HOME)
    groups = {e.group.slug: e.group for e in cal.events}  # the groups with meetings
    yield Spec(
        urls.HOME(),
        Kind.PAGE,
        HTML_TYPE,
        _key(listing, "home", history.last_change_id, next_meetings),
        lambda: html.page(
            "home.html",
            feeds=feeds,
            by_category={k: v[:HOME_PER_CATEGORY] for k, v in by_category.items()},
            counts={k: len(v) for k, v in by_category.items()},
            shown=HOME_PER_CATEGORY,
            alternates=alternates["all"],
            calendar=_calendar_links(site, urls.CALENDAR("all"), site.title, any(meets.values())),
            dated=any(dated.values()),
            next_meetings=[(groups[slug], o) for slug, o in next_meetings],
            **common,
        ),
        newest,
    )
    feed_of = {f.key: f for f in feeds}
    for item in items:
        feed = feed_of[item.category.slug]
        slug = item.group.slug
        mine = soon.by_group.get(slug, ())[: calendars.NEXT_ON_GROUP]
        # Made only if rendered: an edit lists 10,000 of these and renders one.
        job = partial(_group_page, site, item, feed, mine, alternates[feed.key], embeds[feed.key])
        yield Spec(
            item.page_path,
            Kind.PAGE,
            HTML_TYPE,
            f"{item_keys[slug]}|{mine!r}" if mine else item_keys[slug],
            None,
            item.entry.updated,
            portable=job,
        )
    for path, content_type, key, render, changed, portable in calendars.documents(
        directory, site, cal, base, memo.blocks, items, item_keys, history.newest
    ):
        yield Spec(
            path,
            Kind.CALENDAR,
            content_type,
            key,
            None if portable else render,
            changed,
            portable=portable,
        )
    yield from _embeds(groups, feeds, soon, site, listing, history, common)
    if site.url(urls.HUB()) in site.hubs:
        yield Spec(
            urls.HUB(),
            Kind.PAGE,
            HTML_TYPE,
            _key(base, "hub"),
            lambda: html.page("hub.html", alternates="", **common),
            history.created,
        )
    yield from _moved_and_gone(history, site, base, common)
    yield Spec(
        urls.NOT_FOUND(),
        Kind.PAGE,
        HTML_TYPE,
        _key(base, "404"),
        _notice(
            "Page not found",
            "There is no page at this address. It may have been typed wrongly.",
            common,
        ),
        history.created,
        status=404,
    )
    for path in sorted(STATIC.iterdir()):
        data = path.read_bytes()
        yield Spec(
            urls.STATIC(path.name),
            Kind.ASSET,
            STATIC_TYPES.get(path.suffix, "text/plain"),
            _key(data),
            lambda d=data: d,
            history.created,
        )


def _changes_feed(
    history: History, names: dict[str, str], newest: datetime, site: Site, items: list[Item]
) -> Portable:
    """The changes feed, as a render that holds only the groups its changes name, as they
    are published now: it shows what each changed field holds."""
    named = {c.entry for c in history.changes}
    current = {i.entry.id: i.group for i in items if i.entry.id in named}
    return Portable(changes.render, history.changes, names, newest, site, current)


def _group_page(
    site: Site,
    item: Item,
    feed: Feed,
    mine: Sequence[Occurrence],
    alternates: Markup,
    embed: Markup,
) -> Portable:
    """A group's page, as a render that only holds what the page shows: not the item,
    whose category holds every group, as it may be sent to a helper process."""
    group = item.group
    return Portable(
        html.page,
        "group.html",
        group=group,
        entry=item.entry,
        category_name=item.category.name,
        category_path=feed.page_path,
        subscribe_path=feed.subscribe_path,
        alternates=alternates,
        calendar=_calendar_links(
            site, urls.GROUP_CALENDAR(group.slug), group.name, bool(group.meetings)
        ),
        dated=bool(group.meetings and group.meetings.scheduled),
        next_meetings=[(group, o) for o in mine],
        embed=embed,
        site=site,
    )


class Embed(NamedTuple):
    """What a page's "Embed this" section offers: the script target and the frame."""

    what: str
    target: str
    frame: str
    title: str


def _embeds(
    groups: Mapping[str, Group],
    feeds: list[Feed],
    soon: calendars.Upcoming,
    site: Site,
    listing: str,
    history: History,
    common: Mapping[str, object],
) -> Iterator[Spec]:
    """The embed script, the next meetings as JSON, and the iframe pages: /embed/all,
    /embed/<category> and /embed/meetings (these may be framed by any site). ``groups``
    are the groups with meetings, by slug."""
    script = EMBED_SCRIPT.read_bytes()
    yield Spec(
        urls.EMBED_SCRIPT(),
        Kind.EMBED_DATA,
        STATIC_TYPES[".js"],
        _key(script),
        lambda: script,
        history.created,
    )
    upcoming = soon.next(EMBED_MEETINGS)
    chosen = [(groups[slug], o) for slug, o in upcoming]
    key = _key(listing, "meetings", upcoming)
    yield Spec(
        urls.EMBED_MEETINGS_DATA(),
        Kind.EMBED_DATA,
        JSON_TYPE,
        key,
        lambda: embed.meetings_json(chosen, site),
        history.newest(),
    )
    yield Spec(
        urls.EMBED_MEETINGS(),
        Kind.EMBED_PAGE,
        HTML_TYPE,
        _key(key, "page"),
        lambda: html.page(
            "embed.html",
            heading="Next meetings",
            next_meetings=chosen,
            page=urls.HOME(),
            what="all the groups",
            **common,
        ),
        history.newest(),
    )
    for feed in feeds:
        category = feed.category
        # The groups the script embed shows too: the feed's (at most FEED_MAX_ENTRIES, the
        # most recently changed), in directory order. A page of 10,000 would help no one.
        members = [i.group for i in sorted(feed.items, key=lambda i: i.position)]
        yield Spec(
            urls.EMBED(feed.key),
            Kind.EMBED_PAGE,
            HTML_TYPE,
            # As the feeds: a category's page changes only with its own groups.
            _key(
                listing,
                feed.key,
                history.last_change_id if category is None else feed.updated,
                "embed",
            ),
            lambda f=feed, m=members: html.page(
                "embed.html",
                heading=f.category.name if f.category else site.title,
                groups=m,
                page=f.page_path,
                what="these groups" if f.category else "all the groups",
                **common,
            ),
            feed.updated,
        )


def _calendar_links(site: Site, path: str, name: str, shown: bool) -> calendars.Links | None:
    """Subscribe links for a page's calendar: only where some group there has meetings."""
    return calendars.links(site, path, name) if shown else None


def _moved_and_gone(
    history: History, site: Site, base: str, common: Mapping[str, object]
) -> Iterator[Spec]:
    """301 from every old slug of a present group; 410 for every slug of a removed one.
    Their calendar addresses: 301 to the new one, or an empty calendar."""
    entries = history.by_id()
    retired = sorted(
        (slug, entries[entry_id])
        for slug, entry_id in history.slugs.items()
        if entries[entry_id].removed is not None or entries[entry_id].slug != slug
    )
    for slug, entry in retired:
        if entry.removed is not None:
            heading, status, changed = "This group has been removed", 410, entry.removed
            location = None
            message = f"{entry.name} is no longer listed in this directory."
        else:  # an old slug of a renamed group
            location = site.url(urls.GROUP(entry.slug))
            heading, status, changed = "This page has moved", 301, entry.updated
            message = f"It is now at {location}."
        yield Spec(
            urls.GROUP(slug),
            Kind.PAGE,
            HTML_TYPE,
            _key(base, status, message),
            _notice(heading, message, common),
            changed,
            status=status,
            location=location,
        )
        # Its calendar address stays too: moved with the page, or empty once removed.
        ics = urls.GROUP_CALENDAR(slug)
        if location is None:
            name = entry.name
            yield Spec(
                ics,
                Kind.CALENDAR,
                calendars.CALENDAR_TYPE,
                _key(base, "removed calendar", slug, name),
                lambda s=slug, n=name: calendars.removed_calendar(site, s, n),
                changed,
            )
        else:
            new = site.url(urls.GROUP_CALENDAR(entry.slug))
            yield Spec(
                ics,
                Kind.CALENDAR,
                HTML_TYPE,
                _key(base, 301, new),
                _notice(heading, f"It is now at {new}.", common),
                changed,
                status=301,
                location=new,
            )


def _notice(heading: str, message: str, common: Mapping[str, object]) -> Callable[[], bytes]:
    """Renders a plain page with one heading and one sentence (404, 410, 301 bodies)."""
    return lambda: html.page(
        "error.html", heading=heading, message=message, alternates="", **common
    )


def etag_of(body: bytes) -> str:
    """Strong ETag (RFC 9110 §8.8.3): a hash of the exact bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _hashed(body: bytes) -> tuple[bytes, str]:
    return body, etag_of(body)


def build(
    directory: Directory,
    history: History,
    site: Site,
    previous: Mapping[str, Publication],
    now: datetime,
    memo: Memo,
    cal: calendars.Calendars,
    spread: Spread | None = None,
    alongside: Callable[[], None] | None = None,
    keep: Callable[[list[Publication]], None] | None = None,
) -> tuple[dict[str, Publication], int]:
    """Render what changed; reuse the rest. Returns the publications and how many were
    rendered.

    ``spread`` may render many Portable renders on helper processes. The caller's own work
    goes on meanwhile: ``alongside`` runs once this process has rendered the documents that
    stay here, and ``keep`` gets each batch of new publications as it is made (to store it),
    always on this thread.

    Last-Modified is the newest change of the document's inputs. Should the bytes change with
    no such change (a setting or the code changed), it becomes ``now``, so a client's
    If-Modified-Since can never hide new bytes.
    """
    out: dict[str, Publication | None] = {}
    local: list[tuple[Spec, Publication | None]] = []
    portable: list[tuple[Spec, Publication | None]] = []

    def changed() -> Iterator[Portable]:
        """The renders helpers may run, as the specs are made (so that helpers start on the
        first while the rest are made); the other changed documents go to ``local``."""
        for spec in specs(directory, history, site, memo, cal):
            old = previous.get(spec.path)
            if old is not None and old.key == spec.key:
                out[spec.path] = old
                continue
            out[spec.path] = None  # rendered below, in this place of the order
            if spec.portable is None:
                local.append((spec, old))
            else:
                portable.append((spec, old))
                yield spec.portable()

    def publish(spec: Spec, old: Publication | None, body: bytes, etag: str) -> Publication:
        modified = spec.changed.replace(microsecond=0)  # HTTP dates have whole seconds
        if old is not None and old.etag == etag:
            modified = old.last_modified
        elif old is not None and old.last_modified >= modified:
            modified = now.replace(microsecond=0)
        made = out[spec.path] = Publication(
            spec.path,
            spec.kind,
            spec.status,
            spec.content_type,
            body,
            etag,
            modified,
            spec.key,
            spec.location,
        )
        return made

    def render_local() -> None:
        batch = [publish(spec, old, *_hashed(spec.render())) for spec, old in local]
        if keep is not None:
            keep(batch)
        if alongside is not None:
            alongside()

    each = spread or Helpers(0).each
    for start, made in each(
        render_portables, changed(), SPREAD_CHUNK, render_local, SPREAD_RENDERS
    ):
        done = portable[start : start + len(made)]
        batch = [publish(s, old, *m) for (s, old), m in zip(done, made, strict=True)]
        if keep is not None:
            keep(batch)
    missing = [path for path, p in out.items() if p is None]
    if missing:  # never publish without them: the load fails and the last one stays
        raise RuntimeError(f"{len(missing)} documents were not rendered, {missing[0]} first")
    rendered = len(local) + len(portable)
    return dict(out), rendered  # type: ignore[arg-type]
