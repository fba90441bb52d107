"""Settings, declared once: each a field of ``Settings`` with its type, default and help,
read from ``PUBLISHER_*`` variables and checked when made.

``SETTINGS`` is the table derived from the declarations (name, type, default, help), which
``publisher settings`` prints; the README lists every setting, and ``tests/test_docs.py``
keeps the two in step.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from publisher.urls import HUB

PREFIX = "PUBLISHER_"
#: Shortest admin token: anything shorter could be guessed by trying.
ADMIN_TOKEN_MIN = 16
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingError(ValueError):
    """A PUBLISHER_* variable whose value cannot be read."""


def _setting(
    default: Any,
    help: str,
    *,
    secret: bool = False,
    minimum: float = 0,
    maximum: float = 10**9,
) -> Any:
    """Declare one setting: a field of ``Settings`` with its default, and what the table
    (``SETTINGS``) says of it: its help, whether it is a secret (never shown) and, for a
    number, the smallest and largest value it may take (numbers are never negative)."""
    return field(
        default=default,
        metadata={"help": help, "secret": secret, "minimum": minimum, "maximum": maximum},
    )


@dataclass(frozen=True)
class Settings:
    """Every setting, resolved. A field's name is the setting's name in lower case
    (``hub_timeout`` is ``PUBLISHER_HUB_TIMEOUT``); its type is the form a value must have.
    Checked when made, so a Settings that exists holds valid values only."""

    data: str = _setting("data", "Folder of the directory's YAML files.")
    database: str = _setting(
        "instance/publisher.sqlite3",
        "SQLite file keeping entry history, changes and the last good publication.",
    )
    base_url: str = _setting(
        "http://127.0.0.1:8000",
        "Public address of the service; every absolute URL in feeds and pages starts with it, "
        "never with the request's Host header.",
    )
    name: str = _setting("Mad Studies groups directory", "Who publishes: the feeds' author.")
    admin_token: str = _setting(
        "", "Bearer token for POST /admin/reload. Empty switches the endpoint off.", secret=True
    )
    feed_max_entries: int = _setting(
        100, "Entries per feed: the most recently changed ones.", minimum=1, maximum=10000
    )
    tag_authority: str = _setting(
        "",
        "Authority of the tag: URIs used as entry ids (RFC 4151), e.g. example.org. Read once "
        "at the first run and stored; empty means the host of BASE_URL (localhost when that "
        "is an IP address).",
    )
    feed_max_age: int = _setting(300, "Cache-Control max-age, in seconds, for feeds.")
    page_max_age: int = _setting(60, "Cache-Control max-age, in seconds, for pages.")
    calendar_refresh: int = _setting(
        21600,
        "Seconds calendars ask apps to wait between two fetches (REFRESH-INTERVAL and "
        "X-PUBLISHED-TTL). Google and Outlook choose their own pace whatever it says.",
    )
    watch: bool = _setting(True, "Reload by itself when a data file changes while serving.")
    watch_interval: float = _setting(
        0.25, "Seconds between two looks at the data files.", minimum=0.001, maximum=3600
    )
    watch_settle: float = _setting(
        0.5,
        "Seconds the data files must stay unchanged before a reload, so a half-saved file "
        "is not loaded.",
    )
    refresh_interval: float = _setting(
        1.0,
        "Seconds between two checks, in each server process, for a publication written by "
        "another process (publisher reload).",
        minimum=0,
        maximum=3600,
    )
    access_log: bool = _setting(
        True,
        "Log one line per request: method, path, status, size, time. Never an IP address "
        "or a Referer.",
    )
    hub: bool = _setting(
        True,
        "Run the built-in WebSub hub at /hub and advertise it first in every feed and calendar.",
    )
    hubs: str = _setting(
        "",
        "External WebSub hubs to ping on each change (space-separated URLs), advertised after "
        "the built-in hub.",
    )
    hub_lease: int = _setting(864000, "Lease, in seconds, of a subscription that asks for none.")
    hub_lease_min: int = _setting(3600, "Shortest lease, in seconds, a subscriber may ask for.")
    hub_lease_max: int = _setting(2592000, "Longest lease, in seconds, a subscriber may ask for.")
    hub_allow_private_callbacks: bool = _setting(
        False,
        "Allow callbacks on loopback, private, link-local and other non-public addresses "
        "(only for local testing).",
    )
    hub_timeout: float = _setting(
        10.0, "Seconds each request to a subscriber or hub may take.", minimum=0.1, maximum=600
    )
    hub_retry_for: int = _setting(
        86400,
        "Seconds a failing delivery is retried (with exponential backoff) before it is given "
        "up and recorded.",
    )
    hub_backoff: float = _setting(
        10.0, "Seconds before the first retry; each retry waits twice as long."
    )
    hub_backoff_max: float = _setting(3600.0, "Longest wait, in seconds, between two retries.")
    hub_coalesce: float = _setting(
        0.25,
        "Seconds a delivery waits after a change, so edits in quick succession send one document.",
    )
    hub_max_pending_per_host: int = _setting(
        100,
        "Subscription requests waiting for verification, at most, per callback address (every "
        "spelling of one IP address counts as that address; a name counts as itself).",
        minimum=1,
        maximum=10000000,
    )
    hub_max_pending_per_client: int = _setting(
        20,
        "Subscription requests waiting for verification, at most, per client: the address a "
        "request comes from (an IPv6 one by its /64), kept in memory only, never logged.",
        minimum=1,
        maximum=10000000,
    )
    hub_max_pending: int = _setting(
        1000,
        "Subscription requests waiting for verification, at most, from all clients together. "
        "When full, a client with fewer waiting takes the place of the newest request of the "
        "client with the most.",
        minimum=1,
        maximum=10000000,
    )
    worker: bool = _setting(
        True, "Run the delivery worker inside publisher serve (else run publisher worker)."
    )
    worker_concurrency: int = _setting(
        32, "Requests the delivery worker has in flight at most.", minimum=1, maximum=10000
    )
    worker_lease: float = _setting(
        60.0,
        "Seconds a worker holds the deliveries it claims; after that, should it have died, "
        "another worker sends them.",
        minimum=1,
        maximum=86400,
    )
    worker_poll: float = _setting(
        0.25, "Seconds between two looks for due deliveries when idle.", minimum=0.001, maximum=3600
    )
    load_helpers: int = _setting(
        1,
        "Helper processes a large load (about 1,000 groups or more) parses files and renders "
        "pages, calendars and feeds with, on other cores; at most one fewer than the cores. "
        "0: none.",
    )
    host: str = _setting("127.0.0.1", "Address publisher serve listens on.")
    port: int = _setting(8000, "Port publisher serve listens on.", minimum=1, maximum=65535)
    threads: int = _setting(
        4,
        "Threads of the server process for requests that are not a published document "
        "(the hub, admin and health endpoints, 404 pages). A request reaches one only once "
        "it has been received whole.",
        minimum=1,
        maximum=1000,
    )
    proxies: int = _setting(
        0,
        "Reverse proxies in front of publisher serve (nginx alone: 1). With 1 or more, a "
        "client's address, which only the hub's per-client limits use, is read from "
        "X-Forwarded-For as that many proxies wrote it; with 0 the header is ignored, since "
        "any client could write it.",
    )
    header_timeout: float = _setting(
        10.0,
        "Seconds a client may take to send a request's headers, from their first byte, and "
        "that a kept-alive connection may stay idle; the connection is then closed.",
        minimum=1,
        maximum=3600,
    )
    body_timeout: float = _setting(
        10.0,
        "Seconds a client may take to send a request's body (POST /hub, /admin/reload); "
        "it is then answered 408 and the connection closed. No thread waits meanwhile.",
        minimum=1,
        maximum=3600,
    )
    connections: int = _setting(
        4096,
        "Connections publisher serve holds open at most; more wait in the listen queue. "
        "The open-files limit is raised to fit, if the system allows.",
        minimum=1,
        maximum=1000000,
    )
    backlog: int = _setting(
        1024,
        "Length of the listen queue of connections not yet accepted (the system caps it at "
        "net.core.somaxconn).",
        minimum=1,
        maximum=65535,
    )

    def __post_init__(self) -> None:
        _check(self)

    @property
    def base(self) -> str:
        """BASE_URL without a trailing slash, ready to prefix a path."""
        return self.base_url.rstrip("/")

    @property
    def hub_urls(self) -> tuple[str, ...]:
        """Every hub documents advertise, in order: the built-in one first (WebSub §4)."""
        own = (self.base + HUB(),) if self.hub else ()
        return own + tuple(self.hubs.split())


@dataclass(frozen=True)
class Setting:
    """One row of the table, derived from its declaration in ``Settings``."""

    name: str  #: as in the environment, without the prefix: HUB_TIMEOUT
    kind: type  #: str, int, float or bool
    default: Any
    help: str
    secret: bool
    minimum: float
    maximum: float

    @property
    def variable(self) -> str:
        return PREFIX + self.name

    @property
    def form(self) -> str:
        """How a value is written, for the message that refuses one."""
        if self.kind is bool:
            return "1 or 0"
        if self.kind is int:
            return f"a whole number, e.g. {self.default}"
        if self.kind is float:
            return f"a number, e.g. {self.default}"
        return "text"


_KINDS = get_type_hints(Settings)
SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name.upper(), _KINDS[f.name], f.default, **f.metadata) for f in fields(Settings)
)
_BY_NAME = {setting.name: setting for setting in SETTINGS}


def _parse(setting: Setting, raw: str) -> Any:
    """A variable's text read as its setting's type."""
    if setting.kind is str:
        return raw
    if setting.kind is bool:
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    else:
        with contextlib.suppress(ValueError):
            return setting.kind(raw)
    raise SettingError(f"{setting.variable}={raw!r}: write {setting.form}.")


def _fits(setting: Setting, value: Any) -> bool:
    """Whether a value has its setting's type (a bool is not a number here)."""
    if isinstance(value, bool):
        return setting.kind is bool
    if setting.kind is float:
        return isinstance(value, int | float)
    return isinstance(value, setting.kind)


