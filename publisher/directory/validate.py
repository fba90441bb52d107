"""Check the data files against the schema and build the model.

Every problem is collected (not just the first), each naming the file, line, group and field
and saying how to fix it. Unknown keys are errors, with the nearest known key suggested, so a
typo never silently drops a fact.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from publisher.directory import schedule, slugs
from publisher.directory.files import (
    SITE_FILE,
    Contents,
    DataFile,
    Path_,
    cut,
    ignored,
    parse,
    quote,
    read_folder,
)
from publisher.model.directory import (
    FLAGS,
    Category,
    Contact,
    Directory,
    Group,
    Link,
    Meetings,
    Online,
    Place,
    Site,
    fingerprint_of,
)
from publisher.model.errors import DirectoryError, Problem
from publisher.model.zones import ZoneRuleError, check_zone

log = logging.getLogger(__name__)

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
#: A name or title: text without < or > (see ``_scalar``).
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

GROUP = Spec(
    "object",
    fields={
        "slug": Spec("slug", required=True),
        "name": Spec("name", required=True),
        "description": TEXT,
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
            item=Spec(
                "object",
                fields={
                    "slug": Spec("slug", required=True),
                    "name": Spec("name", required=True),
                    "description": TEXT,
                },
            ),
        ),
    },
)

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


class _Checker:
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
                _field_name(path) or None,
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
            except schedule.ScheduleError as exc:
                self.report(path, exc.message, exc.hint)
                return None
        return text


def _publishable_zone(name: str) -> None:
    """A zone that exists and whose VTIMEZONE calendar apps will read right."""
    schedule.zone(name)
    try:
        check_zone(name)
    except ZoneRuleError as exc:
        raise schedule.ScheduleError(
            f"Calendars cannot describe the time zone {name!r}: {exc}.",
            "Use a neighbouring zone with the same clocks, or ask for help.",
        ) from None


#: Kinds read by the schedule module: each raises ScheduleError with a message and a hint.
_SCHEDULE_KINDS = {
    "date": schedule.parse_date,
    "times": schedule.parse_time_range,
    "zone": _publishable_zone,
    "every": schedule.parse_every,
    "coordinates": schedule.parse_coordinates,
}


def _field_name(path: Path_) -> str:
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


def _build_group(raw: dict[str, Any], category: str, source: str) -> Group:
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
            "coordinates": schedule.parse_coordinates(coordinates) if coordinates else None,
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
        text = f"{prefix}-{schedule.parse_date(day).isoformat()}"
        used[text] = used.get(text, 0) + 1
        return text if used[text] == 1 else f"{text}-{used[text]}"

    return Meetings(
        frequency_as_published=raw.get("frequency_as_published"),
        time_zone=raw.get("time_zone"),
        place=_place(raw.get("place")),
        online=_online(raw.get("online")),
        how_to_join=raw.get("how_to_join"),
        series=tuple(
            schedule.build_series(s, key("series", s["starts"], s.get("key")))
            for s in raw.get("series", [])
        ),
        one_off=tuple(
            schedule.build_one_off(
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


#: How a load may share the checking with other processes: ``func`` over the jobs, given in
#: chunks of ``chunk`` jobs, with the results in the order of the jobs (``Helpers.map``). The
#: loader passes it in, so the directory depends on no process machinery; ``func`` is
#: module-level and the jobs picklable, as another process may run them.
MapChunks = Callable[[Callable[[list[Any]], list[Any]], list[Any], int], list[Any]]
#: Bytes of YAML to parse, at least, before a load spreads the parsing over helpers: below
#: this (about 1,500 groups) starting a helper would cost more than it saves.
SPREAD_BYTES = 1_000_000
#: Files a helper gets at a time (about 150 KB of YAML).
SPREAD_CHUNK = 2


def load_directory(
    folder: Path,
    contents: Contents | None = None,
    spread: MapChunks | None = None,
    owner: slugs.Owner | None = None,
) -> Directory:
    """Read, check and build the directory in ``folder``; raise DirectoryError listing all
    problems (warnings included) if any error was found."""
    directory, problems = check_directory(folder, contents, spread, owner)
    if directory is None:
        raise DirectoryError(problems)
    return directory


@dataclass(frozen=True)
class GroupsFile:
    """One file of groups, checked on its own: what other files cannot change."""

    category: str | None
    category_line: int | None
    groups: tuple[tuple[Group, int | None, tuple[int | None, ...]], ...]  # group, slug lines
    problems: tuple[Problem, ...]


#: The last check of each file, by name: (its bytes or why it was not read, the result).
_CHECKED: dict[str, tuple[bytes | Problem, GroupsFile]] = {}


def check_groups_files(
    contents: Contents, spread: MapChunks | None = None
) -> dict[str, GroupsFile]:
    """Parse and check each file of groups, or reuse the last result for the same bytes: a
    reload parses only the files that changed, so a large directory split over many files
    reloads quickly. One result is kept per file name, so memory does not grow with edits.

    Files are checked each on its own, so ``spread`` may check them on other processes
    when there is much to parse (a first load)."""
    todo = [
        (name, raw)
        for name, raw in contents.items()
        if name != SITE_FILE and ((cached := _CHECKED.get(name)) is None or cached[0] != raw)
    ]
    size = sum(len(raw) for _, raw in todo if isinstance(raw, bytes))
    if spread is not None and size >= SPREAD_BYTES:
        results = spread(check_files, todo, SPREAD_CHUNK)
    else:
        results = check_files(todo)
    for (name, raw), result in zip(todo, results, strict=True):
        _CHECKED[name] = (raw, result)
    return {name: _CHECKED[name][1] for name in contents if name != SITE_FILE}


def check_files(files: list[tuple[str, bytes | Problem]]) -> list[GroupsFile]:
    """Each (name, bytes) file of groups checked: module-level, for a helper process.

    Whatever goes wrong in one file is a problem of that file, never an exception that
    would end the whole check (a traceback on the command line, a 500 from the endpoint)."""
    out = []
    for name, raw in files:
        if isinstance(raw, Problem):  # not read (files.read_folder says why)
            out.append(GroupsFile(None, None, (), (raw,)))
            continue
        try:
            out.append(_check_groups_file(name, raw))
        except Exception as exc:  # noqa: BLE001 - a fault of the checker, reported as such
            out.append(GroupsFile(None, None, (), (_checker_fault(name, exc),)))
    return out


def _checker_fault(name: str, exc: Exception) -> Problem:
    """The problem of a file that made the checker fail: named, never a traceback. The
    exception's own words are left out: they may quote the file."""
    log.debug("Checking %s failed", name, exc_info=True)
    return Problem(
        name,
        None,
        None,
        None,
        f"This file could not be read: the checker failed on it ({type(exc).__name__}).",
        "This is a fault in publisher: please report it, with a copy of the file.",
    )


