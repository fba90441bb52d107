"""Addresses that outlive their groups, and the 404 page.

Every old slug of a present group answers 301 to its new page, and every slug of a removed
group 410 Gone; their calendar addresses stay too: 301 to the new one, or an empty calendar
(an error would leave apps showing the removed group's meetings for ever).
"""

from __future__ import annotations

from collections.abc import Iterator

from publisher import urls
from publisher.model.publication import Kind
from publisher.render.common import HTML_TYPE, Site
from publisher.sitemap.calendars import CALENDAR_TYPE, removed_calendar
from publisher.sitemap.context import Document, Load
from publisher.sitemap.pages import page


def notice(heading: str, message: str, site: Site) -> tuple[str, dict[str, object]]:
    """A plain page's arguments: one heading and one sentence (404, 410, 301 bodies)."""
    return "error.html", {"heading": heading, "message": message, "alternates": "", "site": site}


def documents(load: Load) -> Iterator[Document]:
    site, history = load.site, load.history
    entries = history.by_id()
    retired = sorted(
        (slug, entries[entry_id])
        for slug, entry_id in history.slugs.items()
        if entries[entry_id].removed is not None or entries[entry_id].slug != slug
    )
    for slug, entry in retired:
        if entry.removed is not None:
            heading, status, changed = "This group has been removed", 410, entry.removed
            location = None
            message = f"{entry.name} is no longer listed in this directory."
        else:  # an old slug of a renamed group
            location = site.url(urls.GROUP(entry.slug))
            heading, status, changed = "This page has moved", 301, entry.updated
            message = f"It is now at {location}."
        yield Document(
            urls.GROUP(slug),
            Kind.PAGE,
            HTML_TYPE,
            page,
            notice(heading, message, site),
            changed,
            status=status,
            location=location,
        )
        calendar = urls.GROUP_CALENDAR(slug)
        if location is None:
            yield Document(
                calendar,
                Kind.CALENDAR,
                CALENDAR_TYPE,
                removed_calendar,
                (site, slug, entry.name),
                changed,
            )
        else:
            new = site.url(urls.GROUP_CALENDAR(entry.slug))
            yield Document(
                calendar,
                Kind.CALENDAR,
                HTML_TYPE,
                page,
                notice(heading, f"It is now at {new}.", site),
                changed,
                status=301,
                location=new,
            )
    yield Document(
        urls.NOT_FOUND(),
        Kind.PAGE,
        HTML_TYPE,
        page,
        notice(
            "Page not found",
            "There is no page at this address. It may have been typed wrongly.",
            site,
        ),
        history.created,
        status=404,
    )
