"""Reload by itself when a data file changes, once the files have been still for a moment.

An editor saving a file may write it in several steps; loading between them would read half a
file. So a change is acted on only after the folder has looked the same for WATCH_SETTLE
seconds. The clock and the wait are injected so tests need not sleep for real.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from publisher.directory.files import data_files

log = logging.getLogger(__name__)

Snapshot = tuple[tuple[str, int, int], ...]


def snapshot(folder: Path) -> Snapshot:
    """Name, size and modification time of every data file: cheap to take every tick.
    The files are the loader's own (``data_files``), so a hidden or editor file changing
    starts no reload."""
    out = []
    for path in data_files(folder):
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed between the listing and the stat
            continue
        out.append((path.name, stat.st_size, stat.st_mtime_ns))
    return tuple(out)


class Watcher:
    """Polls ``folder`` every ``interval`` seconds; calls ``on_change`` after it settles."""

    def __init__(
        self,
        folder: Path,
        on_change: Callable[[], None],
        interval: float,
        settle: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self.on_change = on_change
        self.interval = interval
        self.settle = settle
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.loaded = snapshot(folder)
        self._seen = self.loaded
        self._since = clock()

    def tick(self) -> bool:
        """One look at the folder; True when it called ``on_change``."""
        current = snapshot(self.folder)
        now = self.clock()
        if current != self._seen:
            self._seen, self._since = current, now
            return False
        if current == self.loaded or now - self._since < self.settle:
            return False
        self.loaded = current
        try:
            self.on_change()
        except Exception:  # logged; the last good publication stays served
            log.exception("Reload after a change to %s failed", self.folder)
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="publisher-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
