"""Entry history: stable ids, first-published and updated times, and the change log.

``diff`` compares a validated directory with the history known so far and works out only
real changes, so an unchanged group keeps its dates across restarts (the dates feeds carry
are facts, not build times). It is pure: the store reads the known history and writes what
``diff`` found (``store.history``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from publisher.model.directory import Directory, Group
from publisher.model.errors import MassRemovalError, SlugTakenError


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


#: The content of an entry as stored (its canonical JSON), by entry id.
StoredContent = Callable[[int], str]


@dataclass(frozen=True)
class Diff:
    """One load's changes, worked out before anything is written: the history as it will
    be, and what the store writes for it (entries added, updated or removed with the group
    each now holds, new slugs, the change log)."""

    history: History
    added: list[tuple[Entry, Group]]
    updated: list[tuple[Entry, Group]]
    removed: list[Entry]
    slugs: list[tuple[str, int]]
    changes: list[Change]


def _changed_fields(stored: StoredContent, entry: Entry, group: Group) -> list[str]:
    """Names of the top-level fields that differ from the stored copy ("slug" if renamed).

    Equal fingerprints mean equal content; only a group that changed has its stored copy
    read back and compared field by field."""
    fields = []
    if entry.fingerprint != group.fingerprint:
        old, new = json.loads(stored(entry.id)), json.loads(group.content)
        fields = [k for k in old.keys() | new.keys() if old.get(k) != new.get(k)]
    if entry.slug != group.slug:
        fields.append("slug")
    return sorted(fields)


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


def diff(
    directory: Directory,
    now: datetime,
    base: str,
    known: History,
    max_changes: int,
    stored: StoredContent,
    confirm_removals: bool = False,
) -> Diff:
    """The differences between ``directory`` and the history ``known`` (as the store read
    it, or a previous ``diff`` gave it). ``stored`` gives an entry's stored content; it is
    asked only for a group whose fingerprint changed.

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
    added: list[tuple[Entry, Group]] = []
    updated: list[tuple[Entry, Group]] = []
    removed: list[Entry] = []
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
            added.append((entry, group))
            changed(entry, "added", [], [group.category])
        else:
            old = rows[entry_id]
            fields = _changed_fields(stored, old, group)
            if fields or old.removed is not None:
                entry = rows[entry_id] = replace(
                    old,
                    slug=group.slug,
                    category=group.category,
                    name=group.name,
                    fingerprint=group.fingerprint,
                    updated=stamp(),
                    removed=None,
                )
                if old.removed is not None:  # back after a removal: same id and first date
                    changed(entry, "added", ["restored", *fields], [group.category])
                else:
                    changed(entry, "changed", fields, [group.category, old.category])
                updated.append((entry, group))
            entry = rows[entry_id]
        for slug in (group.slug, *group.previous_slugs):
            if slug not in slugs:
                new_slugs.append((slug, entry.id))
                slugs[slug] = entry.id
    for entry_id in sorted(removing):
        at = stamp()
        entry = rows[entry_id] = replace(rows[entry_id], updated=at, removed=at)
        removed.append(entry)
        changed(entry, "removed", [], [entry.category])

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
    return Diff(view, added, updated, removed, new_slugs, log)
