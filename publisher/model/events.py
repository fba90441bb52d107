"""Calendar events' history: when each was created and last changed, and its SEQUENCE.

RFC 5545 §3.8.7.4: SEQUENCE grows each time the organiser makes a significant revision;
calendar apps use it (with the UID) to update an event in place rather than add a copy. A
change is a new fingerprint (of everything the event shows); nothing else moves it, so the
same data gives the same SEQUENCE across restarts. The store keeps the states
(``store.events``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class State:
    """What history knows of an event: stable UID, when it was created and last changed,
    and its revision (SEQUENCE), which grows with each change."""

    uid: str
    created: datetime
    modified: datetime
    sequence: int


Known = dict[str, tuple[str, State]]  # uid -> (fingerprint, state)


def revised(wanted: Mapping[str, str], now: datetime, known: Known) -> Known:
    """The events of ``wanted`` (uid -> fingerprint) that are new or changed since
    ``known``, with their new states: a new event starts at SEQUENCE 0, a changed one keeps
    its created date and counts one more revision."""
    out: Known = {}
    for uid, fingerprint in wanted.items():
        old = known.get(uid)
        if old is not None and old[0] == fingerprint:
            continue
        if old is None:
            state = State(uid, now, now, 0)
        else:
            state = State(uid, old[1].created, now, old[1].sequence + 1)
        out[uid] = (fingerprint, state)
    return out
