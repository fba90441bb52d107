"""The validated directory: frozen dataclasses, nothing more.

Unknown stays empty: every optional field is ``None`` or empty when the source does not give
it. Nothing here is ever completed or guessed (an email without a domain stays as published).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, time
from functools import cached_property

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
    #: Latitude and longitude in degrees, only where a source gives them.
    coordinates: tuple[float, float] | None = None
    inferred: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    """Contact details exactly as published; an incomplete email is kept incomplete."""

    as_published: str | None = None
    name: str | None = None
    email_as_published: str | None = None
    twitter: str | None = None


@dataclass(frozen=True)
class TimeRange:
    """Start and end of a meeting, as wall-clock times in the group's time zone."""

    start: time
    end: time


@dataclass(frozen=True)
class Rule:
    """How a series repeats, in the terms of RFC 5545 §3.3.10 (FREQ, INTERVAL, BYDAY,
    BYMONTHDAY, BYMONTH), written by volunteers in plain words ("every 2 months",
    "second Wednesday") and read by ``directory.schedule``."""

    freq: str  # WEEKLY | MONTHLY | YEARLY
    interval: int = 1
    #: (weekday 0 = Monday, ordinal: 1..5, -1 for the last, or None for every such day)
    weekdays: tuple[tuple[int, int | None], ...] = ()
    monthday: int | None = None
    month: int | None = None


@dataclass(frozen=True)
class Online:
    """How to join online, exactly as published."""

    url: str | None = None
    details: str | None = None


@dataclass(frozen=True)
class Cancellation:
    """One meeting of a series that will not happen: ``date`` is one of its dates."""

    date: date
    note: str | None = None


@dataclass(frozen=True)
class Move:
    """One meeting of a series held on another day or at another time."""

    date: date  # the date the series gives it
    to: date
    time: TimeRange | None = None
    note: str | None = None


@dataclass(frozen=True)
class Series:
    """A repeating meeting. ``key`` names it in calendar UIDs, so it must never change: it
    is made from ``starts`` (and a number, should two series start on the same day)."""

    key: str
    starts: date
    rule: Rule
    time: TimeRange
    until: date | None = None
    count: int | None = None
    title: str | None = None
    description: str | None = None
    cancelled: tuple[Cancellation, ...] = ()
    moved: tuple[Move, ...] = ()


@dataclass(frozen=True)
class OneOff:
    """A meeting held once, perhaps with its own topic, place or joining details."""

    key: str
    date: date
    time: TimeRange
    title: str | None = None
    description: str | None = None
    place: Place | None = None
    online: Online | None = None


@dataclass(frozen=True)
class Meetings:
    """What is known about a group's meetings. A group may have only the frequency as its
    source words it ("bi-monthly"), with no rule and no dates: nothing is guessed from it."""

    frequency_as_published: str | None = None
    time_zone: str | None = None
    place: Place | None = None
    online: Online | None = None
    how_to_join: str | None = None
    series: tuple[Series, ...] = ()
    one_off: tuple[OneOff, ...] = ()
    inferred: tuple[str, ...] = ()

    @property
    def scheduled(self) -> bool:
        """True when there are dates to put in a calendar."""
        return bool(self.series or self.one_off)


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
    #: The zone of calendars that have no meetings yet (RFC 5545 §3.6: a calendar holds at
    #: least one component; a VTIMEZONE is the one that says nothing untrue).
    time_zone: str = "UTC"


@dataclass(frozen=True)
class Directory:
    site: Site
    categories: tuple[Category, ...]

    @cached_property
    def groups(self) -> tuple[Group, ...]:
        """Every group in directory order: made once, as several steps of a load walk it."""
        return tuple(g for c in self.categories for g in c.groups)

    def category(self, slug: str) -> Category:
        return next(c for c in self.categories if c.slug == slug)
