"""Open the database with the settings a multi-process service needs, and write safely.

WAL lets readers go on while one process writes; a busy timeout makes a second writer wait
instead of failing; every write is one ``BEGIN IMMEDIATE`` transaction, so a load is either
wholly in the database or not at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from publisher.store.migrations import migrate
from publisher.store.transaction import transaction

__all__ = ["checkpoint", "checkpoint_later", "connect", "open_read_only", "transaction"]

BUSY_TIMEOUT_MS = 30_000
#: SQLite's default: a COMMIT that takes the log past this many pages checkpoints.
WAL_AUTOCHECKPOINT = 1000


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    migrate(conn)
    return conn


def open_read_only(path: str | Path) -> sqlite3.Connection | None:
    """The database at ``path`` for reading only, or None if there is none: nothing is
    created or migrated (``publisher check`` reads what is published, changing nothing)."""
    path = Path(path)
    if not path.is_file():
        return None
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def checkpoint_later(conn: sqlite3.Connection) -> Iterator[None]:
    """No checkpoint in the COMMITs within: the caller runs ``checkpoint`` afterwards.
    Other writes on the connection checkpoint as usual."""
    conn.execute("PRAGMA wal_autocheckpoint=0")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")


def checkpoint(path: str | Path) -> None:
    """Copy committed pages from the write-ahead log into the database file.

    SQLite does this by itself in the COMMIT that takes the log past 1,000 pages; after a
    large load that was a quarter of a second inside the load, with its fsync. The loading
    connection turns that off for the load (``checkpoint_later``) and a thread calls
    this after the load instead. PASSIVE waits for no reader or writer; what it cannot copy
    now stays safely in the log for the next checkpoint."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        conn.close()
