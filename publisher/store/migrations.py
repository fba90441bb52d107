"""Schema migrations: an ordered list; the schema version is its length.

Add new migrations at the end, never edit a published one. A database newer than this code
is refused rather than written to.
"""

from __future__ import annotations

import sqlite3

from publisher.store.transaction import transaction

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    -- One row per group ever published. entry_id is the tag: URI feeds use, and it never changes.
    CREATE TABLE entries (
        id INTEGER PRIMARY KEY,
        entry_id TEXT NOT NULL UNIQUE,
        slug TEXT NOT NULL UNIQUE,
        category TEXT NOT NULL,
        name TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        content TEXT NOT NULL,
        published TEXT NOT NULL,
        updated TEXT NOT NULL,
        removed TEXT
    );
    -- Every slug an entry has had, so old addresses redirect and returning slugs find their entry.
    CREATE TABLE slugs (
        slug TEXT PRIMARY KEY,
        entry INTEGER NOT NULL REFERENCES entries(id)
    );
    CREATE TABLE changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        entry INTEGER NOT NULL REFERENCES entries(id),
        kind TEXT NOT NULL CHECK (kind IN ('added', 'changed', 'removed')),
        fields TEXT NOT NULL,
        at TEXT NOT NULL,
        slug TEXT NOT NULL,
        name TEXT NOT NULL,
        categories TEXT NOT NULL
    );
    CREATE INDEX changes_at ON changes (at DESC, id DESC);
    -- The last good publication: what is served, also after a restart with broken data.
    CREATE TABLE publications (
        path TEXT PRIMARY KEY,
        status INTEGER NOT NULL,
        content_type TEXT NOT NULL,
        body BLOB NOT NULL,
        etag TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        location TEXT,
        key TEXT NOT NULL
    );
    CREATE TABLE loads (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        data_fingerprint TEXT NOT NULL,
        changes INTEGER NOT NULL
    );
    """,
    """
    -- One row per calendar event (a series or a one-off meeting) ever published, kept after
    -- it goes, so an event that comes back continues its SEQUENCE instead of restarting it.
    CREATE TABLE events (
        uid TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        created TEXT NOT NULL,
        modified TEXT NOT NULL,
        sequence INTEGER NOT NULL
    );
    -- The first moment the published documents change with the time passing (a meeting ends,
    -- or one comes within the 12 months of single-meeting files): a load after it renders
    -- again even if the data has not changed.
    ALTER TABLE loads ADD COLUMN due TEXT;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(RuntimeError):
    """The database was written by a newer publisher."""


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to SCHEMA_VERSION, one transaction per migration."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"The database has schema version {version}, newer than this publisher "
            f"({SCHEMA_VERSION}). Upgrade publisher, or point PUBLISHER_DATABASE elsewhere."
        )
    for number in range(version, SCHEMA_VERSION):
        with transaction(conn):
            if conn.execute("PRAGMA user_version").fetchone()[0] != number:
                continue  # another process migrated meanwhile
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number + 1}")
