"""The publication this process serves: what ``web/`` reads, and a load replaces.

The load (``publish.Publisher``) shows each publication here once it has committed it;
``refresh`` picks up one another process wrote (``publisher reload``). Web depends on this
alone, never on the load: it reads the documents by path and their WebSub topics, and
sets ``wake`` when a subscription request waits for the worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from publisher.model.publication import Publication
from publisher.model.publication import topics as topics_of
from publisher.store import publications as stored
from publisher.store.db import connect


@dataclass(frozen=True)
class Shown:
    """One publication as served, replaced whole: a request that reads the documents of
    one finds its topics too."""

    documents: Mapping[str, Publication]
    #: The paths of the documents' WebSub topics: listed once here, not by each hub
    #: request (docs/BENCHMARKS.md, "The hub under a flood of subscription requests").
    topics: frozenset[str]
    #: The store's load it came from (``store.publications.generation``).
    generation: int
    #: When its documents next change with the time passing (see calendars.upcoming).
    due: datetime | None


class CurrentPublication:
    """The publication served now, and the worker's wake-up call.

    Reads the stored publication at once, so a restart serves the last good one (even with
    broken data) before any load."""

    def __init__(
        self,
        database: str | Path,
        refresh_interval: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conn = connect(database)
        self._interval = refresh_interval
        self._monotonic = monotonic
        #: Held while what is shown changes: by a look (``refresh``), and by a whole load
        #: (publish.py), so that a look never reads what a load is about to show.
        self.lock = threading.RLock()
        self.shown = Shown({}, frozenset(), 0, None)
        #: Set when a load or a subscription request queued work: a worker in this process
        #: waits on it, and so does not wait for its next look.
        self.wake = threading.Event()
        self.refresh(force=True)

    @property
    def documents(self) -> Mapping[str, Publication]:
        """The documents served, by path."""
        return self.shown.documents

    @property
    def topics(self) -> frozenset[str]:
        return self.shown.topics

    @property
    def due(self) -> datetime | None:
        return self.shown.due

    def show(
        self, documents: Mapping[str, Publication], generation: int, due: datetime | None
    ) -> None:
        """Serve ``documents`` from now on: the load calls this after its commit."""
        with self.lock:
            self.shown = Shown(documents, topics_of(documents), generation, due)

    def refresh(self, force: bool = False) -> None:
        """Pick up a publication another process (``publisher reload``) wrote.

        Looks at most once per REFRESH_INTERVAL, so serving stays a dictionary look-up;
        ``force`` looks now, once a load or look under way has ended; without it, a load in
        progress is not waited for (requests keep the current publication meanwhile)."""
        now = self._monotonic()
        if not force and now - self._checked < self._interval:
            return
        if not self.lock.acquire(blocking=force):
            return
        try:
            self._checked = now
            # Generation first: should another process publish in between, the next look
            # sees a newer generation and reads again, instead of never.
            generation = stored.generation(self._conn)
            if generation != self.shown.generation:
                self.show(stored.load_all(self._conn), generation, stored.due(self._conn))
        finally:
            self.lock.release()

    def close(self) -> None:
        """Close the database. Not under the lock: a shutdown waits for no look."""
        self._conn.close()
