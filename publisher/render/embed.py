"""What other sites embed: the next meetings as a small JSON document (the script embed
reads it; the groups come from the JSON Feeds), pure like every renderer."""

from __future__ import annotations

import json
from typing import Any

from publisher.directory.schedule import Occurrence
from publisher.model.directory import Group
from publisher.render.common import Site
from publisher.render.html import meeting_when
from publisher.urls import GROUP, HOME, MEETING

VERSION = 1


def meetings_json(meetings: list[tuple[Group, Occurrence]], site: Site) -> bytes:
    """The next meetings, soonest first: when (in words and as times), which group, and
    the single-meeting calendar. Version 1 of a public format: fields are only ever added."""
    doc: dict[str, Any] = {
        "version": VERSION,
        "title": f"Next meetings – {site.title}",
        "home_page_url": site.url(HOME()),
        "_publisher": {"site": site.title},
        "meetings": [
            {
                "group": group.name,
                "url": site.url(GROUP(group.slug)),
                "title": o.title,
                "start": o.start.isoformat(),
                "end": o.end.isoformat(),
                "when": meeting_when(o, site.time_zone),
                "cancelled": o.cancelled,
                "moved": o.moved,
                "calendar": site.url(MEETING(group.slug, o.start.date().isoformat())),
            }
            for group, o in meetings
        ],
    }
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()
