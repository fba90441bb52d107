"""Claims with a lease: how a worker takes rows that no other worker may take meanwhile.

The delivery queue (``deliveries``) and the requests waiting for verification (``intents``)
are both taken this way. A claim holds a row until ``claimed_until``; should the worker die,
the lease runs out and another worker takes the row again (at least once, never lost). Each
claim has a fresh token (``claim``), so a worker records only the rows it still holds: ids are
reused once a row is gone, and a lease may have run out meanwhile.
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import datetime
from typing import Literal

from publisher.model.timestamps import format_time
from publisher.store.transaction import transaction

#: The tables whose rows are claimed: each has id, due, claimed_until, claim and attempts.
Table = Literal["deliveries", "intents"]


def claim(
    conn: sqlite3.Connection,
    table: Table,
    columns: str,
    now: datetime,
    until: datetime,
    limit: int,
) -> list[sqlite3.Row]:
    """Take up to ``limit`` rows of ``table`` that are due at ``now`` and nobody holds,
    soonest first, holding them until ``until`` under a fresh claim token; one more attempt
    is counted for each. Returns their ``columns`` (a RETURNING list), in id order."""
    stamp = format_time(now)
    # Both names come from this package's code (``Table`` and the callers' constants).
    statement = (
        f"UPDATE {table} SET claimed_until = ?, claim = ?, attempts = attempts + 1"  # noqa: S608
        f" WHERE id IN (SELECT id FROM {table} WHERE due <= ?"
        " AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY due, id LIMIT ?)"
        f" RETURNING {columns}"
    )
    with transaction(conn):
        rows = conn.execute(
            statement, (format_time(until), secrets.token_hex(8), stamp, stamp, limit)
        ).fetchall()
    return sorted(rows, key=lambda row: row["id"])
