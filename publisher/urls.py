"""Every address the service answers, in one table: pages, feeds, calendars, embeds, assets.

Renderers, the build, the web layer and the templates (through ``url()``) make every path
from these routes, so an address is spelled in one place; the README's table of addresses
is checked against this one (tests/test_urls.py). Paths are site-relative: ``Site.url``
puts the public base URL in front. Imports nothing of ours (a contract in pyproject.toml).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """One address pattern: ``{name}`` marks a part that varies (a slug, a format...).

    Called with the parts' values, in the pattern's order, it gives the path:
    ``GROUP("mad-failures") == "/groups/mad-failures/"``."""

    name: str
    pattern: str
    parameters: tuple[str, ...] = field(init=False)
    _positional: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", tuple(_PARAMETER.findall(self.pattern)))
        object.__setattr__(self, "_positional", _PARAMETER.sub("{}", self.pattern))

    def __call__(self, *values: str) -> str:
        if len(values) != len(self.parameters):
            raise TypeError(f"{self.name} takes {self.parameters}, not {values!r}")
        return self._positional.format(*values) if values else self.pattern


#: All groups, by category.
HOME = Route("home", "/")
CATEGORY = Route("category", "/categories/{category}/")
#: Not a page: the scheme of the categories of Atom and RSS entries (RFC 4287 §4.2.2.3).
CATEGORY_SCHEME = Route("category-scheme", "/categories/")
GROUP = Route("group", "/groups/{group}/")
SUBSCRIBE_ALL = Route("subscribe-all", "/subscribe/")
SUBSCRIBE = Route("subscribe", "/subscribe/{category}/")
#: ``scope`` is ``all`` or a category's slug; ``format`` one of atom, rss, json.
FEED = Route("feed", "/feeds/{scope}.{format}")
CHANGES = Route("changes", "/feeds/changes.atom")
OUTLINE = Route("outline", "/feeds.opml")
#: ``scope`` is ``all`` or a category's slug.
CALENDAR = Route("calendar", "/calendars/{scope}.ics")
GROUP_CALENDAR = Route("group-calendar", "/calendars/groups/{group}.ics")
#: One meeting of the next 12 months; ``date`` is its day, YYYY-MM-DD.
MEETING = Route("meeting", "/calendars/groups/{group}/{date}.ics")
#: The stylesheets and scripts of the site's own pages.
STATIC = Route("static", "/static/{name}")
EMBED_SCRIPT = Route("embed-script", "/embed/v1.js")
#: The next meetings as JSON, which the embed script reads.
EMBED_MEETINGS_DATA = Route("embed-meetings-data", "/embed/meetings.json")
EMBED_MEETINGS = Route("embed-meetings", "/embed/meetings")
#: ``scope`` is ``all`` or a category's slug.
EMBED = Route("embed", "/embed/{scope}")
#: The built-in WebSub hub: a page on GET, subscriptions on POST.
HUB = Route("hub", "/hub")
HEALTH = Route("health", "/healthz")
READY = Route("ready", "/readyz")
ADMIN_RELOAD = Route("admin-reload", "/admin/reload")
#: Key of the 404 page among the publications; no request path starts with "!".
NOT_FOUND = Route("not-found", "!404")

#: Every route by name: the templates' ``url(name, *values)``.
ROUTES: dict[str, Route] = {
    r.name: r
    for r in (
        HOME,
        CATEGORY,
        CATEGORY_SCHEME,
        GROUP,
        SUBSCRIBE_ALL,
        SUBSCRIBE,
        FEED,
        CHANGES,
        OUTLINE,
        CALENDAR,
        GROUP_CALENDAR,
        MEETING,
        STATIC,
        EMBED_SCRIPT,
        EMBED_MEETINGS_DATA,
        EMBED_MEETINGS,
        EMBED,
        HUB,
        HEALTH,
        READY,
        ADMIN_RELOAD,
        NOT_FOUND,
    )
}


def url(name: str, *values: str) -> str:
    """The path of route ``name`` with ``values``: ``url("group", slug)`` in a template."""
    return ROUTES[name](*values)


def webcal(absolute: str) -> str:
    """A calendar's ``webcal://`` address, which calendar apps open as a subscription:
    its http(s) address with the scheme replaced."""
    return "webcal://" + absolute.split("://", 1)[1]
