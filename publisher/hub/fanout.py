"""Which deliveries a change makes (W3C WebSub §6, §7).

A topic is touched when its bytes change: comparing the new publication with the previous
one gives exactly the changed group's category documents in every format, the all-groups
documents, the changes feed and the calendars that show it, and nothing when nothing
changed. Each active subscription to a touched topic gets the whole new document; each
external hub in PUBLISHER_HUBS gets a ping (``hub.mode=publish``) per touched topic. All are
queued in the load's own transaction, so a change and its deliveries are written together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlencode

from publisher.config import Settings
from publisher.hub.discovery import links
from publisher.model.publication import Publication
from publisher.store import deliveries, subscriptions

PING_TYPE = "application/x-www-form-urlencoded"
#: How a ping's key begins: the worker sends pings with requests, one at a time.
PING = "ping:"


def touched(
    previous: Mapping[str, Publication], current: Mapping[str, Publication]
) -> list[Publication]:
    """Topics whose bytes changed (or that are new), in path order. None on a first load:
    nobody can have subscribed to a topic that was never published."""
    if not previous:
        return []
    found = [
        pub
        for path, pub in current.items()
        if previous.get(path) is not pub  # reused documents are the very same objects
        and pub.is_topic
        and (path not in previous or previous[path].etag != pub.etag)
    ]
    return sorted(found, key=lambda pub: pub.path)


def queue_change(
    conn: sqlite3.Connection,
    previous: Mapping[str, Publication],
    current: Mapping[str, Publication],
    settings: Settings,
    now: datetime,
) -> int:
    """Queue the deliveries and pings of a change; returns how many."""
    changed = touched(previous, current)
    if not changed:
        return 0
    by_path = {pub.path: pub for pub in changed}
    hubs = settings.hub_urls
    items = []
    # With the built-in hub off, it is not advertised, and its old subscribers get nothing.
    for sub in subscriptions.active(conn, by_path, now) if settings.hub else ():
        pub = by_path[sub.topic]
        items.append(
            deliveries.Outgoing(
                key=f"subscription:{sub.id}:{sub.topic}",
                url=sub.callback,
                content_type=pub.content_type,
                body=pub.body,
                headers=tuple(links(pub, hubs, settings.base)),
                secret=sub.secret,
                subscription=sub.id,
            )
        )
    for hub in settings.hubs.split():
        for pub in changed:
            form = urlencode({"hub.mode": "publish", "hub.url": settings.base + pub.path})
            items.append(
                deliveries.Outgoing(
                    key=f"{PING}{hub}:{pub.path}",
                    url=hub,
                    content_type=PING_TYPE,
                    body=form.encode(),
                )
            )
    return deliveries.enqueue(conn, items, now + timedelta(seconds=settings.hub_coalesce))
