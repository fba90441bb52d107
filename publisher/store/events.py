"""Calendar events' history: when each was created and last changed, and its SEQUENCE.

RFC 5545 §3.8.7.4: SEQUENCE grows each time the organiser makes a significant revision;
calendar apps use it (with the UID) to update an event in place rather than add a copy. A
change is a new fingerprint (of everything the event shows); nothing else moves it, so the
same data gives the same SEQUENCE across restarts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from publisher.store.history import format_time, parse_time


@dataclass(frozen=True)
class State:
    """What history knows of an event: stable UID, when it was created and last changed,
    and its revision (SEQUENCE), which grows with each change."""

    uid: str
    created: datetime
    modified: datetime
    sequence: int


Known = dict[str, tuple[str, State]]  # uid -> (fingerprint, state)


def read(conn: sqlite3.Connection) -> Known:
    return {
        r["uid"]: (
            r["fingerprint"],
            State(r["uid"], parse_time(r["created"]), parse_time(r["modified"]), r["sequence"]),
        )
        for r in conn.execute("SELECT * FROM events")
    }


def record(
    conn: sqlite3.Connection, wanted: Mapping[str, str], now: datetime, known: Known
) -> Known:
    """Write events that are new or changed (``wanted``: uid -> fingerprint) inside the
    caller's transaction; return every event's state as it now is. Events not wanted stay
    stored, unchanged."""
    out = dict(known)
    rows = []
    for uid, fingerprint in wanted.items():
        old = known.get(uid)
        if old is not None and old[0] == fingerprint:
            continue
        if old is None:
            state = State(uid, now, now, 0)
        else:
            state = State(uid, old[1].created, now, old[1].sequence + 1)
        out[uid] = (fingerprint, state)
        rows.append(
            (uid, fingerprint, format_time(state.created), format_time(now), state.sequence)
        )
    conn.executemany(
        "INSERT OR REPLACE INTO events (uid, fingerprint, created, modified, sequence) "
        "VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    return out
