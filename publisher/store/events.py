"""Calendar events' states as stored, one row per event ever published (``model.events``).

Events not published any more stay stored, unchanged: one that comes back continues its
SEQUENCE instead of restarting it.
"""

from __future__ import annotations

import sqlite3

from publisher.model.events import Known, State
from publisher.model.timestamps import format_time, parse_time


def read(conn: sqlite3.Connection) -> Known:
    return {
        r["uid"]: (
            r["fingerprint"],
            State(r["uid"], parse_time(r["created"]), parse_time(r["modified"]), r["sequence"]),
        )
        for r in conn.execute("SELECT * FROM events")
    }


def write(conn: sqlite3.Connection, revised: Known) -> None:
    """Store the states of new or changed events (``model.events.revised``), inside the
    caller's transaction."""
    conn.executemany(
        "INSERT OR REPLACE INTO events (uid, fingerprint, created, modified, sequence) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            (uid, fingerprint, format_time(s.created), format_time(s.modified), s.sequence)
            for uid, (fingerprint, s) in revised.items()
        ],
    )