def _check_groups_file(name: str, raw: bytes) -> GroupsFile:
    data, problems = parse(raw, name)
    if data is None:
        return GroupsFile(None, None, (), tuple(problems))
    checker = _Checker(data, problems)
    raw_value = checker.check(data.value, GROUPS_FILE, ())
    category = raw_value.get("category") if raw_value else None
    groups = []
    for i, group_raw in enumerate(raw_value.get("groups", []) if raw_value else []):
        if ("groups", i) in checker.bad or category is None:
            continue
        report = _Reporter(name, data, problems, i, group_raw["slug"])
        _check_inferred(report, group_raw)
        if not _check_rules(report, group_raw):
            continue
        line = data.line(("groups", i, "slug"))
        previous = tuple(
            data.line(("groups", i, "previous_slugs", j))
            for j in range(len(group_raw.get("previous_slugs", [])))
        )
        group = _build_group(group_raw, category, f"{name}:{line}")
        if group.meetings is not None:
            findings = schedule.check(group.meetings)
            for f in findings:
                report(("meetings", *f.path), f.message, f.hint, f.warning)
            if any(not f.warning for f in findings):
                continue
        groups.append((group, line, previous))
    return GroupsFile(category, data.line(("category",)), tuple(groups), tuple(problems))


@dataclass(frozen=True)
class _Reporter:
    """Adds problems about one group, at a path inside it."""

    file: str
    data: DataFile
    problems: list[Problem]
    index: int
    slug: str

    def __call__(self, path: Path_, message: str, hint: str, warning: bool = False) -> None:
        full = ("groups", self.index, *path)
        self.problems.append(
            Problem(
                self.file,
                self.data.line(full),
                cut(self.slug),
                _field_name(full),
                message,
                hint,
                warning,
            )
        )


