"""Entry history as stored: the tag base, entries, slugs and the change log.

``read`` gives the history a load compares the directory with (``model.history.diff``, which
works out the changes) and ``write`` stores what it found, inside the caller's transaction.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlsplit

from publisher.model.directory import Group
from publisher.model.history import Change, Diff, Entry, History
from publisher.model.timestamps import format_time, parse_time


def tag_base(conn: sqlite3.Connection, authority: str, base_url: str, now: datetime) -> str:
    """RFC 4151 ``tag:authority,date:`` prefix, fixed at the first run and stored.

    Ids then stay the same when the service moves host or scheme. The first run's time is
    stored too, as the date of documents that have never had a change.
    """
    row = conn.execute("SELECT value FROM meta WHERE key = 'tag_base'").fetchone()
    if row:
        return row["value"]
    host = (urlsplit(base_url).hostname or "").lower()
    if not authority:  # RFC 4151 wants a domain name: an IP address becomes localhost
        authority = host if re.search(r"[a-z]", host) and ":" not in host else "localhost"
    value = f"tag:{authority},{now.astimezone(UTC):%Y-%m-%d}:"
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [("tag_base", value), ("created", format_time(now))],
    )
    return value


def _entry(row: sqlite3.Row) -> Entry:
    return Entry(
        id=row["id"],
        entry_id=row["entry_id"],
        slug=row["slug"],
        category=row["category"],
        name=row["name"],
        fingerprint=row["fingerprint"],
        published=parse_time(row["published"]),
        updated=parse_time(row["updated"]),
        removed=parse_time(row["removed"]) if row["removed"] else None,
    )


def owner(conn: sqlite3.Connection, slug: str) -> Entry | None:
    """The entry whose address ``slug`` is or was (slugs are permanent), if any: the checker
    asks, to report a slug used twice at the group that has to change. Only a message
    depends on it, so a database it cannot read (an older one) just means no answer."""
    try:
        row = conn.execute(
            "SELECT e.id, entry_id, e.slug, category, name, fingerprint, published, updated, "
            "removed FROM slugs JOIN entries AS e ON e.id = slugs.entry WHERE slugs.slug = ?",
            (slug,),
        ).fetchone()
    except sqlite3.Error:
        return None
    return _entry(row) if row else None


def content(conn: sqlite3.Connection, entry: int) -> str:
    """The stored content of an entry (its canonical JSON): what a changed group is
    compared with, field by field (``model.history.diff``)."""
    return conn.execute("SELECT content FROM entries WHERE id = ?", (entry,)).fetchone()[0]


def _columns(group: Group) -> tuple[str, str, str, str, str]:
    """slug, category, name, fingerprint, content: the entry columns a load writes."""
    return (group.slug, group.category, group.name, group.fingerprint, group.content)


def write(conn: sqlite3.Connection, diff: Diff) -> None:
    """Store what ``model.history.diff`` worked out: one statement per table."""
    # Renames free their old slug (UNIQUE) before another entry may take it: update first.
    conn.executemany(
        "UPDATE entries SET slug = ?, category = ?, name = ?, fingerprint = ?, content = ?, "
        "updated = ?, removed = NULL WHERE id = ?",
        [(*_columns(g), format_time(e.updated), e.id) for e, g in diff.updated],
    )
    conn.executemany(
        "UPDATE entries SET removed = ?, updated = ? WHERE id = ?",
        [(format_time(e.updated), format_time(e.updated), e.id) for e in diff.removed],
    )
    conn.executemany(
        "INSERT INTO entries (id, entry_id, slug, category, name, fingerprint, content, "
        "published, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (e.id, e.entry_id, *_columns(g), format_time(e.published), format_time(e.updated))
            for e, g in diff.added
        ],
    )
    conn.executemany("INSERT INTO slugs (slug, entry) VALUES (?, ?)", diff.slugs)
    conn.executemany(
        "INSERT INTO changes (id, entry, kind, fields, at, slug, name, categories) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                c.id,
                c.entry,
                c.kind,
                _json_list(c.fields),
                format_time(c.at),
                c.slug,
                c.name,
                _json_list(c.categories),
            )
            for c in diff.changes
        ],
    )


@lru_cache(maxsize=1024)
def _json_list(items: tuple[str, ...]) -> str:
    """A change's fields or categories as stored: few distinct lists for 10,000 changes."""
    return json.dumps(list(items))


def read(conn: sqlite3.Connection, max_changes: int) -> History:
    """Everything renderers need from the history, newest changes first."""
    meta = {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM meta")}
    entries = tuple(
        _entry(r)
        for r in conn.execute(
            "SELECT id, entry_id, slug, category, name, fingerprint, published, updated, "
            "removed FROM entries ORDER BY id"
        )
    )
    ids = {e.id: e.entry_id for e in entries}
    changes = tuple(
        Change(
            id=r["id"],
            entry=r["entry"],
            entry_id=ids[r["entry"]],
            kind=r["kind"],
            fields=tuple(json.loads(r["fields"])),
            at=parse_time(r["at"]),
            slug=r["slug"],
            name=r["name"],
            categories=tuple(json.loads(r["categories"])),
        )
        for r in conn.execute(
            "SELECT * FROM changes ORDER BY at DESC, id DESC LIMIT ?", (max_changes,)
        )
    )
    slugs = {r["slug"]: r["entry"] for r in conn.execute("SELECT slug, entry FROM slugs")}
    newest: dict[str, datetime] = {}
    for r in conn.execute("SELECT categories, MAX(at) AS at FROM changes GROUP BY categories"):
        for category in json.loads(r["categories"]):
            at = parse_time(r["at"])
            newest[category] = max(at, newest.get(category, at))
    created = meta.get("created")
    last_change_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM changes").fetchone()[0]
    return History(
        tag_base=meta.get("tag_base", ""),
        created=parse_time(created) if created else datetime(1970, 1, 1, tzinfo=UTC),
        entries=entries,
        slugs=slugs,
        changes=changes,
        newest_by_category=newest,
        last_change_id=last_change_id,
    )
