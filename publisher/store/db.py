"""Open the database with the settings a multi-process service needs, and write safely.

WAL lets readers go on while one process writes; a busy timeout makes a second writer wait
instead of failing; every write is one ``BEGIN IMMEDIATE`` transaction, so a load is either
wholly in the database or not at all.

A process migrates once, when it starts (``connect(path, migrate=True)``: the app, or a
command); every connection opened after that only opens the database (docs/ARCHITECTURE.md,
"Connections").
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from publisher.store import migrations
from publisher.store.transaction import transaction

__all__ = [
    "Pool",
    "checkpoint",
    "checkpoint_later",
    "connect",
    "open_read_only",
    "transaction",
]

BUSY_TIMEOUT_MS = 30_000
#: SQLite's default: a COMMIT that takes the log past this many pages checkpoints.
WAL_AUTOCHECKPOINT = 1000


def connect(path: str | Path, *, migrate: bool = False) -> sqlite3.Connection:
    """Open the database at ``path`` for reading and writing.

    ``migrate``: the first connection of a process, at its start: create the database if
    needed, put it in WAL mode (which the file then keeps) and bring its schema up to date.
    Without it the database must be there already (it is never created empty), and the
    connection sets only what each connection needs."""
    path = Path(path)
    if migrate:
        path.parent.mkdir(parents=True, exist_ok=True)
    where = path if migrate else f"{path.resolve().as_uri()}?mode=rw"
    conn = sqlite3.connect(
        where,
        uri=not migrate,
        isolation_level=None,
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
    )
    conn.row_factory = sqlite3.Row
    if migrate:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    if migrate:
        migrations.migrate(conn)
    return conn


class Pool:
    """Connections for short uses from any thread, such as one request: a use borrows an
    idle connection (opening one when none is idle) and gives it back for the next. So a
    request neither opens the database nor migrates it; the pool holds as many connections
    as there were uses at once, until ``close``."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def borrow(self) -> Iterator[sqlite3.Connection]:
        """A connection for the ``with`` block, used by one thread at a time.
        sqlite3.OperationalError if the database cannot be opened."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = connect(self.path)
        try:
            yield conn
        finally:
            with self._lock:
                keep = not self._closed
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def close(self) -> None:
        """Close the idle connections now, and those borrowed when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


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