def _check_inferred(report: _Reporter, group: dict[str, Any]) -> None:
    """``inferred`` may name only fields that are filled in, of those that can be inferred."""
    meetings = group.get("meetings") or {}
    places = [
        (("place",), group.get("place") or {}),
        (("meetings", "place"), meetings.get("place") or {}),
    ]
    places += [
        (("meetings", "one_off", j, "place"), o.get("place") or {})
        for j, o in enumerate(meetings.get("one_off", []))
    ]
    checks = [(path, values, PLACE_FIELDS, "a place field") for path, values in places]
    checks.append(
        (("meetings",), meetings, MEETING_INFERABLE, "a meeting field that can be inferred")
    )
    for path, values, allowed, what in checks:
        for j, inferred in enumerate(values.get("inferred", [])):
            if inferred not in allowed or inferred not in values:
                report(
                    (*path, "inferred", j),
                    f"{quote(inferred)} is not {what} of this group.",
                    f"List only fields that are filled in, from: {', '.join(allowed)}.",
                )


def _check_rules(report: _Reporter, group: dict[str, Any]) -> bool:
    """A series' ``on`` is read with its ``every``, and a meeting ``key`` is used once in
    the group; False if something here is wrong."""
    ok = True
    meetings = group.get("meetings") or {}
    seen: set[str] = set()
    for kind in ("series", "one_off"):
        for j, item in enumerate(meetings.get(kind, [])):
            given = item.get("key")
            if given and given in seen:
                report(
                    ("meetings", kind, j, "key"),
                    f"The key {given!r} is used twice in this group's meetings.",
                    "Give each series and one-off meeting its own key.",
                )
                ok = False
            if given:
                seen.add(given)
    for j, series in enumerate((group.get("meetings") or {}).get("series", [])):
        if "on" not in series:
            continue
        try:
            schedule.parse_on(series["on"], schedule.parse_every(series["every"])[0])
        except schedule.ScheduleError as exc:
            report(("meetings", "series", j, "on"), exc.message, exc.hint)
            ok = False
    return ok


def check_directory(
    folder: Path,
    contents: Contents | None = None,
    spread: MapChunks | None = None,
    owner: slugs.Owner | None = None,
) -> tuple[Directory | None, list[Problem]]:
    """Every problem in the folder, and the directory when there is no error.

    ``contents`` (``files.read_folder``) saves reading the files again. ``owner`` tells
    which published group a slug belongs to, when the caller knows the history. Problems
    name each file with its folder (data/community-groups.yaml), as given."""
    folder = Path(folder)
    if not folder.is_dir():
        return None, [
            Problem(
                str(folder),
                None,
                None,
                None,
                "This data folder does not exist.",
                "Give the folder that holds site.yaml with --data.",
            )
        ]
    directory, problems = _check_folder(folder, contents, spread, owner)
    return directory, [replace(p, file=str(folder / p.file)) for p in problems]


