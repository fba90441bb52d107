"""Settings: one table of name, default and help, read from ``PUBLISHER_*`` variables.

The README lists every setting; ``tests/test_docs.py`` keeps the two in step.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from publisher.urls import HUB


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    secret: bool = False
    #: The smallest and largest value a number may take (numbers are never negative).
    minimum: float = 0
    maximum: float = 10**9


SETTINGS: tuple[Setting, ...] = (
    Setting("DATA", "data", "Folder of the directory's YAML files."),
    Setting(
        "DATABASE",
        "instance/publisher.sqlite3",
        "SQLite file keeping entry history, changes and the last good publication.",
    ),
    Setting(
        "BASE_URL",
        "http://127.0.0.1:8000",
        "Public address of the service; every absolute URL in feeds and pages starts with it, "
        "never with the request's Host header.",
    ),
    Setting("NAME", "Mad Studies groups directory", "Who publishes: the feeds' author."),
    Setting(
        "ADMIN_TOKEN",
        "",
        "Bearer token for POST /admin/reload. Empty switches the endpoint off.",
        secret=True,
    ),
    Setting(
        "FEED_MAX_ENTRIES",
        100,
        "Entries per feed: the most recently changed ones.",
        minimum=1,
        maximum=10000,
    ),
    Setting(
        "TAG_AUTHORITY",
        "",
        "Authority of the tag: URIs used as entry ids (RFC 4151), e.g. example.org. Read once "
        "at the first run and stored; empty means the host of BASE_URL (localhost when that "
        "is an IP address).",
    ),
    Setting("FEED_MAX_AGE", 300, "Cache-Control max-age, in seconds, for feeds."),
    Setting("PAGE_MAX_AGE", 60, "Cache-Control max-age, in seconds, for pages."),
    Setting(
        "CALENDAR_REFRESH",
        21600,
        "Seconds calendars ask apps to wait between two fetches (REFRESH-INTERVAL and "
        "X-PUBLISHED-TTL). Google and Outlook choose their own pace whatever it says.",
    ),
    Setting("WATCH", True, "Reload by itself when a data file changes while serving."),
    Setting(
        "WATCH_INTERVAL",
        0.25,
        "Seconds between two looks at the data files.",
        minimum=0.001,
        maximum=3600,
    ),
    Setting(
        "WATCH_SETTLE",
        0.5,
        "Seconds the data files must stay unchanged before a reload, so a half-saved file "
        "is not loaded.",
    ),
    Setting(
        "REFRESH_INTERVAL",
        1.0,
        "Seconds between two checks, in each server process, for a publication written by "
        "another process (publisher reload).",
        minimum=0,
        maximum=3600,
    ),
    Setting(
        "ACCESS_LOG",
        True,
        "Log one line per request: method, path, status, size, time. Never an IP address "
        "or a Referer.",
    ),
    Setting(
        "HUB",
        True,
        "Run the built-in WebSub hub at /hub and advertise it first in every feed and calendar.",
    ),
    Setting(
        "HUBS",
        "",
        "External WebSub hubs to ping on each change (space-separated URLs), advertised after "
        "the built-in hub.",
    ),
    Setting("HUB_LEASE", 864000, "Lease, in seconds, of a subscription that asks for none."),
    Setting("HUB_LEASE_MIN", 3600, "Shortest lease, in seconds, a subscriber may ask for."),
    Setting("HUB_LEASE_MAX", 2592000, "Longest lease, in seconds, a subscriber may ask for."),
    Setting(
        "HUB_ALLOW_PRIVATE_CALLBACKS",
        False,
        "Allow callbacks on loopback, private, link-local and other non-public addresses "
        "(only for local testing).",
    ),
    Setting(
        "HUB_TIMEOUT",
        10.0,
        "Seconds each request to a subscriber or hub may take.",
        minimum=0.1,
        maximum=600,
    ),
    Setting(
        "HUB_RETRY_FOR",
        86400,
        "Seconds a failing delivery is retried (with exponential backoff) before it is given "
        "up and recorded.",
    ),
    Setting("HUB_BACKOFF", 10.0, "Seconds before the first retry; each retry waits twice as long."),
    Setting("HUB_BACKOFF_MAX", 3600.0, "Longest wait, in seconds, between two retries."),
    Setting(
        "HUB_COALESCE",
        0.25,
        "Seconds a delivery waits after a change, so edits in quick succession send one document.",
    ),
    Setting(
        "HUB_MAX_PENDING_PER_HOST",
        100,
        "Subscription requests waiting for verification, at most, per callback address (every "
        "spelling of one IP address counts as that address; a name counts as itself).",
        minimum=1,
        maximum=10000000,
    ),
    Setting(
        "HUB_MAX_PENDING_PER_CLIENT",
        20,
        "Subscription requests waiting for verification, at most, per client: the address a "
        "request comes from (an IPv6 one by its /64), kept in memory only, never logged.",
        minimum=1,
        maximum=10000000,
    ),
    Setting(
        "HUB_MAX_PENDING",
        1000,
        "Subscription requests waiting for verification, at most, from all clients together. "
        "When full, a client with fewer waiting takes the place of the newest request of the "
        "client with the most.",
        minimum=1,
        maximum=10000000,
    ),
    Setting(
        "WORKER",
        True,
        "Run the delivery worker inside publisher serve (else run publisher worker).",
    ),
    Setting(
        "WORKER_CONCURRENCY",
        32,
        "Requests the delivery worker has in flight at most.",
        minimum=1,
        maximum=10000,
    ),
    Setting(
        "WORKER_LEASE",
        60.0,
        "Seconds a worker holds the deliveries it claims; after that, should it have died, "
        "another worker sends them.",
        minimum=1,
        maximum=86400,
    ),
    Setting(
        "WORKER_POLL",
        0.25,
        "Seconds between two looks for due deliveries when idle.",
        minimum=0.001,
        maximum=3600,
    ),
    Setting(
        "LOAD_HELPERS",
        1,
        "Helper processes a large load (about 1,000 groups or more) parses files and renders "
        "pages, calendars and feeds with, on other cores; at most one fewer than the cores. "
        "0: none.",
    ),
    Setting("HOST", "127.0.0.1", "Address publisher serve listens on."),
    Setting("PORT", 8000, "Port publisher serve listens on.", minimum=1, maximum=65535),
    Setting(
        "THREADS",
        4,
        "Threads of the server process for requests that are not a published document "
        "(the hub, admin and health endpoints, 404 pages). A request reaches one only once "
        "it has been received whole.",
        minimum=1,
        maximum=1000,
    ),
    Setting(
        "PROXIES",
        0,
        "Reverse proxies in front of publisher serve (nginx alone: 1). With 1 or more, a "
        "client's address, which only the hub's per-client limits use, is read from "
        "X-Forwarded-For as that many proxies wrote it; with 0 the header is ignored, since "
        "any client could write it.",
    ),
    Setting(
        "HEADER_TIMEOUT",
        10.0,
        "Seconds a client may take to send a request's headers, from their first byte, and "
        "that a kept-alive connection may stay idle; the connection is then closed.",
        minimum=1,
        maximum=3600,
    ),
    Setting(
        "BODY_TIMEOUT",
        10.0,
        "Seconds a client may take to send a request's body (POST /hub, /admin/reload); "
        "it is then answered 408 and the connection closed. No thread waits meanwhile.",
        minimum=1,
        maximum=3600,
    ),
    Setting(
        "CONNECTIONS",
        4096,
        "Connections publisher serve holds open at most; more wait in the listen queue. "
        "The open-files limit is raised to fit, if the system allows.",
        minimum=1,
        maximum=1000000,
    ),
    Setting(
        "BACKLOG",
        1024,
        "Length of the listen queue of connections not yet accepted (the system caps it at "
        "net.core.somaxconn).",
        minimum=1,
        maximum=65535,
    ),
)

PREFIX = "PUBLISHER_"
#: Shortest admin token: anything shorter could be guessed by trying.
ADMIN_TOKEN_MIN = 16
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingError(ValueError):
    """A PUBLISHER_* variable whose value cannot be read."""


def _parse(setting: Setting, raw: str) -> Any:
    kind = type(setting.default)
    if kind is bool:
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise SettingError(f"{PREFIX}{setting.name}={raw!r}: write 1 or 0.")
    if kind in (int, float):
        try:
            value = kind(raw)
        except ValueError:
            raise SettingError(
                f"{PREFIX}{setting.name}={raw!r}: write a number, e.g. {setting.default}."
            ) from None
        return value
    return raw


@dataclass(frozen=True)
class Settings:
    """Every setting, resolved. Field names are the setting names in lower case."""

    data: str
    database: str
    base_url: str
    name: str
    admin_token: str
    feed_max_entries: int
    tag_authority: str
    feed_max_age: int
    page_max_age: int
    calendar_refresh: int
    watch: bool
    watch_interval: float
    watch_settle: float
    refresh_interval: float
    access_log: bool
    hub: bool
    hubs: str
    hub_lease: int
    hub_lease_min: int
    hub_lease_max: int
    hub_allow_private_callbacks: bool
    hub_timeout: float
    hub_retry_for: int
    hub_backoff: float
    hub_backoff_max: float
    hub_coalesce: float
    hub_max_pending_per_host: int
    hub_max_pending_per_client: int
    hub_max_pending: int
    worker: bool
    worker_concurrency: int
    worker_lease: float
    worker_poll: float
    load_helpers: int
    host: str
    port: int
    threads: int
    proxies: int
    header_timeout: float
    body_timeout: float
    connections: int
    backlog: int

    @property
    def base(self) -> str:
        """BASE_URL without a trailing slash, ready to prefix a path."""
        return self.base_url.rstrip("/")

    @property
    def hub_urls(self) -> tuple[str, ...]:
        """Every hub documents advertise, in order: the built-in one first (WebSub §4)."""
        own = (self.base + HUB(),) if self.hub else ()
        return own + tuple(self.hubs.split())


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Defaults, then ``PUBLISHER_*`` variables, then ``overrides`` (keys as in SETTINGS)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = setting.default
        raw = environ.get(PREFIX + setting.name)
        if raw is not None:
            value = _parse(setting, raw)
        values[setting.name.lower()] = value
    for key, value in (overrides or {}).items():
        name = key.upper().removeprefix(PREFIX).lower()
        if name not in values:
            raise SettingError(f"Unknown setting {key!r}.")
        values[name] = value
    for hub in str(values["hubs"]).split():
        parts = urlsplit(hub)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingError(f"{PREFIX}HUBS: {hub!r} is not a web address; write https://...")
    if any(c.isspace() for c in values["admin_token"]):
        # A client's header is read without the spaces around it: never equal.
        raise SettingError(f"{PREFIX}ADMIN_TOKEN must not contain spaces or line breaks.")
    if 0 < len(values["admin_token"]) < ADMIN_TOKEN_MIN:
        raise SettingError(
            f"{PREFIX}ADMIN_TOKEN is {len(values['admin_token'])} characters long: use at least "
            f"{ADMIN_TOKEN_MIN}, for example one made with:\n"
            '    python -c "import secrets; print(secrets.token_urlsafe(24))"'
        )
    if "<" in values["name"] or ">" in values["name"]:
        # The feeds' author and OPML owner: as with names in the data (publisher check), a
        # reader that takes RSS or OPML text for HTML would read it as markup.
        raise SettingError(
            f"{PREFIX}NAME must not contain < or >: many feed readers would take them for "
            "web page code. Write the words instead."
        )
    if not values["hub_lease_min"] <= values["hub_lease"] <= values["hub_lease_max"]:
        raise SettingError(
            f"{PREFIX}HUB_LEASE must lie between {PREFIX}HUB_LEASE_MIN and {PREFIX}HUB_LEASE_MAX."
        )
    for setting in SETTINGS:
        value = values[setting.name.lower()]
        if type(setting.default) in (int, float) and not (
            math.isfinite(value) and setting.minimum <= value <= setting.maximum
        ):
            raise SettingError(
                f"{PREFIX}{setting.name}={value!r}: write a number from "
                f"{setting.minimum:g} to {setting.maximum:g}."
            )
    return Settings(**values)
