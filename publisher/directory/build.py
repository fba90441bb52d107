"""The model built from a group's checked values: its place, contact and meetings, and the
canonical content that history compares and fingerprints."""

from __future__ import annotations

import json
from typing import Any

from publisher.directory import schedule_words
from publisher.model.directory import (
    Contact,
    Group,
    Link,
    Meetings,
    Online,
    Place,
    fingerprint_of,
)


def build_group(raw: dict[str, Any], category: str, source: str) -> Group:
    contact = raw.get("contact")
    content = _content_json(raw, category)
    return Group(
        slug=raw["slug"],
        name=raw["name"],
        category=category,
        description=raw.get("description"),
        links=tuple(Link(url=link["url"], label=link["label"]) for link in raw.get("links", [])),
        place=_place(raw.get("place")),
        contact=Contact(**contact) if contact else None,
        flags=tuple(raw.get("flags", ())),
        meetings=_meetings(raw["meetings"]) if raw.get("meetings") else None,
        previous_slugs=tuple(raw.get("previous_slugs", ())),
        source=source,
        content=content,
        fingerprint=fingerprint_of(content),
    )


def _place(raw: dict[str, Any] | None) -> Place | None:
    if not raw:
        return None
    coordinates = raw.get("coordinates")
    return Place(
        **{
            **raw,
            "inferred": tuple(raw.get("inferred", ())),
            "coordinates": schedule_words.parse_coordinates(coordinates) if coordinates else None,
        }
    )


def _online(raw: dict[str, Any] | None) -> Online | None:
    return Online(**raw) if raw else None


def _meetings(raw: dict[str, Any]) -> Meetings:
    """Meetings from checked values. Each series and one-off gets a key for its calendar
    UIDs: its own ``key`` when given (then any edit keeps the UID), else its first date,
    numbered should two share a day (then editing a time, a rule or a description keeps
    it, and changing the date makes a new event)."""
    used: dict[str, int] = {}

    def key(prefix: str, day: str, given: str | None) -> str:
        if given:  # the volunteer's own name for it: the UID survives any edit
            return f"{prefix}.{given}"
        text = f"{prefix}-{schedule_words.parse_date(day).isoformat()}"
        used[text] = used.get(text, 0) + 1
        return text if used[text] == 1 else f"{text}-{used[text]}"

    return Meetings(
        frequency_as_published=raw.get("frequency_as_published"),
        time_zone=raw.get("time_zone"),
        place=_place(raw.get("place")),
        online=_online(raw.get("online")),
        how_to_join=raw.get("how_to_join"),
        series=tuple(
            schedule_words.build_series(s, key("series", s["starts"], s.get("key")))
            for s in raw.get("series", [])
        ),
        one_off=tuple(
            schedule_words.build_one_off(
                o,
                key("meeting", o["date"], o.get("key")),
                _place(o.get("place")),
                _online(o.get("online")),
            )
            for o in raw.get("one_off", [])
        ),
        inferred=tuple(raw.get("inferred", ())),
    )


def _content_json(raw: dict[str, Any], category: str) -> str:
    """Canonical JSON of a group's content (all but its slugs): what history compares and
    fingerprints. Made from the checked values, which are plain JSON already."""
    content = {k: v for k, v in raw.items() if k not in ("slug", "previous_slugs")}
    content["category"] = category
    return json.dumps(content, sort_keys=True, ensure_ascii=False)
