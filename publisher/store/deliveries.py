"""The delivery queue: a POST of stored bytes to a URL, signed when there is a secret,
retried until it succeeds or its time runs out. General on purpose: WebSub content
distribution (§7, §8) and pings to external hubs both go through it, and another push
protocol could too.

At least once, never lost: rows are added in the transaction of the change that causes them,
claimed with a lease (``claimed_until``) so two workers never send one at the same time, and
deleted only on success. One row per ``key``: a newer payload for the same key replaces an
undelivered older one (``version`` grows), so an older document is never sent after a newer.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from publisher.model.timestamps import format_time, parse_time
from publisher.store import leases
from publisher.store.transaction import transaction


@dataclass(frozen=True)
class Outgoing:
    """Something to send: what ``enqueue`` takes."""

    key: str
    url: str
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    secret: str | None = field(default=None, repr=False)
    subscription: int | None = None


@dataclass(frozen=True)
class Delivery:
    """A claimed row, as a worker sends it."""

    id: int
    key: str
    url: str
    payload: str
    headers: tuple[tuple[str, str], ...]
    secret: str | None = field(repr=False)
    subscription: int | None
    version: int
    attempts: int
    created: datetime
    claim: str = field(default="", repr=False)


def payload_hash(content_type: str, body: bytes) -> str:
    return hashlib.sha256(content_type.encode() + b"\n" + body).hexdigest()


def enqueue(conn: sqlite3.Connection, items: Iterable[Outgoing], due: datetime) -> int:
    """Add or replace deliveries (inside the caller's transaction); returns how many.

    A replaced row gets the new payload and ``version`` + 1, so a send of the old version
    still in flight neither deletes nor retries it. It keeps its first time and attempts,
    and a retry's later due time: a subscriber failing for a day is given up even if its
    topic keeps changing, and is not called at every change meanwhile."""
    hashes: dict[tuple[str, int], str] = {}
    payloads = []
    rows = []
    when = format_time(due)
    for item in items:
        ident = (item.content_type, id(item.body))  # one hash per distinct body object
        digest = hashes.get(ident)
        if digest is None:
            digest = hashes[ident] = payload_hash(item.content_type, item.body)
            payloads.append((digest, item.content_type, item.body))
        rows.append(
            (
                item.key,
                item.url,
                digest,
                json.dumps(item.headers),
                item.secret,
                item.subscription,
                when,
                when,
            )
        )
    conn.executemany(
        "INSERT OR IGNORE INTO payloads (hash, content_type, body) VALUES (?, ?, ?)", payloads
    )
    conn.executemany(
        "INSERT INTO deliveries (key, url, payload, headers, secret, subscription, created, due)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET url = excluded.url, payload = excluded.payload,"
        " headers = excluded.headers, secret = excluded.secret,"
        " subscription = excluded.subscription, version = deliveries.version + 1,"
        " due = CASE WHEN deliveries.attempts > 0 AND deliveries.due > excluded.due"
        " THEN deliveries.due ELSE excluded.due END",
        rows,
    )
    return len(rows)


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        claim=row["claim"],
        id=row["id"],
        key=row["key"],
        url=row["url"],
        payload=row["payload"],
        headers=tuple(tuple(h) for h in json.loads(row["headers"])),  # type: ignore[misc]
        secret=row["secret"],
        subscription=row["subscription"],
        version=row["version"],
        attempts=row["attempts"],
        created=parse_time(row["created"]),
    )


def claim(conn: sqlite3.Connection, now: datetime, until: datetime, limit: int) -> list[Delivery]:
    """Take up to ``limit`` due deliveries nobody holds, holding them until ``until``, under
    a fresh claim token that ``record`` must match (``leases.claim``)."""
    return [_delivery(r) for r in leases.claim(conn, "deliveries", "*", now, until, limit)]


def payloads(conn: sqlite3.Connection, hashes: Iterable[str]) -> dict[str, tuple[str, bytes]]:
    """Content type and bytes of each payload."""
    rows = conn.execute(
        "SELECT hash, content_type, body FROM payloads"
        " WHERE hash IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(set(hashes))),),
    )
    return {row["hash"]: (row["content_type"], bytes(row["body"])) for row in rows}


@dataclass(frozen=True)
class Outcome:
    """What became of one send: success, a retry at ``retry_at``, the end of the
    subscription (410 Gone), or giving up (``retry_at`` None and not ``ok``)."""

    delivery: Delivery
    ok: bool
    error: str = ""
    retry_at: datetime | None = None
    gone: bool = False


def record(conn: sqlite3.Connection, outcomes: Iterable[Outcome], now: datetime) -> None:
    """Write what happened to a batch of sends, in one transaction.

    Only rows still held under the send's claim token are touched: a row given to another
    worker after a lapsed lease, or gone and its id reused, is left alone. A row whose
    version moved on while in flight is kept for its newer payload (its claim released);
    410 ends the subscription (and so its deliveries)."""
    stamp = format_time(now)
    done, retry, give_up, gone, release = [], [], [], [], []
    for o in outcomes:
        d = o.delivery
        if o.ok:
            done.append((d.id, d.version, d.claim))
        elif o.gone and d.subscription is not None:
            gone.append((d.subscription, d.url, d.id, d.claim))
        elif o.retry_at is not None:
            retry.append((format_time(o.retry_at), o.error, d.id, d.version, d.claim))
        else:
            give_up.append((d.key, d.url, d.attempts, format_time(d.created), stamp, o.error))
            done.append((d.id, d.version, d.claim))
        release.append((d.id, d.claim))
    with transaction(conn):
        conn.executemany("DELETE FROM deliveries WHERE id = ? AND version = ? AND claim = ?", done)
        conn.executemany(
            "UPDATE deliveries SET due = ?, last_error = ?, claimed_until = NULL, claim = NULL"
            " WHERE id = ? AND version = ? AND claim = ?",
            retry,
        )
        conn.executemany(
            "INSERT INTO failures (key, url, attempts, first, last, error)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            give_up,
        )
        conn.executemany(
            "DELETE FROM subscriptions WHERE id = ? AND callback = ?"
            " AND EXISTS (SELECT 1 FROM deliveries WHERE id = ? AND claim = ?)",
            gone,
        )
        conn.executemany(
            "UPDATE deliveries SET claimed_until = NULL, claim = NULL WHERE id = ? AND claim = ?",
            release,
        )


def forget_unused_payloads(conn: sqlite3.Connection) -> None:
    """Drop payloads no delivery sends any more."""
    with transaction(conn):
        conn.execute(
            "DELETE FROM payloads WHERE hash NOT IN (SELECT DISTINCT payload FROM deliveries)"
        )


def listing(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every queued delivery, soonest first, without secrets or bodies (for the CLI)."""
    return conn.execute(
        "SELECT id, key, url, version, created, due, attempts, claimed_until, last_error,"
        " secret IS NOT NULL AS signed FROM deliveries ORDER BY due, id"
    ).fetchall()


def failures(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Deliveries given up, newest first."""
    return conn.execute("SELECT * FROM failures ORDER BY id DESC").fetchall()


def retry_now(conn: sqlite3.Connection, delivery_id: int, now: datetime) -> bool:
    """Make a delivery due at once (and count its time afresh); False if there is none."""
    with transaction(conn):
        cur = conn.execute(
            "UPDATE deliveries SET due = ?, created = ?, claimed_until = NULL WHERE id = ?",
            (format_time(now), format_time(now), delivery_id),
        )
    return cur.rowcount == 1


def drop(conn: sqlite3.Connection, delivery_id: int) -> bool:
    with transaction(conn):
        cur = conn.execute("DELETE FROM deliveries WHERE id = ?", (delivery_id,))
    return cur.rowcount == 1
