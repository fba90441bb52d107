"""Which data folder a database publishes, recorded in ``meta`` at its first load.

A database holds one directory's permanent history (ids, changes, removals), so loading
another folder into it would rewrite that directory's site: its groups answering 410, the
other's entries in its changes feed for good. A folder is the recorded one when it is at
the same place, either absolutely (symlinks resolved) or relative to the database (a
checkout moved whole, database included, to another folder or machine). Anything else is
refused until adopted.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from publisher.model.errors import DataFolderError

log = logging.getLogger(__name__)

_KEYS = {"folder": "data_folder", "relative": "data_folder_relative", "title": "data_title"}


@dataclass(frozen=True)
class Folder:
    """A data folder as a database records it."""

    #: Its absolute path, symlinks resolved.
    folder: str
    #: Its path relative to the database's folder, as named (symlinks kept, so a link such
    #: as /srv/site/current/data stays the same folder whatever release it points to).
    relative: str
    #: The directory's title in site.yaml, to name it in messages.
    title: str

    def same_place(self, other: Folder) -> bool:
        return self.folder == other.folder or self.relative == other.relative


def of(data: Path, database: Path, title: str) -> Folder:
    """The record of data folder ``data`` published into ``database``."""
    relative = os.path.relpath(os.path.abspath(data), os.path.dirname(os.path.abspath(database)))
    return Folder(str(Path(data).resolve()), relative, title)


def read(conn: sqlite3.Connection) -> Folder | None:
    rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if _KEYS["folder"] not in rows:
        return None
    return Folder(**{field: rows.get(key, "") for field, key in _KEYS.items()})


def check(conn: sqlite3.Connection, given: Folder, database: Path, adopt: bool = False) -> bool:
    """Whether the database may publish the folder ``given``; raises DataFolderError,
    changing nothing, for another folder unless ``adopt`` (its message says how to adopt
    it). A database that has published nothing yet takes any folder: it has no history to
    protect. True when ``given`` must be recorded (``record``) with the load that
    publishes it: first load, adoption, or the same folder moved or retitled."""
    recorded = read(conn)
    if recorded == given:
        return False
    published = conn.execute("SELECT 1 FROM loads LIMIT 1").fetchone() is not None
    if recorded is not None and published and not recorded.same_place(given) and not adopt:
        raise DataFolderError(
            os.path.abspath(database),
            given.folder,
            (recorded.folder, recorded.title),
            (given.folder, given.title),
        )
    return True


def record(conn: sqlite3.Connection, given: Folder) -> None:
    """Record that the database publishes ``given``, inside the transaction of the load
    that publishes it: a load that fails (errors in the data, a refused mass removal)
    leaves the folder published until then recorded."""
    recorded = read(conn)
    if recorded is not None and not recorded.same_place(given):
        log.warning("The database now publishes %s (adopted).", given.folder)
    conn.executemany(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        [(key, getattr(given, field)) for field, key in _KEYS.items()],
    )
