"""Errors that carry where the problem is and how to fix it.

They subclass ``ValueError`` (as icalendar's parsing errors do) so callers that only know
"bad value" still catch them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in the data files."""

    file: str
    line: int | None
    group: str | None
    field: str | None
    message: str
    hint: str = ""
    warning: bool = False

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        parts = [where]
        if self.group:
            parts.append(f"group {self.group!r}")
        if self.field:
            parts.append(f"field {self.field!r}")
        kind = "warning" if self.warning else "error"
        text = f"{', '.join(parts)}: {kind}: {self.message}"
        if self.hint:
            text += f" {self.hint}"
        return text


class PublisherError(ValueError):
    """Base of the errors publisher reports to people."""


class DirectoryError(PublisherError):
    """The data files have errors; nothing was loaded. ``problems`` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if not p.warning]
        lines = [str(p) for p in problems]
        super().__init__(
            f"The data has {len(errors)} error(s); nothing was loaded.\n" + "\n".join(lines)
        )


class MassRemovalError(PublisherError):
    """A load would remove more than half of the groups, and was not confirmed."""

    def __init__(self, removing: list[str], total: int) -> None:
        self.removing = removing
        super().__init__(
            f"This load would remove {len(removing)} of {total} groups "
            f"({', '.join(sorted(removing))}). A truncated or half-saved file can look like "
            "this, so nothing was loaded. If the removals are meant, reload with "
            "--confirm-removals (CLI) or confirm=removals (POST /admin/reload)."
        )


class SlugTakenError(PublisherError):
    """A group uses a slug that history gives to another group still listed."""

    def __init__(self, slug: str, where: str, name: str, owner_name: str, owner_slug: str) -> None:
        super().__init__(
            f"{where}: group {name!r}: the slug {slug!r} was the address of {owner_name!r} "
            f"(now at {owner_slug!r}), and slugs are permanent: its old address keeps leading "
            "there. Choose another slug for this group."
        )


class DataFolderError(PublisherError):
    """The database publishes another data folder (publisher.store.identity)."""

    def __init__(
        self, database: str, data: str, recorded: tuple[str, str], given: tuple[str, str]
    ) -> None:
        def folder(path: str, title: str) -> str:
            return f"{path} ({title!r})" if title else path

        super().__init__(
            f"The database {database} publishes the data folder {folder(*recorded)}, not "
            f"{folder(*given)}: nothing was loaded, and the last good publication stays "
            "served.\nTo publish that other directory, give it a database of its own: leave "
            "out --database and PUBLISHER_DATABASE (--data then makes one), or name a new "
            "file with --database.\nIf the directory has moved (another folder or machine), "
            f"adopt it once:\n    publisher reload --adopt --data {shlex.quote(data)} "
            f"--database {shlex.quote(database)}\nor start the server with "
            "publisher serve --adopt and the same --data and --database."
        )