def _check_folder(
    folder: Path, contents: Contents | None, spread: MapChunks | None, owner: slugs.Owner | None
) -> tuple[Directory | None, list[Problem]]:
    if contents is None:
        contents = read_folder(folder)
    problems: list[Problem] = [
        Problem(
            path.name,
            None,
            None,
            None,
            "This file is not read: only files ending in .yaml are.",
            f"If it holds groups, rename it to {path.stem}.yaml.",
            warning=True,
        )
        for path in sorted(folder.iterdir())
        if path.suffix.lower() in (".yml", ".yaml")
        and path.suffix != ".yaml"
        and not ignored(path.name)
    ]
    site_raw, categories = _check_site(contents.get(SITE_FILE), problems)
    groups: dict[str, list[Group]] = {slug: [] for slug in categories}
    slug_seen: dict[str, slugs.Use] = {}

    def where(use: slugs.Use) -> str:
        return f"{folder / use.file}:{use.line}"

    for name, checked in check_groups_files(contents, spread).items():
        problems += checked.problems
        category = checked.category
        if category and categories and category not in categories:
            close = difflib.get_close_matches(category, list(categories), n=1)
            problems.append(
                Problem(
                    name,
                    checked.category_line,
                    None,
                    "category",
                    f"Unknown category {quote(category)}.",
                    (f"Did you mean {close[0]!r}? " if close else "")
                    + "Categories are listed in site.yaml.",
                )
            )
            continue
        for group, line, previous_lines in checked.groups:
            uses = [(group.slug, slugs.Use(name, line, group, "slug"))] + [
                (slug, slugs.Use(name, previous_lines[j], group, f"previous_slugs[{j}]"))
                for j, slug in enumerate(group.previous_slugs)
            ]
            for slug, use in uses:
                first = slug_seen.setdefault(slug, use)
                if first is not use:
                    problem, slug_seen[slug] = slugs.duplicate(slug, first, use, owner, where)
                    problems.append(problem)
            if category in groups:
                groups[category].append(group)
    if any(not p.warning for p in problems) or site_raw is None:
        return None, problems
    directory = Directory(
        site=Site(
            site_raw["title"],
            site_raw["description"],
            site_raw["language"],
            site_raw.get("time_zone", "UTC"),
        ),
        categories=tuple(
            Category(
                slug=slug,
                name=cat["name"],
                description=cat.get("description"),
                groups=tuple(groups[slug]),
            )
            for slug, cat in categories.items()
        ),
    )
    return directory, problems


def _check_site(
    raw: bytes | Problem | None, problems: list[Problem]
) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """site.yaml: the directory's title and language, and its categories in order."""
    if raw is None:
        problems.append(
            Problem(
                SITE_FILE,
                None,
                None,
                None,
                "site.yaml is missing: it names the directory and its categories.",
                "Create it; see the README.",
            )
        )
        return None, {}
    if isinstance(raw, Problem):  # not read (files.read_folder says why)
        problems.append(raw)
        return None, {}
    try:
        return _check_site_file(raw, problems)
    except Exception as exc:  # noqa: BLE001 - as in check_files: a problem, not a crash
        problems.append(_checker_fault(SITE_FILE, exc))
        return None, {}


def _check_site_file(
    raw: bytes, problems: list[Problem]
) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    data, found = parse(raw, SITE_FILE)
    problems += found
    if data is None:
        return None, {}
    checker = _Checker(data, problems)
    site_raw = checker.check(data.value, SITE, ())
    categories: dict[str, dict[str, Any]] = {}
    if site_raw and not any(step[0] == "categories" for step in checker.bad):
        for i, cat in enumerate(site_raw.get("categories", [])):
            if cat["slug"] in categories:
                problems.append(
                    Problem(
                        SITE_FILE,
                        data.line(("categories", i, "slug")),
                        None,
                        "slug",
                        f"The category {quote(cat['slug'])} is listed twice.",
                        "Keep one.",
                    )
                )
            categories[cat["slug"]] = cat
    return site_raw, categories
