"""The schema of the data files: what each key may hold, as a Spec the checker walks
(``checker.Checker``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Spec:
    """The expected shape of one value: a kind, whether it is required, and its parts."""

    kind: str  # text | name | line | slug | url | language | handle | flag | date | times
    #            | zone | every | count | coordinates | list | object
    required: bool = False
    item: Spec | None = None
    fields: Mapping[str, Spec] = field(default_factory=dict)
    help: str = ""


TEXT = Spec("text")
#: A name or title: text without < or > (see ``checker.Checker._scalar``).
NAME = Spec("name")


def _list_of(**fields: Spec) -> Spec:
    """A list of blocks with these keys."""
    return Spec("list", item=Spec("object", fields=fields))


PLACE_FIELDS = ("as_published", "room", "building", "street", "locality", "region", "country")
PLACE = Spec(
    "object",
    fields={
        **{name: TEXT for name in PLACE_FIELDS},
        "coordinates": Spec("coordinates"),
        "inferred": Spec("list", item=Spec("line")),
    },
)
ONLINE = Spec("object", fields={"url": Spec("url"), "details": TEXT})
#: Meeting fields that may be marked as worked out from the source, not stated on it.
MEETING_INFERABLE = ("time_zone",)
SERIES = Spec(
    "object",
    fields={
        "key": Spec("slug"),  # names the calendar event for good; optional
        "starts": Spec("date", required=True),
        "every": Spec("every", required=True),
        "on": Spec("line"),  # read with "every" (a weekday if weekly, "second Wednesday"...)
        "time": Spec("times", required=True),
        "until": Spec("date"),
        "count": Spec("count"),
        "title": NAME,
        "description": TEXT,
        "cancelled": _list_of(date=Spec("date", required=True), note=TEXT),
        "moved": _list_of(
            date=Spec("date", required=True),
            to=Spec("date", required=True),
            time=Spec("times"),
            note=TEXT,
        ),
    },
)
ONE_OFF = Spec(
    "object",
    fields={
        "key": Spec("slug"),
        "date": Spec("date", required=True),
        "time": Spec("times", required=True),
        "title": NAME,
        "description": TEXT,
        "place": PLACE,
        "online": ONLINE,
    },
)
MEETINGS = Spec(
    "object",
    fields={
        "frequency_as_published": TEXT,
        "time_zone": Spec("zone"),
        "place": PLACE,
        "online": ONLINE,
        "how_to_join": TEXT,
        "series": Spec("list", item=SERIES),
        "one_off": Spec("list", item=ONE_OFF),
        "inferred": Spec("list", item=Spec("line")),
    },
)

#: What a group and a category both start with.
NAMED = {
    "slug": Spec("slug", required=True),
    "name": Spec("name", required=True),
    "description": TEXT,
}

GROUP = Spec(
    "object",
    fields={
        **NAMED,
        "links": _list_of(url=Spec("url", required=True), label=Spec("text", required=True)),
        "place": PLACE,
        "contact": Spec(
            "object",
            fields={
                "as_published": TEXT,
                "name": TEXT,
                "email_as_published": TEXT,
                "twitter": Spec("handle"),
            },
        ),
        "flags": Spec("list", item=Spec("flag")),
        "meetings": MEETINGS,
        "previous_slugs": Spec("list", item=Spec("slug")),
    },
)

GROUPS_FILE = Spec(
    "object",
    fields={
        "category": Spec("slug", required=True),
        "groups": Spec("list", required=True, item=GROUP),
    },
)

SITE = Spec(
    "object",
    fields={
        "title": Spec("name", required=True),
        "description": Spec("text", required=True),
        "language": Spec("language", required=True),
        "time_zone": Spec("zone"),
        "categories": Spec(
            "list",
            required=True,
            item=Spec("object", fields=NAMED),
        ),
    },
)
