"""Settings: one table of name, default and help, read from ``PUBLISHER_*`` variables.

The README lists every setting; ``tests/test_docs.py`` keeps the two in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    secret: bool = False


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
    Setting("FEED_MAX_ENTRIES", 100, "Entries per feed: the most recently changed ones."),
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
    Setting("WATCH_INTERVAL", 0.25, "Seconds between two looks at the data files."),
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
    ),
    Setting(
        "ACCESS_LOG",
        True,
        "Log one line per request: method, path, status, size, time. Never an IP address "
        "or a Referer.",
    ),
    Setting("HOST", "127.0.0.1", "Address publisher serve listens on."),
    Setting("PORT", 8000, "Port publisher serve listens on."),
    Setting(
        "THREADS",
        4,
        "Threads of the server process for requests (granian warns above twice the cores).",
    ),
)

PREFIX = "PUBLISHER_"
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
        if value < 0:
            raise SettingError(f"{PREFIX}{setting.name}={raw!r}: must not be negative.")
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
    host: str
    port: int
    threads: int

    @property
    def base(self) -> str:
        """BASE_URL without a trailing slash, ready to prefix a path."""
        return self.base_url.rstrip("/")


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
    return Settings(**values)
