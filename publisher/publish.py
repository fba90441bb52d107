"""Load the data folder and publish it: validate, record history, render, store, show.

One ``Publisher`` per process: the load pipeline. A load is one database transaction
(history, changes and the new publication together), and the publication is shown
(``current.CurrentPublication``, what web serves) only after it commits: invalid data, a
refused mass removal or a crash mid-way leave the last good one in place.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from publisher import calendars
from publisher.config import Settings
from publisher.current import CurrentPublication
from publisher.directory import files
from publisher.directory.validate import load_directory
from publisher.helpers import Helpers
from publisher.hub import fanout
from publisher.model.directory import Directory
from publisher.model.directory import Site as DirectorySite
from publisher.model.events import Known, State, revised
from publisher.model.history import History, diff
from publisher.model.timestamps import format_time
from publisher.publication import Memo, build, prepare_helper
from publisher.render.common import Site
from publisher.store import events as event_store
from publisher.store import history, identity
from publisher.store import publications as stored
from publisher.store.db import checkpoint, checkpoint_later, connect, transaction
from publisher.version import render_version

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
GC_EVERY = 16


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LoadResult:
    """What a load did: entry changes recorded, documents rendered, or nothing to do."""

    changes: int
    rendered: int
    unchanged: bool = False
    #: Chunks of parsing and rendering that helper processes did (publisher.helpers).
    helped: int = 0

    def __str__(self) -> str:
        if self.unchanged:
            return "The data has not changed since the last load; nothing to do."
        return f"Loaded: {self.changes} change(s) recorded, {self.rendered} document(s) rendered."


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while loading.

    A cold load of 10,000 groups makes millions of objects that nearly all live on, and the
    collector walked them over and over, about a quarter of a second of the load. Objects
    freed by reference counting are freed meanwhile as ever; the little cyclic garbage a
    load leaves is collected once collection resumes (``_settle_memory``)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def data_folder(settings: Settings) -> identity.Folder:
    """The settings' data folder as a database records it (publisher.store.identity)."""
    data = Path(settings.data)
    return identity.of(data, Path(settings.database), files.site_title(data))


def check_folder(conn: sqlite3.Connection, settings: Settings) -> None:
    """Raise DataFolderError if the database publishes another data folder than the
    settings' (publisher serve checks before it starts)."""
    identity.check(conn, data_folder(settings), Path(settings.database))


