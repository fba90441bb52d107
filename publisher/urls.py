"""Every address the service answers, in one table: pages, feeds, calendars, embeds, assets.

Renderers, the build, the web layer and the templates (through ``url()``) make every path
from these routes, so an address is spelled in one place; the README's table of addresses
is checked against this one (tests/test_urls.py). Paths are site-relative: ``Site.url``
puts the public base URL in front. Imports nothing of ours (a contract in pyproject.toml).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_PARAMETER = re.compile(r"\{(\w+)\}")

#: Every route by name: its pattern, where ``{name}`` marks a part that varies (a slug, a
#: format...).
ROUTES: dict[str, str] = {}
_FILL: dict[str, Callable[..., str]] = {}


def _route(name: str, pattern: str) -> Callable[..., str]:
    """Add a route to the table. Returns what gives its path from its parts' values, in the
    pattern's order: ``GROUP("mad-failures") == "/groups/mad-failures/"``. That is the
    pattern's own ``str.format``: 10,000 groups' paths are made several times per load."""
    ROUTES[name] = pattern
    fill = _FILL[name] = _PARAMETER.sub("{}", pattern).format
    return fill


#: All groups, by category.
HOME = _route("home", "/")
CATEGORY = _route("category", "/categories/{category}/")
#: Not a page: the scheme of the categories of Atom and RSS entries (RFC 4287 §4.2.2.3).
CATEGORY_SCHEME = _route("category-scheme", "/categories/")
GROUP = _route("group", "/groups/{group}/")
SUBSCRIBE_ALL = _route("subscribe-all", "/subscribe/")
SUBSCRIBE = _route("subscribe", "/subscribe/{category}/")
#: ``scope`` is ``all`` or a category's slug; ``format`` one of atom, rss, json.
FEED = _route("feed", "/feeds/{scope}.{format}")
CHANGES = _route("changes", "/feeds/changes.atom")
OUTLINE = _route("outline", "/feeds.opml")
#: ``scope`` is ``all`` or a category's slug.
CALENDAR = _route("calendar", "/calendars/{scope}.ics")
GROUP_CALENDAR = _route("group-calendar", "/calendars/groups/{group}.ics")
#: One meeting of the next 12 months; ``date`` is its day, YYYY-MM-DD.
MEETING = _route("meeting", "/calendars/groups/{group}/{date}.ics")
#: The stylesheets and scripts of the site's own pages.
STATIC = _route("static", "/static/{name}")
EMBED_SCRIPT = _route("embed-script", "/embed/v1.js")
#: The next meetings as JSON, which the embed script reads.
EMBED_MEETINGS_DATA = _route("embed-meetings-data", "/embed/meetings.json")
EMBED_MEETINGS = _route("embed-meetings", "/embed/meetings")
#: ``scope`` is ``all`` or a category's slug.
EMBED = _route("embed", "/embed/{scope}")
#: The built-in WebSub hub: a page on GET, subscriptions on POST.
HUB = _route("hub", "/hub")
HEALTH = _route("health", "/healthz")
READY = _route("ready", "/readyz")
ADMIN_RELOAD = _route("admin-reload", "/admin/reload")
#: Key of the 404 page among the publications; no request path starts with "!".
NOT_FOUND = _route("not-found", "!404")


def url(name: str, *values: str) -> str:
    """The path of route ``name`` with ``values``: ``url("group", slug)`` in a template."""
    return _FILL[name](*values)


def webcal(absolute: str) -> str:
    """A calendar's ``webcal://`` address, which calendar apps open as a subscription:
    its http(s) address with the scheme replaced."""
    return "webcal://" + absolute.split("://", 1)[1]
