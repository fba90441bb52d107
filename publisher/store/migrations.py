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
    """
    -- Verified WebSub subscriptions (W3C WebSub §5). topic is the path of a feed or calendar.
    -- The secret is never logged, shown or returned.
    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        callback TEXT NOT NULL,
        topic TEXT NOT NULL,
        secret TEXT,
        lease_seconds INTEGER NOT NULL,
        created TEXT NOT NULL,
        verified TEXT NOT NULL,
        expires TEXT NOT NULL,
        UNIQUE (callback, topic)
    );
    CREATE INDEX subscriptions_topic ON subscriptions (topic, expires);
    -- Subscribe and unsubscribe requests waiting for the verification of intent (§5.3).
    CREATE TABLE intents (
        id INTEGER PRIMARY KEY,
        mode TEXT NOT NULL CHECK (mode IN ('subscribe', 'unsubscribe')),
        callback TEXT NOT NULL,
        host TEXT NOT NULL,
        topic TEXT NOT NULL,
        secret TEXT,
        lease_seconds INTEGER NOT NULL,
        created TEXT NOT NULL,
        due TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        claimed_until TEXT
    );
    CREATE INDEX intents_due ON intents (due);
    CREATE INDEX intents_host ON intents (host);
    -- What deliveries send, stored once however many subscribers get it.
    CREATE TABLE payloads (
        hash TEXT PRIMARY KEY,
        content_type TEXT NOT NULL,
        body BLOB NOT NULL
    );
    -- The delivery queue: a POST of a payload to a URL, signed when there is a secret. One
    -- row per key (a subscription's topic, or a hub's), so a newer document replaces an
    -- undelivered older one, and version tells a send in flight that it has been replaced.
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        payload TEXT NOT NULL REFERENCES payloads(hash),
        headers TEXT NOT NULL,
        secret TEXT,
        subscription INTEGER REFERENCES subscriptions(id) ON DELETE CASCADE,
        version INTEGER NOT NULL DEFAULT 1,
        created TEXT NOT NULL,
        due TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        claimed_until TEXT,
        last_error TEXT
    );
    CREATE INDEX deliveries_due ON deliveries (due);
    -- Deliveries given up after HUB_RETRY_FOR, for the operator. The subscription stays.
    CREATE TABLE failures (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        url TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        first TEXT NOT NULL,
        last TEXT NOT NULL,
        error TEXT NOT NULL
    );
    """,
    """
    -- A fresh token per claim: a worker records only the rows it still holds, since ids
    -- are reused once a row is gone and a lease may have run out meanwhile.
    ALTER TABLE deliveries ADD COLUMN claim TEXT;
    ALTER TABLE intents ADD COLUMN claim TEXT
    """,
    """
    -- What each published document is (model.publication.Kind): it decides the headers the
    -- document is served with. Documents stored before are told apart by their address, as
    -- the code did until then.
    ALTER TABLE publications ADD COLUMN kind TEXT NOT NULL DEFAULT 'page';
    UPDATE publications SET kind = CASE
        WHEN path GLOB '/feeds/*' THEN 'feed'
        WHEN path GLOB '/feeds*' THEN 'outline'
        WHEN path GLOB '/calendars/*' THEN 'calendar'
        WHEN path GLOB '/embed/*' AND content_type GLOB 'text/html*' THEN 'embed-page'
        WHEN path GLOB '/embed/*' THEN 'embed-data'
        WHEN path GLOB '/static/*' THEN 'asset'
        ELSE 'page'
    END
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