def _check(settings: Settings) -> None:
    """Refuse, naming the variable and the form expected, a value of the wrong type, a
    number out of its range, and values the service would misuse without a word."""
    for setting in SETTINGS:
        value = getattr(settings, setting.name.lower())
        if not _fits(setting, value):
            raise SettingError(f"{setting.variable}={value!r}: write {setting.form}.")
    base = urlsplit(settings.base_url)
    if base.scheme not in ("http", "https") or not base.hostname:
        # Every link in feeds, pages and calendars starts with it.
        raise SettingError(
            f"{PREFIX}BASE_URL={settings.base_url!r}: write the public web address, "
            "starting with https:// (or http://)."
        )
    for hub in settings.hubs.split():
        parts = urlsplit(hub)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingError(f"{PREFIX}HUBS: {hub!r} is not a web address; write https://...")
    if any(c.isspace() for c in settings.admin_token):
        # A client's header is read without the spaces around it: never equal.
        raise SettingError(f"{PREFIX}ADMIN_TOKEN must not contain spaces or line breaks.")
    if 0 < len(settings.admin_token) < ADMIN_TOKEN_MIN:
        raise SettingError(
            f"{PREFIX}ADMIN_TOKEN is {len(settings.admin_token)} characters long: use at least "
            f"{ADMIN_TOKEN_MIN}, for example one made with:\n"
            '    python -c "import secrets; print(secrets.token_urlsafe(24))"'
        )
    if "<" in settings.name or ">" in settings.name:
        # The feeds' author and OPML owner: as with names in the data (publisher check), a
        # reader that takes RSS or OPML text for HTML would read it as markup.
        raise SettingError(
            f"{PREFIX}NAME must not contain < or >: many feed readers would take them for "
            "web page code. Write the words instead."
        )
    if not settings.hub_lease_min <= settings.hub_lease <= settings.hub_lease_max:
        raise SettingError(
            f"{PREFIX}HUB_LEASE must lie between {PREFIX}HUB_LEASE_MIN and {PREFIX}HUB_LEASE_MAX."
        )
    for setting in SETTINGS:
        value = getattr(settings, setting.name.lower())
        if setting.kind in (int, float) and not (
            math.isfinite(value) and setting.minimum <= value <= setting.maximum
        ):
            raise SettingError(
                f"{setting.variable}={value!r}: write a number from "
                f"{setting.minimum:g} to {setting.maximum:g}."
            )


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Defaults, then ``PUBLISHER_*`` variables, then ``overrides`` (keys as in SETTINGS),
    checked: a SettingError names the first value that cannot be used."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.variable)
        if raw is not None:
            values[setting.name.lower()] = _parse(setting, raw)
    for key, value in (overrides or {}).items():
        name = key.upper().removeprefix(PREFIX).lower()
        if name.upper() not in _BY_NAME:
            raise SettingError(f"Unknown setting {key!r}.")
        values[name] = value
    for name, value in values.items():
        if _BY_NAME[name.upper()].kind is float and type(value) is int:
            values[name] = float(value)  # 1 for 1.0, as PUBLISHER_HUB_TIMEOUT=1 reads
    return Settings(**values)
