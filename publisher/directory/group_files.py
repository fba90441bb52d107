"""Each file of groups checked on its own, and its result kept by its bytes: a reload parses
only the files that changed, and a large first load may check them on other processes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from publisher.directory import schedule, schedule_words
from publisher.directory.build import build_group
from publisher.directory.checker import Checker, field_name
from publisher.directory.files import SITE_FILE, Contents, DataFile, Path_, cut, parse, quote
from publisher.directory.schema import GROUPS_FILE, MEETING_INFERABLE, PLACE_FIELDS
from publisher.model.directory import Group
from publisher.model.errors import Problem

log = logging.getLogger(__name__)

#: How a load may share the checking with other processes: ``func`` over the jobs, given in
#: chunks of ``chunk`` jobs, with the results in the order of the jobs (``Helpers.map``). The
#: loader passes it in, so the directory depends on no process machinery; ``func`` is
#: module-level and the jobs picklable, as another process may run them.
MapChunks = Callable[[Callable[[list[Any]], list[Any]], list[Any], int], list[Any]]
#: Bytes of YAML to parse, at least, before a load spreads the parsing over helpers: below
#: this (about 1,500 groups) starting a helper would cost more than it saves.
SPREAD_BYTES = 1_000_000
#: Files a helper gets at a time (about 150 KB of YAML).
SPREAD_CHUNK = 2


@dataclass(frozen=True)
class GroupsFile:
    """One file of groups, checked on its own: what other files cannot change."""

    category: str | None
    category_line: int | None
    groups: tuple[tuple[Group, int | None, tuple[int | None, ...]], ...]  # group, slug lines
    problems: tuple[Problem, ...]


#: The last check of each file, by name: (its bytes or why it was not read, the result).
_CHECKED: dict[str, tuple[bytes | Problem, GroupsFile]] = {}


def check_groups_files(
    contents: Contents, spread: MapChunks | None = None
) -> dict[str, GroupsFile]:
    """Parse and check each file of groups, or reuse the last result for the same bytes: a
    reload parses only the files that changed, so a large directory split over many files
    reloads quickly. One result is kept per file name, so memory does not grow with edits.

    Files are checked each on its own, so ``spread`` may check them on other processes
    when there is much to parse (a first load)."""
    todo = [
        (name, raw)
        for name, raw in contents.items()
        if name != SITE_FILE and ((cached := _CHECKED.get(name)) is None or cached[0] != raw)
    ]
    size = sum(len(raw) for _, raw in todo if isinstance(raw, bytes))
    if spread is not None and size >= SPREAD_BYTES:
        results = spread(check_files, todo, SPREAD_CHUNK)
    else:
        results = check_files(todo)
    for (name, raw), result in zip(todo, results, strict=True):
        _CHECKED[name] = (raw, result)
    return {name: _CHECKED[name][1] for name in contents if name != SITE_FILE}


def check_files(files: list[tuple[str, bytes | Problem]]) -> list[GroupsFile]:
    """Each (name, bytes) file of groups checked: module-level, for a helper process.

    Whatever goes wrong in one file is a problem of that file, never an exception that
    would end the whole check (a traceback on the command line, a 500 from the endpoint)."""
    out = []
    for name, raw in files:
        if isinstance(raw, Problem):  # not read (files.read_folder says why)
            out.append(GroupsFile(None, None, (), (raw,)))
            continue
        try:
            out.append(_check_groups_file(name, raw))
        except Exception as exc:  # noqa: BLE001 - a fault of the checker, reported as such
            out.append(GroupsFile(None, None, (), (checker_fault(name, exc),)))
    return out


def checker_fault(name: str, exc: Exception) -> Problem:
    """The problem of a file that made the checker fail: named, never a traceback. The
    exception's own words are left out: they may quote the file."""
    log.debug("Checking %s failed", name, exc_info=True)
    return Problem(
        name,
        None,
        None,
        None,
        f"This file could not be read: the checker failed on it ({type(exc).__name__}).",
        "This is a fault in publisher: please report it, with a copy of the file.",
    )


