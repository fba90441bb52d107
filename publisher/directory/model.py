"""The validated directory: frozen dataclasses, nothing more.

Unknown stays empty: every optional field is ``None`` or empty when the source does not give
it. Nothing here is ever completed or guessed (an email without a domain stays as published).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

#: Flags a group may carry, with the plain words shown to people.
FLAGS: dict[str, str] = {
    "closed-group": "Closed group",
    "accepts-anonymous-submissions": "Accepts anonymous submissions",
}


@dataclass(frozen=True)
class Link:
    url: str
    label: str


@dataclass(frozen=True)
class Place:
    """Where a group is or meets. ``inferred`` names the fields not said on the source page."""

    as_published: str | None = None
    room: str | None = None
    building: str | None = None
    street: str | None = None
    locality: str | None = None
    region: str | None = None
    country: str | None = None
    inferred: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    """Contact details exactly as published; an incomplete email is kept incomplete."""

    as_published: str | None = None
    name: str | None = None
    email_as_published: str | None = None
    twitter: str | None = None


@dataclass(frozen=True)
class Meetings:
    """What is known about a group's meetings. The calendar issue adds rules and dates."""

    frequency_as_published: str | None = None


@dataclass(frozen=True)
class Group:
    slug: str
    name: str
    category: str
    description: str | None = None
    links: tuple[Link, ...] = ()
    place: Place | None = None
    contact: Contact | None = None
    flags: tuple[str, ...] = ()
    meetings: Meetings | None = None
    previous_slugs: tuple[str, ...] = ()
    source: str = field(default="", compare=False)
    #: Canonical JSON of the content (all but the slugs), made once when validated,
    #: and its hash: what history compares, so an unchanged group costs no JSON decoding.
    content: str = field(default="", compare=False, repr=False)
    fingerprint: str = field(default="", compare=False, repr=False)

    @property
    def website(self) -> str | None:
        """The group's own link, where one is known."""
        return self.links[0].url if self.links else None


def fingerprint_of(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


@dataclass(frozen=True)
class Category:
    slug: str
    name: str
    description: str | None = None
    groups: tuple[Group, ...] = ()


@dataclass(frozen=True)
class Site:
    title: str
    description: str
    language: str


@dataclass(frozen=True)
class Directory:
    site: Site
    categories: tuple[Category, ...]

    @property
    def groups(self) -> tuple[Group, ...]:
        return tuple(g for c in self.categories for g in c.groups)

    def category(self, slug: str) -> Category:
        return next(c for c in self.categories if c.slug == slug)
