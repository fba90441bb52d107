"""Walk one file's values against the schema (``schema.Spec``).

Every problem is collected (not just the first), each naming the file, line, group and field
and saying how to fix it. Unknown keys are errors, with the nearest known key suggested, so a
typo never silently drops a fact.
"""

from __future__ import annotations

import difflib
import re
from typing import Any
from urllib.parse import urlsplit

from publisher.directory import schedule_words
from publisher.directory.files import DataFile, Path_, cut, quote
from publisher.directory.schema import GROUP, Spec
from publisher.model.directory import FLAGS
from publisher.model.errors import Problem
from publisher.model.zones import ZoneRuleError, check_zone

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
TWITTER = re.compile(r"^@[A-Za-z0-9_]{1,15}$")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # a lone carriage return too
SPACE = re.compile(r"\s")
#: What a name or title may not hold: many feed readers take RSS and OPML text as HTML.
MARKUP = re.compile(r"[<>]")
#: http(s), a host name of letters, digits, dots and hyphens, then nothing or a path, query
#: or fragment: addresses urlsplit accepts with that scheme and host, found without it.
PLAIN_WEB_ADDRESS = re.compile(r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?:[/?#]|\Z)")
MAX_TEXT = 10_000


_KIND_WORDS = {
    "text": "text",
    "name": "text",
    "line": "text on one line",
    "slug": "a slug",
    "url": "a web address",
    "language": "a language tag",
    "handle": "a Twitter handle",
    "flag": "a flag",
    "date": "a date",
    "times": "a time range",
    "zone": "a time zone",
    "every": "a repeat",
    "count": "a whole number",
    "coordinates": "coordinates",
    "list": "a list",
    "object": "a block of key: value lines",
}


class Checker:
    """Walks one file's value against a Spec, collecting problems and a cleaned value."""

    def __init__(self, data: DataFile, problems: list[Problem]) -> None:
        self.data = data
        self.problems = problems
        self.group: str | None = None
        #: The first two steps of every path with an error, e.g. ("groups", 3): that group
        #: is incomplete and is not built.
        self.bad: set[Path_] = set()

    def report(self, path: Path_, message: str, hint: str = "", warning: bool = False) -> None:
        if not warning:
            self.bad.add(path[:2])
        self.problems.append(
            Problem(
                self.data.name,
                self.data.line(path),
                self.group,
                field_name(path) or None,
                message,
                hint,
                warning,
            )
        )

    def check(self, value: Any, spec: Spec, path: Path_) -> Any:
        kind = spec.kind
        if kind == "object":
            return self._object(value, spec, path)
        if kind == "list":
            if not isinstance(value, list):
                self.report(
                    path,
                    f"Expected a list, found {self._found(path, value)}.",
                    "Write each item on its own line starting with '- '.",
                )
                return []
            assert spec.item is not None
            return [self.check(v, spec.item, (*path, i)) for i, v in enumerate(value)]
        return self._scalar(value, spec, path)

    def _object(self, value: Any, spec: Spec, path: Path_) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.report(
                path,
                f"Expected key: value lines, found {self._found(path, value)}.",
                "Indent the lines under this key.",
            )
            return None
        if spec is GROUP:  # problems inside name this group (by its slug, else its name)
            self.group = self._label(value, path)
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key not in spec.fields:
                close = difflib.get_close_matches(key, list(spec.fields), n=1)
                hint = (
                    f"Did you mean {close[0]!r}?"
                    if close
                    else f"Known keys here: {', '.join(spec.fields)}."
                )
                self.report((*path, key), f"Unknown key {quote(key)}.", hint)
                continue
            if item is None:
                if spec.fields[key].required:
                    self.report((*path, key), f"{key!r} is empty but required.", "Fill it in.")
                continue  # an empty optional key means unknown, which is allowed
            out[key] = self.check(item, spec.fields[key], (*path, key))
        for key, sub in spec.fields.items():
            if sub.required and key not in value:
                self.report(
                    (*path, key),
                    f"The required key {key!r} is missing.",
                    f"Add a line '{key}: ...'.",
                )
        if spec is GROUP:
            self.group = None
        return out

    def _label(self, group: dict[str, Any], path: Path_) -> str | None:
        """A group's slug, else '(no slug)' and its name, if written on one line."""
        slug, name = group.get("slug"), group.get("name")
        if isinstance(slug, str) and self.data.one_line((*path, "slug")):
            return cut(slug)
        if isinstance(name, str) and self.data.one_line((*path, "name")):
            return f"(no slug) {cut(name)}"
        return None

    def _found(self, path: Path_, value: Any) -> str:
        return _describe(value, self.data.one_line(path))

    def _scalar(self, value: Any, spec: Spec, path: Path_) -> str | int | None:
        kind = spec.kind
        if kind == "count":
            if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 1000:
                return value
            self.report(
                path,
                f"Expected {_KIND_WORDS[kind]}, found {self._found(path, value)}.",
                "Write how many meetings the series has, from 1 to 1000.",
            )
            return None
        if not isinstance(value, str):
            self.report(
                path,
                f"Expected {_KIND_WORDS[kind]}, found {self._found(path, value)}.",
                "Put the value in quotes if it should be text.",
            )
            return None
        text = value.strip()
        if not text:
            self.report(path, "This value is empty.", "Fill it in, or remove the line.")
            return None
        if kind != "text" and not self.data.one_line(path):
            self.report(path, "This value must be written on one line.", "Join its lines.")
            return None
        if CONTROL.search(text):
            self.report(
                path,
                "This text has invisible control characters.",
                "Retype the value; copy-paste can bring them in.",
            )
            return None
        if len(text) > MAX_TEXT:
            self.report(path, f"This text is longer than {MAX_TEXT} characters.", "Shorten it.")
            return None
        if kind == "slug" and not SLUG.match(text):
            self.report(
                path,
                f"{quote(text)} is not a slug.",
                "Use lower-case letters, digits and single hyphens, e.g. mad-failures.",
            )
            return None
        if kind == "url" and not _is_web_address(text):
            self.report(
                path,
                f"{quote(text)} is not a web address.",
                "Write the whole address, starting with https:// (or http://).",
            )
            return None
        if kind == "name" and MARKUP.search(text):
            # Whether RSS titles and OPML text are HTML is left open by their specs, and
            # no escaping reads right in both kinds of reader: refused, not escaped.
            self.report(
                path,
                "A name or title cannot hold < or >: many feed readers would take them "
                "for web page code.",
                "Leave them out, or write the words instead (for example 'less than').",
            )
            return None
        if kind == "language" and not LANGUAGE.match(text):
            self.report(path, f"{quote(text)} is not a language tag.", "Write e.g. en-GB.")
            return None
        if kind == "handle" and not TWITTER.match(text):
            self.report(
                path, f"{quote(text)} is not a Twitter handle.", "Write e.g. @stigmaresearch."
            )
            return None
        if kind == "flag" and text not in FLAGS:
            self.report(path, f"Unknown flag {quote(text)}.", f"Known flags: {', '.join(FLAGS)}.")
            return None
        if kind in _SCHEDULE_KINDS:
            try:
                _SCHEDULE_KINDS[kind](text)
            except schedule_words.ScheduleError as exc:
                self.report(path, exc.message, exc.hint)
                return None
        return text


def _publishable_zone(name: str) -> None:
    """A zone that exists and whose VTIMEZONE calendar apps will read right."""
    schedule_words.zone(name)
    try:
        check_zone(name)
    except ZoneRuleError as exc:
        raise schedule_words.ScheduleError(
            f"Calendars cannot describe the time zone {name!r}: {exc}.",
            "Use a neighbouring zone with the same clocks, or ask for help.",
        ) from None


#: Kinds read by the schedule module: each raises ScheduleError with a message and a hint.
_SCHEDULE_KINDS = {
    "date": schedule_words.parse_date,
    "times": schedule_words.parse_time_range,
    "zone": _publishable_zone,
    "every": schedule_words.parse_every,
    "coordinates": schedule_words.parse_coordinates,
}


def field_name(path: Path_) -> str:
    """'links[0].url' for ('groups', 3, 'links', 0, 'url'): the part inside the group."""
    if len(path) >= 2 and path[0] == "groups" and isinstance(path[1], int):
        path = path[2:]
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _describe(value: Any, one_line: bool) -> str:
    """What was found instead, quoted only if it is text written on one line."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the word {str(value).lower()!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "key: value lines"
    if isinstance(value, str):
        return quote(value) if one_line else "text written over several lines"
    return "a value marked with a ! tag"


def _is_web_address(text: str) -> bool:
    if SPACE.search(text):  # the characters str.isspace() knows, without a loop in Python
        return False
    if PLAIN_WEB_ADDRESS.match(text):  # nearly every link: no need for urlsplit's work
        return True
    try:
        parts = urlsplit(text)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False
