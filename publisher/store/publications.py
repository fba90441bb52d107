"""The last good publication, kept so a restart (even with broken data) serves it at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime

from publisher.model.publication import Kind, Publication
from publisher.model.timestamps import format_time, parse_time


def load_all(conn: sqlite3.Connection) -> dict[str, Publication]:
    return {
        r["path"]: Publication(
            r["path"],
            Kind(r["kind"]),
            r["status"],
            r["content_type"],
            bytes(r["body"]),
            r["etag"],
            parse_time(r["last_modified"]),
            r["key"],
            r["location"],
        )
        for r in conn.execute("SELECT * FROM publications")
    }


def save(conn: sqlite3.Connection, made: Iterable[Publication]) -> None:
    """Write newly made publications (inside the caller's transaction): a load calls this
    for each batch as it is rendered."""
    conn.executemany(
        "INSERT OR REPLACE INTO publications "
        "(path, kind, status, content_type, body, etag, last_modified, location, key) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                p.path,
                p.kind.value,
                p.status,
                p.content_type,
                p.body,
                p.etag,
                format_time(p.last_modified),
                p.location,
                p.key,
            )
            for p in made
        ],
    )


def remove_gone(
    conn: sqlite3.Connection, new: Mapping[str, Publication], old: Mapping[str, Publication]
) -> None:
    """Delete the documents ``old`` had and ``new`` has not (inside the caller's
    transaction)."""
    conn.executemany(
        "DELETE FROM publications WHERE path = ?", [(path,) for path in old.keys() - new.keys()]
    )


def generation(conn: sqlite3.Connection) -> int:
    """Id of the newest load: changes when any process publishes."""
    return conn.execute("SELECT COALESCE(MAX(id), 0) FROM loads").fetchone()[0]


def due(conn: sqlite3.Connection) -> datetime | None:
    """When the newest load's documents change with the time passing, if ever."""
    row = conn.execute("SELECT due FROM loads ORDER BY id DESC LIMIT 1").fetchone()
    return parse_time(row[0]) if row and row[0] else None
