"""Which events the directory's meetings make, and what is coming up.

An *event* is one series (with its moved and cancelled meetings) or one one-off meeting,
with one UID for life. Its UID is made from the group's history id (which survives renames)
and the series' key (from its first date), so editing a time, a rule or a description
updates the event in place in calendar apps. Its SEQUENCE and dates come from the store
(``store.events``), keyed by a fingerprint of everything the event shows.

What depends on the time passing (the next meetings on pages, the single-meeting files of
the next 12 months) is worked out here from a ``now`` the caller passes, with ``due``: the
next moment any of it changes, when the publisher renders again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from publisher.directory.schedule import Occurrence, occurrences
from publisher.model.directory import Directory, Group, Meetings, OneOff, Series
from publisher.model.events import State
from publisher.model.history import History
from publisher.render import ical

#: Single-meeting files and "next meetings" cover this far ahead: 12 months.
WINDOW = timedelta(days=365)
NEXT_ON_HOME = 8
NEXT_ON_GROUP = 6


@dataclass(frozen=True)
class Event:
    uid: str
    group: Group
    source: Series | OneOff
    fingerprint: str


def uid_of(entry_id: str, key: str) -> str:
    """``series-2027-01-13.<hash of the entry id>@<tag authority>``: unique, never changes
    and has no comma (a TEXT value would escape it, and some parsers keep the backslash)."""
    authority = entry_id.split(":", 2)[1].split(",")[0]
    return f"{key}.{hashlib.sha256(entry_id.encode()).hexdigest()[:16]}@{authority}"


def _fingerprint(group: Group, source: Series | OneOff) -> str:
    """Everything an event shows, so its SEQUENCE grows when, and only when, that changes."""
    m = group.meetings
    assert m is not None
    shown = (
        group.slug,
        group.name,
        group.description,
        group.place,
        group.contact,
        m.time_zone,
        m.place,
        m.online,
        m.how_to_join,
        source,
    )
    return hashlib.sha256(repr(shown).encode()).hexdigest()


def events_of(directory: Directory, entry_ids: dict[str, str]) -> list[Event]:
    """Every event of the directory, in directory order; ``entry_ids`` maps slug to id."""
    out = []
    for group in directory.groups:
        if group.meetings is None:
            continue
        for source in (*group.meetings.series, *group.meetings.one_off):
            uid = uid_of(entry_ids[group.slug], source.key)
            out.append(Event(uid, group, source, _fingerprint(group, source)))
    return out


@dataclass(frozen=True)
class Upcoming:
    """Meetings that have not ended, per group, up to WINDOW ahead; and when this changes."""

    by_group: dict[str, tuple[Occurrence, ...]]
    due: datetime | None

    def next(self, limit: int) -> list[tuple[str, Occurrence]]:
        every = [(slug, o) for slug, found in self.by_group.items() for o in found]
        return sorted(every, key=lambda p: (p[1].start, p[0], p[1].key))[:limit]


def upcoming(directory: Directory, now: datetime) -> Upcoming:
    """The next meetings as of ``now``. ``due`` is the first moment after which this would
    differ: the end of the first meeting, or a meeting coming within WINDOW."""
    horizon = now + WINDOW
    by_group: dict[str, tuple[Occurrence, ...]] = {}
    due: list[datetime] = []
    for group in directory.groups:
        if group.meetings is None or not group.meetings.scheduled:
            continue
        found, after = _expanded(group.meetings, now.date())
        found = tuple(o for o in found if o.end > now and o.start < horizon)
        by_group[group.slug] = found
        due += [min(o.end for o in found)] if found else []  # not the first's: it may run long
        due += [o.start - WINDOW for o in after if o.start >= horizon][:1]
    return Upcoming(by_group, min(due, default=None))


@lru_cache(maxsize=16384)
def _expanded(
    meetings: Meetings, day: date
) -> tuple[tuple[Occurrence, ...], tuple[Occurrence, ...]]:
    """The meetings from the day before ``day`` to a day past WINDOW, and the next ones
    after that: worked out once a day per schedule, not at every load."""
    start = datetime.combine(day - timedelta(days=1), time.min, tzinfo=UTC)
    end = datetime.combine(day + timedelta(days=2), time.min, tzinfo=UTC) + WINDOW
    found = tuple(occurrences(meetings, start, end))
    return found, tuple(occurrences(meetings, end - timedelta(days=2), end + WINDOW, limit=3))


@dataclass(frozen=True)
class Calendars:
    """What a build needs to render calendars and the next meetings."""

    events: list[Event]
    states: dict[str, State]
    soon: Upcoming

    @property
    def due(self) -> datetime | None:
        return self.soon.due


def prepare(
    directory: Directory,
    history: History,
    now: datetime,
    states_for: Callable[[dict[str, str]], Mapping[str, State]],
) -> Calendars:
    """The events of ``directory`` with their states (``states_for`` maps each UID's
    fingerprint to its state: the store records them), and the meetings coming up."""
    found = events_of(directory, {slug: e.entry_id for slug, e in history.active().items()})
    states = states_for({e.uid: e.fingerprint for e in found})
    return Calendars(found, {e.uid: states[e.uid] for e in found}, upcoming(directory, now))


class Blocks:
    """Each event's VEVENT bytes, kept between loads: an unchanged event is serialised once
    per process, and once per load however many calendars hold it."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, int, str, str], bytes] = {}

    def get(self, event: Event, state: State, page: str) -> bytes:
        key = (event.uid, state.sequence, event.fingerprint, page)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = ical.event(state, event.group, event.source, page)
        return found

    def keep(self, keys: set[tuple[str, int, str, str]]) -> None:
        self._memo = {k: v for k, v in self._memo.items() if k in keys}
