"""WebSub subscriptions and the requests waiting for verification of intent (§5.3).

A request becomes an ``intent``; the worker verifies it with the subscriber and only then
writes (or deletes) the subscription. Subscribing again to the same topic from the same
callback renews the one subscription, with its new secret and lease (§5.1: "the hub MUST
NOT create a duplicate"). Secrets are stored for signing and never leave this module except
to the worker.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from publisher.model.timestamps import format_time, parse_time
from publisher.store import leases
from publisher.store.transaction import transaction


class TooManyPending(Exception):
    """Requests waiting for verification fill the callback address's share
    (HUB_MAX_PENDING_PER_HOST), or the hub's (HUB_MAX_PENDING) and none could make room."""

    def __init__(self, everyone: bool) -> None:
        super().__init__("the hub is full" if everyone else "the callback's address is full")
        self.everyone = everyone


@dataclass(frozen=True)
class Intent:
    id: int
    mode: str
    callback: str
    topic: str
    secret: str | None = field(repr=False)
    lease_seconds: int
    attempts: int
    claim: str = field(default="", repr=False)


@dataclass(frozen=True)
class Subscription:
    id: int
    callback: str
    topic: str
    secret: str | None = field(repr=False)
    expires: datetime


@dataclass(frozen=True)
class Added:
    """A recorded request: its id, and the id of the request dropped to make room, if any."""

    id: int
    dropped: int | None = None


def add_intent(
    conn: sqlite3.Connection,
    mode: str,
    callback: str,
    topic: str,
    secret: str | None,
    lease_seconds: int,
    now: datetime,
    *,
    host: str,
    max_per_host: int,
    max_pending: int,
    make_room: Callable[[], Collection[int]] = tuple,
) -> Added:
    """Record a request to be verified at once by the worker.

    ``host`` is the callback's address (or name) as the per-host limit counts it. When all
    requests together reach ``max_pending``, the newest still waiting of the ids
    ``make_room()`` gives is dropped to let this one in (the caller chooses them fairly);
    with none, TooManyPending.
    """
    stamp = format_time(now)
    dropped = None
    with transaction(conn):
        (pending,) = conn.execute("SELECT COUNT(*) FROM intents WHERE host = ?", (host,)).fetchone()
        if pending >= max_per_host:
            raise TooManyPending(everyone=False)
        (everyone,) = conn.execute("SELECT COUNT(*) FROM intents").fetchone()
        if everyone >= max_pending:
            room = conn.execute(
                "DELETE FROM intents WHERE id = (SELECT MAX(id) FROM intents"
                " WHERE id IN (SELECT value FROM json_each(?))) RETURNING id",
                (json.dumps(list(make_room())),),
            ).fetchone()
            if room is None:
                raise TooManyPending(everyone=True)
            dropped = room[0]
        cur = conn.execute(
            "INSERT INTO intents (mode, callback, host, topic, secret, lease_seconds, created, due)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (mode, callback, host, topic, secret, lease_seconds, stamp, stamp),
        )
    return Added(cur.lastrowid or 0, dropped)


def still_pending(conn: sqlite3.Connection, callbacks: Mapping[int, str]) -> set[int]:
    """Which of these requests (id: callback) still wait for verification. The callback
    must match too: a finished request's id can be given to a new one."""
    rows = conn.execute(
        "SELECT id, callback FROM intents WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(callbacks)),),
    )
    return {id_ for id_, callback in rows if callbacks.get(id_) == callback}


def claim_intents(
    conn: sqlite3.Connection, now: datetime, until: datetime, limit: int
) -> list[Intent]:
    """Take up to ``limit`` due requests nobody holds, until ``until`` (``leases.claim``)."""
    columns = "id, mode, callback, topic, secret, lease_seconds, attempts, claim"
    return [Intent(*r) for r in leases.claim(conn, "intents", columns, now, until, limit)]


def confirmed(conn: sqlite3.Connection, intent: Intent, now: datetime) -> None:
    """The subscriber confirmed: subscribe (or renew) or unsubscribe, and drop the intent
    (unless another worker holds it now, after this one's lease ran out)."""
    with transaction(conn):
        held = conn.execute(
            "DELETE FROM intents WHERE id = ? AND claim = ?", (intent.id, intent.claim)
        ).rowcount
        if not held:
            return
        if intent.mode == "subscribe":
            expires = now + timedelta(seconds=intent.lease_seconds)
            conn.execute(
                "INSERT INTO subscriptions"
                " (callback, topic, secret, lease_seconds, created, verified, expires)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (callback, topic) DO UPDATE SET secret = excluded.secret,"
                " lease_seconds = excluded.lease_seconds, verified = excluded.verified,"
                " expires = excluded.expires",
                (
                    intent.callback,
                    intent.topic,
                    intent.secret,
                    intent.lease_seconds,
                    format_time(now),
                    format_time(now),
                    format_time(expires),
                ),
            )
            # §5.1: the renewal overrides the old state, so deliveries still queued are
            # signed with the new secret; a new version, so a send in flight with the old
            # one does not count as their delivery.
            conn.execute(
                "UPDATE deliveries SET secret = ?, version = version + 1 WHERE subscription ="
                " (SELECT id FROM subscriptions WHERE callback = ? AND topic = ?)"
                " AND secret IS NOT ?",
                (intent.secret, intent.callback, intent.topic, intent.secret),
            )
        else:
            conn.execute(
                "DELETE FROM subscriptions WHERE callback = ? AND topic = ?",
                (intent.callback, intent.topic),
            )


def not_confirmed(conn: sqlite3.Connection, intent: Intent, retry_at: datetime | None) -> None:
    """The subscriber said no (or never answered): retry at ``retry_at``, or forget it."""
    with transaction(conn):
        if retry_at is None:
            conn.execute(
                "DELETE FROM intents WHERE id = ? AND claim = ?", (intent.id, intent.claim)
            )
        else:
            conn.execute(
                "UPDATE intents SET due = ?, claimed_until = NULL, claim = NULL"
                " WHERE id = ? AND claim = ?",
                (format_time(retry_at), intent.id, intent.claim),
            )


def active(conn: sqlite3.Connection, topics: Iterable[str], now: datetime) -> list[Subscription]:
    """Subscriptions to any of ``topics`` whose lease has not run out."""
    rows = conn.execute(
        "SELECT id, callback, topic, secret, expires FROM subscriptions"
        " WHERE topic IN (SELECT value FROM json_each(?)) AND expires > ? ORDER BY id",
        (json.dumps(sorted(set(topics))), format_time(now)),
    )
    return [Subscription(r[0], r[1], r[2], r[3], parse_time(r[4])) for r in rows]


def expire(conn: sqlite3.Connection, now: datetime) -> int:
    """End the subscriptions whose lease has run out (§5.1: the subscriber renews in time)."""
    with transaction(conn):
        cur = conn.execute("DELETE FROM subscriptions WHERE expires <= ?", (format_time(now),))
    return cur.rowcount


def listing(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every subscription without its secret (for the CLI)."""
    return conn.execute(
        "SELECT id, callback, topic, lease_seconds, verified, expires,"
        " secret IS NOT NULL AS signed FROM subscriptions ORDER BY topic, id"
    ).fetchall()


def end(conn: sqlite3.Connection, subscription_id: int) -> bool:
    """End a subscription now (its pending deliveries go with it)."""
    with transaction(conn):
        cur = conn.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))
    return cur.rowcount == 1
