"""One slug, one group: a slug used twice is reported at the entry that has to change.

A slug is a group's address, and a published address is permanent (its old slugs keep
redirecting there). So when a newly added group takes the slug of a published one, the
problem is the new group's, wherever the two stand in the files. The checker learns what is
published from the history (``store.history``), when the caller has one: ``publisher
reload``, the admin endpoint and the watcher do; without it the second use is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from publisher.directory.files import cut, quote
from publisher.model.directory import Group
from publisher.model.errors import Problem


class Published(Protocol):
    """What the checker needs to know of a published group (a ``model.history.Entry``)."""

    @property
    def name(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...


#: The published group whose address a slug is (or was), if any.
Owner = Callable[[str], Published | None]


@dataclass(frozen=True)
class Use:
    """One group's use of a slug: as its ``slug`` or one of its ``previous_slugs``."""

    file: str
    line: int | None
    group: Group
    field: str


def duplicate(
    slug: str, first: Use, second: Use, owner: Owner | None, where: Callable[[Use], str]
) -> tuple[Problem, Use]:
    """The problem of a slug used by ``first`` and then by ``second``, and the use that
    keeps it (which later uses are compared with).

    The problem is at the use the history does not give the slug to; when it gives it to
    neither, or the checker has no history, at the second."""
    published = owner(slug) if owner is not None else None
    holder = _holder(published, first, second) if published is not None else None
    blamed, kept = (first, second) if holder is second else (second, first)
    if holder is None or published is None:
        message = f"The slug {quote(slug)} is already used at {where(kept)}."
        hint = "Slugs must be unique, old ones included: choose another."
    else:
        # The name as published (from the history), not as the file may now spell it.
        message = (
            f"The slug {quote(slug)} is already the address of {quote(published.name)} "
            f"({where(kept)}), which is published, and addresses are permanent."
        )
        hint = "Choose another slug for this group."
    return (
        Problem(blamed.file, blamed.line, cut(blamed.group.slug), blamed.field, message, hint),
        kept,
    )


def _holder(published: Published, first: Use, second: Use) -> Use | None:
    """Which of the two is the published group: the one with its content, else the one
    with its name; None if that does not tell them apart."""
    for same in (
        lambda use: use.group.fingerprint == published.fingerprint,
        lambda use: use.group.name == published.name,
    ):
        found = [use for use in (first, second) if same(use)]
        if len(found) == 1:
            return found[0]
    return None
