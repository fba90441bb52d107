"""Entry history: stable ids, first-published and updated times, and the change log.

``record`` compares a validated directory with what the database knows and works out only
real changes, so an unchanged group keeps its dates across restarts (the dates feeds carry
are facts, not build times); ``write`` stores them, inside the caller's transaction.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from publisher.model.directory import Directory, Group
from publisher.model.errors import MassRemovalError, SlugTakenError


def format_time(moment: datetime) -> str:
    """UTC, RFC 3339 with microseconds and Z: the one time format in the database.

    Always six digits of fraction, so the text sorts as the time does. isoformat rather
    than strftime, and remembered: a cold load of 10,000 groups writes 40,000 times, most
    of them the same few. Remembered by the UTC time: two local times an hour apart in the
    hour the clocks go back compare equal, but are not the same instant.
    """
    return _format_utc(moment.astimezone(UTC))


@lru_cache(maxsize=1 << 14)
def _format_utc(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)  # reads the Z as UTC; far faster than strptime


@dataclass(frozen=True)
class Entry:
    """What the history knows of one group."""

    id: int
    entry_id: str
    slug: str
    category: str
    name: str
    fingerprint: str
    published: datetime
    updated: datetime
    removed: datetime | None


@dataclass(frozen=True)
class Change:
    """One real change: a group added, changed (which fields) or removed."""

    id: int
    entry: int
    entry_id: str
    kind: str
    fields: tuple[str, ...]
    at: datetime
    slug: str
    name: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class History:
    """A read-only view of the history, as renderers need it."""

    tag_base: str
    created: datetime
    entries: tuple[Entry, ...]
    slugs: dict[str, int]
    changes: tuple[Change, ...]  # the newest, newest first
    newest_by_category: dict[str, datetime]
    last_change_id: int

    def newest(self, category: str | None = None) -> datetime:
        """Time of the newest change in ``category`` (or anywhere), removals included."""
        if category is None:
            return max(self.newest_by_category.values(), default=self.created)
        return self.newest_by_category.get(category, self.created)

    def active(self) -> dict[str, Entry]:
        return {e.slug: e for e in self.entries if e.removed is None}

    def by_id(self) -> dict[int, Entry]:
        return {e.id: e for e in self.entries}


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


def _changed_fields(conn: sqlite3.Connection, entry: Entry, group: Group) -> list[str]:
    """Names of the top-level fields that differ from the stored copy ("slug" if renamed).

    Equal fingerprints mean equal content; only a group that changed has its stored copy
    read back and compared field by field."""
    fields = []
    if entry.fingerprint != group.fingerprint:
        stored = conn.execute("SELECT content FROM entries WHERE id = ?", (entry.id,))
        old, new = json.loads(stored.fetchone()[0]), json.loads(group.content)
        fields = [k for k in old.keys() | new.keys() if old.get(k) != new.get(k)]
    if entry.slug != group.slug:
        fields.append("slug")
    return sorted(fields)


def _columns(group: Group) -> tuple[str, str, str, str, str]:
    """slug, category, name, fingerprint, content: the entry columns a load writes."""
    return (group.slug, group.category, group.name, group.fingerprint, group.content)


def _match(
    directory: Directory, rows: dict[int, Entry], slug_to_entry: dict[str, int]
) -> list[tuple[Group, int | None]]:
    """Pair each group with its history entry (None for a new group).

    A group's current slug wins; then its previous slugs (a rename) or an old slug of its
    own (a return after removal). An old slug of a group that is still listed cannot be
    given to another group: slugs are permanent, and its old address redirects there.
    """
    by_current = {e.slug: i for i, e in rows.items()}
    claimed = {by_current[g.slug] for g in directory.groups if g.slug in by_current}
    plan: list[tuple[Group, int | None]] = []
    for group in directory.groups:
        entry = by_current.get(group.slug)
        if entry is None:
            for slug in (group.slug, *group.previous_slugs):
                candidate = slug_to_entry.get(slug)
                if candidate is None:
                    continue
                if candidate in claimed:
                    owner = rows[candidate]
                    raise SlugTakenError(slug, group.source, group.name, owner.name, owner.slug)
                entry = candidate
                claimed.add(entry)
                break
        plan.append((group, entry))
    return plan


@dataclass(frozen=True)
class Writes:
    """The rows that store one load's changes, worked out before any is written: the
    loading process writes them while helper processes render (publisher.publish)."""

    updates: list[tuple[object, ...]]
    removals: list[tuple[object, ...]]
    inserts: list[tuple[object, ...]]
    slugs: list[tuple[str, int]]
    changes: list[tuple[object, ...]]


def record(
    conn: sqlite3.Connection,
    directory: Directory,
    now: datetime,
    base: str,
    known: History,
    max_changes: int,
    confirm_removals: bool = False,
) -> tuple[int, History, Writes]:
    """The differences between ``directory`` and the history ``known`` (as ``read`` gave
    it, or a previous ``record``): how many, the history as it will be, and the rows that
    store them (``write``). Reads the stored copy of a changed group; writes nothing.

    Raises MassRemovalError when more than half of the present groups would go and
    ``confirm_removals`` is false: a truncated file must not empty every feed.
    The new history is worked out here rather than read back after writing, so a one-field
    edit of a large directory stays cheap.
    """
    rows = {e.id: e for e in known.entries}
    slugs = dict(known.slugs)
    present = {i for i, e in rows.items() if e.removed is None}
    plan = _match(directory, rows, slugs)
    seen = {entry for _, entry in plan if entry is not None}
    removing = present - seen
    if present and len(removing) * 2 > len(present) and not confirm_removals:
        raise MassRemovalError([rows[i].slug for i in removing], len(present))

    # Changes of one load are a microsecond apart, the first group in directory order the
    # newest: feeds then list a first load in directory order, and no two entries share an
    # atom:updated (the W3C feed validator warns of that, as some aggregators key on it).
    # Two loads within one second still get increasing times, or readers would miss the
    # second edit (its updated date would not move).
    start = now.astimezone(UTC).replace(microsecond=0)
    last = max(known.newest_by_category.values(), default=None)
    if last is not None:
        start = max(start, last + timedelta(microseconds=1))
    offsets = iter(range(len(plan) + len(removing), -1, -1))

    def stamp() -> datetime:
        return start + timedelta(microseconds=next(offsets))

    next_id = max(rows, default=0) + 1
    inserts: list[tuple[object, ...]] = []
    updates: list[tuple[object, ...]] = []
    removals: list[tuple[object, ...]] = []
    new_slugs: list[tuple[str, int]] = []
    log: list[Change] = []

    def changed(entry: Entry, kind: str, fields: list[str], categories: list[str]) -> None:
        log.append(
            Change(
                id=known.last_change_id + len(log) + 1,
                entry=entry.id,
                entry_id=entry.entry_id,
                kind=kind,
                fields=tuple(fields),
                at=entry.updated,
                slug=entry.slug,
                name=entry.name,
                categories=tuple(sorted(set(categories))),
            )
        )

    for group, entry_id in plan:
        if entry_id is None:
            at = stamp()
            entry = rows[next_id] = Entry(
                next_id,
                f"{base}groups/{group.slug}",
                group.slug,
                group.category,
                group.name,
                group.fingerprint,
                at,
                at,
                None,
            )
            next_id += 1
            inserts.append((entry.id, entry.entry_id, *_columns(group), *[format_time(at)] * 2))
            changed(entry, "added", [], [group.category])
        else:
            old = rows[entry_id]
            fields = _changed_fields(conn, old, group)
            if fields or old.removed is not None:
                at = stamp()
                entry = rows[entry_id] = replace(
                    old,
                    slug=group.slug,
                    category=group.category,
                    name=group.name,
                    fingerprint=group.fingerprint,
                    updated=at,
                    removed=None,
                )
                if old.removed is not None:  # back after a removal: same id and first date
                    changed(entry, "added", ["restored", *fields], [group.category])
                else:
                    changed(entry, "changed", fields, [group.category, old.category])
                updates.append((*_columns(group), format_time(at), entry_id))
            entry = rows[entry_id]
        for slug in (group.slug, *group.previous_slugs):
            if slug not in slugs:
                new_slugs.append((slug, entry.id))
                slugs[slug] = entry.id
    for entry_id in sorted(removing):
        at = stamp()
        entry = rows[entry_id] = replace(rows[entry_id], updated=at, removed=at)
        removals.append((format_time(at), format_time(at), entry_id))
        changed(entry, "removed", [], [entry.category])

    writes = Writes(
        updates,
        removals,
        inserts,
        new_slugs,
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
            for c in log
        ],
    )
    newest = dict(known.newest_by_category)
    for change in log:
        for category in change.categories:
            newest[category] = max(change.at, newest.get(category, change.at))
    latest = sorted(log, key=lambda c: (c.at, c.id), reverse=True)
    view = replace(
        known,
        entries=tuple(rows[i] for i in sorted(rows)),
        slugs=slugs,
        changes=tuple([*latest, *known.changes][:max_changes]),
        newest_by_category=newest,
        last_change_id=known.last_change_id + len(log),
    )
    return len(log), view, writes


def write(conn: sqlite3.Connection, writes: Writes) -> None:
    """Store what ``record`` worked out: one statement per table."""
    # Renames free their old slug (UNIQUE) before another entry may take it: update first.
    conn.executemany(
        "UPDATE entries SET slug = ?, category = ?, name = ?, fingerprint = ?, content = ?, "
        "updated = ?, removed = NULL WHERE id = ?",
        writes.updates,
    )
    conn.executemany("UPDATE entries SET removed = ?, updated = ? WHERE id = ?", writes.removals)
    conn.executemany(
        "INSERT INTO entries (id, entry_id, slug, category, name, fingerprint, content, "
        "published, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        writes.inserts,
    )
    conn.executemany("INSERT INTO slugs (slug, entry) VALUES (?, ?)", writes.slugs)
    conn.executemany(
        "INSERT INTO changes (id, entry, kind, fields, at, slug, name, categories) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        writes.changes,
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