def _check_groups_file(name: str, raw: bytes) -> GroupsFile:
    data, problems = parse(raw, name)
    if data is None:
        return GroupsFile(None, None, (), tuple(problems))
    checker = Checker(data, problems)
    raw_value = checker.check(data.value, GROUPS_FILE, ())
    category = raw_value.get("category") if raw_value else None
    groups = []
    for i, group_raw in enumerate(raw_value.get("groups", []) if raw_value else []):
        if ("groups", i) in checker.bad or category is None:
            continue
        report = _Reporter(name, data, problems, i, group_raw["slug"])
        _check_inferred(report, group_raw)
        if not _check_rules(report, group_raw):
            continue
        line = data.line(("groups", i, "slug"))
        previous = tuple(
            data.line(("groups", i, "previous_slugs", j))
            for j in range(len(group_raw.get("previous_slugs", [])))
        )
        group = build_group(group_raw, category, f"{name}:{line}")
        if group.meetings is not None:
            findings = schedule.check(group.meetings)
            for f in findings:
                report(("meetings", *f.path), f.message, f.hint, f.warning)
            if any(not f.warning for f in findings):
                continue
        groups.append((group, line, previous))
    return GroupsFile(category, data.line(("category",)), tuple(groups), tuple(problems))


@dataclass(frozen=True)
class _Reporter:
    """Adds problems about one group, at a path inside it."""

    file: str
    data: DataFile
    problems: list[Problem]
    index: int
    slug: str

    def __call__(self, path: Path_, message: str, hint: str, warning: bool = False) -> None:
        full = ("groups", self.index, *path)
        self.problems.append(
            Problem(
                self.file,
                self.data.line(full),
                cut(self.slug),
                field_name(full),
                message,
                hint,
                warning,
            )
        )


def _check_inferred(report: _Reporter, group: dict[str, Any]) -> None:
    """``inferred`` may name only fields that are filled in, of those that can be inferred."""
    meetings = group.get("meetings") or {}
    places = [
        (("place",), group.get("place") or {}),
        (("meetings", "place"), meetings.get("place") or {}),
    ]
    places += [
        (("meetings", "one_off", j, "place"), o.get("place") or {})
        for j, o in enumerate(meetings.get("one_off", []))
    ]
    checks = [(path, values, PLACE_FIELDS, "a place field") for path, values in places]
    checks.append(
        (("meetings",), meetings, MEETING_INFERABLE, "a meeting field that can be inferred")
    )
    for path, values, allowed, what in checks:
        for j, inferred in enumerate(values.get("inferred", [])):
            if inferred not in allowed or inferred not in values:
                report(
                    (*path, "inferred", j),
                    f"{quote(inferred)} is not {what} of this group.",
                    f"List only fields that are filled in, from: {', '.join(allowed)}.",
                )


def _check_rules(report: _Reporter, group: dict[str, Any]) -> bool:
    """A series' ``on`` is read with its ``every``, and a meeting ``key`` is used once in
    the group; False if something here is wrong."""
    ok = True
    meetings = group.get("meetings") or {}
    seen: set[str] = set()
    for kind in ("series", "one_off"):
        for j, item in enumerate(meetings.get(kind, [])):
            given = item.get("key")
            if given and given in seen:
                report(
                    ("meetings", kind, j, "key"),
                    f"The key {given!r} is used twice in this group's meetings.",
                    "Give each series and one-off meeting its own key.",
                )
                ok = False
            if given:
                seen.add(given)
    for j, series in enumerate((group.get("meetings") or {}).get("series", [])):
        if "on" not in series:
            continue
        try:
            schedule_words.parse_on(series["on"], schedule_words.parse_every(series["every"])[0])
        except schedule_words.ScheduleError as exc:
            report(("meetings", "series", j, "on"), exc.message, exc.hint)
            ok = False
    return ok