class Publisher:
    """The load pipeline: its database connection (opened first in a process, so it
    migrates), what it keeps between loads, and the publication it shows (``current``)."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.data = Path(settings.data)
        self.conn = connect(settings.database, migrate=True)
        #: What this process serves: the stored publication until a load shows another.
        self.current = CurrentPublication(settings.database, settings.refresh_interval, monotonic)
        self._checkpointer: threading.Thread | None = None
        self._loads = 0
        #: The history and events' states as of the load ``generation``, kept so a load
        #: need not read them back.
        self.generation = 0
        self.history: History | None = None
        self.events: Known | None = None
        self._memo = Memo()

    def close(self) -> None:
        """Close the database. Not under the load lock: a shutdown must not wait for a
        load, whose transaction simply does not commit."""
        if self._checkpointer is not None:
            self._checkpointer.join()
        self.current.close()
        self.conn.close()

    def _checkpoint(self) -> None:
        """Move the load's pages into the database file on another thread (SQLite works
        without the GIL), once the new publication is served: at 10,000 groups that is
        about 66 MB, a fifth of a second not spent inside the load."""
        if self._checkpointer is not None:
            self._checkpointer.join()
        self._checkpointer = threading.Thread(
            target=checkpoint, args=(self.settings.database,), name="checkpoint", daemon=True
        )
        self._checkpointer.start()

    def _state(self, contents: files.Contents) -> str:
        """Fingerprint of everything a load depends on: files, settings that show, code."""
        s = self.settings
        parts = (
            files.fingerprint(contents),
            s.base_url,
            s.name,
            s.feed_max_entries,
            s.hub_urls,
            s.calendar_refresh,
            render_version(),
        )
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def site(self, directory_site: DirectorySite, tag_base: str) -> Site:
        return Site(
            base=self.settings.base,
            publisher=self.settings.name,
            title=directory_site.title,
            description=directory_site.description,
            language=directory_site.language,
            hubs=self.settings.hub_urls,
            feed_max_entries=self.settings.feed_max_entries,
            tag_base=tag_base,
            calendar_refresh=self.settings.calendar_refresh,
            time_zone=directory_site.time_zone,
        )

    def reload(self, confirm_removals: bool = False, adopt: bool = False) -> LoadResult:
        """Load the data folder and publish it. ``adopt``: publish it even if the database
        published another folder until now (publisher.store.identity).

        Raises a PublisherError, changing nothing (an adoption included):
        DataFolderError (the database publishes another folder), DirectoryError (the
        checker's problems), MassRemovalError (unconfirmed removal of more than half),
        SlugTakenError.
        """
        with (
            self.current.lock,  # one load at a time, and no look at the store meanwhile
            _collector_paused(),
            Helpers(self.settings.load_helpers, version=render_version) as helpers,
        ):
            folder = data_folder(self.settings)
            unrecorded = identity.check(self.conn, folder, Path(self.settings.database), adopt)
            contents = files.read_folder(self.data)
            state = self._state(contents)
            row = self.conn.execute(
                "SELECT data_fingerprint FROM loads ORDER BY id DESC LIMIT 1"
            ).fetchone()
            now = self.clock()
            due = stored.due(self.conn)
            if row and row[0] == state and self.current.documents and (due is None or now < due):
                if unrecorded:  # the same data, moved or adopted: nothing else to load
                    with transaction(self.conn):
                        identity.record(self.conn, folder)
                self.current.refresh(force=True)  # should another process have published
                return LoadResult(0, 0, unchanged=True)
            directory = load_directory(
                self.data, contents, helpers.map, partial(history.owner, self.conn)
            )
            helpers.warm(prepare_helper)  # while this process records the history
            max_changes = self.settings.feed_max_entries
            with checkpoint_later(self.conn), transaction(self.conn):
                if unrecorded:
                    identity.record(self.conn, folder)
                base = history.tag_base(
                    self.conn, self.settings.tag_authority, self.settings.base_url, now
                )
                previous, known, known_events = self.current.documents, self.history, self.events
                if (
                    known is None
                    or known_events is None
                    or stored.generation(self.conn) != self.generation
                ):
                    # First load here, or another process published: read what it wrote.
                    previous = stored.load_all(self.conn)
                    known = history.read(self.conn, max_changes)
                    known_events = event_store.read(self.conn)
                found = diff(
                    directory,
                    now,
                    base,
                    known,
                    max_changes,
                    partial(history.content, self.conn),
                    confirm_removals,
                )
                view, count = found.history, len(found.changes)
                cal, event_states = self._calendars(directory, view, now, known_events)
                pubs, rendered = build(
                    directory,
                    view,
                    self.site(directory.site, base),
                    previous,
                    now,
                    self._memo,
                    cal,
                    helpers.each,
                    # While helpers render, this process stores what it can.
                    alongside=partial(history.write, self.conn, found),
                    keep=partial(stored.save, self.conn),
                )
                stored.remove_gone(self.conn, pubs, previous)
                queued = fanout.queue_change(self.conn, previous, pubs, self.settings, now)
                cur = self.conn.execute(
                    "INSERT INTO loads (at, data_fingerprint, changes, due) VALUES (?, ?, ?, ?)",
                    (
                        format_time(now),
                        state,
                        count,
                        format_time(cal.due) if cal.due else None,
                    ),
                )
            self.generation = cur.lastrowid or 0
            self.current.show(pubs, self.generation, cal.due)
            self.history, self.events = view, event_states
            if queued:
                self.current.wake.set()  # the worker sends them without waiting for its look
            self._checkpoint()
            self._settle_memory()
            result = LoadResult(count, rendered, helped=helpers.chunks_helped)
            log.info("%s", result)
            if result.helped:
                log.debug("Helper processes did %d chunks of this load.", result.helped)
            return result

    def _calendars(
        self,
        directory: Directory,
        view: History,
        now: datetime,
        known: Known,
    ) -> tuple[calendars.Calendars, Known]:
        """Record the events' changes (in the load's transaction); what calendars need."""
        recorded: Known = {}

        def states_for(wanted: dict[str, str]) -> dict[str, State]:
            changed = revised(wanted, now, known)
            event_store.write(self.conn, changed)
            recorded.update(known)
            recorded.update(changed)
            return {uid: state for uid, (_, state) in recorded.items()}

        return calendars.prepare(directory, view, now, states_for), recorded

    def reload_if_due(self) -> LoadResult | None:
        """Render again once the time has passed the end of a listed meeting (or brought
        one within the window): the next meetings move on without a data change."""
        due = self.current.due
        if due is None or self.clock() < due:
            return None
        return self.reload()

    def _settle_memory(self) -> None:
        """Keep the cyclic garbage collector off the live directory and publications.

        They live until the next load, and at 10,000 groups the collector walking them cost
        more than a whole one-field reload. Frozen objects are never collected, so every
        GC_EVERY loads the old ones are unfrozen and collected once, which bounds the cyclic
        garbage loads leave behind.
        """
        self._loads += 1
        if self._loads % GC_EVERY == 0:
            gc.unfreeze()
            gc.collect()
        gc.freeze()
