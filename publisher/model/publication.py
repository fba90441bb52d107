"""A published document as served: its kind, status, type, bytes, ETag and Last-Modified."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    """What is at an address, whatever its status: the kind decides how it is served.

    A moved or removed document keeps the kind of its address (a calendar's old address
    answers 301 and stays a calendar: a script of another site that fetches it follows the
    redirect only if the 301 carries the cross-origin headers too)."""

    #: A page of the site (home, categories, groups, subscribe help, notices): no one may
    #: frame it.
    PAGE = "page"
    #: A page made for other sites' frames (/embed/...).
    EMBED_PAGE = "embed-page"
    #: An Atom, RSS or JSON feed: a WebSub topic.
    FEED = "feed"
    #: An iCalendar file: a WebSub topic.
    CALENDAR = "calendar"
    #: The OPML list of the feeds.
    OUTLINE = "outline"
    #: The embed script and its data, read by other sites' scripts.
    EMBED_DATA = "embed-data"
    #: The site's own stylesheet and scripts.
    ASSET = "asset"


#: Kinds read by apps and by other sites' scripts: served with cross-origin headers, and
#: cached for the feeds' time.
SHARED = frozenset({Kind.FEED, Kind.CALENDAR, Kind.OUTLINE, Kind.EMBED_DATA})
#: Kinds whose changes are pushed to subscribers (WebSub §1: topics).
TOPICS = frozenset({Kind.FEED, Kind.CALENDAR})


@dataclass(frozen=True)
class Publication:
    """One document as served: status, type, bytes, strong ETag, Last-Modified."""

    path: str
    kind: Kind
    status: int
    content_type: str
    body: bytes
    etag: str
    last_modified: datetime
    key: str
    location: str | None = None

    @property
    def is_topic(self) -> bool:
        """A WebSub topic (§1): a feed or a calendar, which advertises its hubs and itself,
        and whose changes are pushed to subscribers."""
        return self.status == 200 and self.kind in TOPICS

    @property
    def is_feed(self) -> bool:
        """Feeds, the OPML, calendars and the embed's script and data: read by other sites'
        scripts (CORS) and by apps."""
        return self.kind in SHARED

    @property
    def frameable(self) -> bool:
        """Embed pages: any site may show them in a frame; no other page may be framed."""
        return self.kind == Kind.EMBED_PAGE


def topics(pubs: Mapping[str, Publication]) -> frozenset[str]:
    """The paths of the WebSub topics among ``pubs``: what the hub accepts as hub.topic."""
    return frozenset(path for path, pub in pubs.items() if pub.is_topic)
