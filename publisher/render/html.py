"""HTML pages from the Jinja templates in publisher/templates/: pure, like every renderer here.

Autoescaping is on for every template, so text from the data is always escaped.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from datetime import datetime
from functools import cache
from typing import Any

import jinja2
import markupsafe
from jinja2 import (
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    Template,
    select_autoescape,
)
from markupsafe import Markup, escape

from publisher.directory.schedule import Occurrence
from publisher.directory.schedule_words import date_words, day_words, describe_series
from publisher.model.directory import FLAGS, Place
from publisher.render.common import FORMAT_NAMES, FORMATS
from publisher.urls import url
from publisher.version import TEMPLATES, render_version

#: A whole address (name@domain.tld); anything less is shown as text, never linked.
EMAIL = re.compile(r"[^@\s<>\"']+@[^@\s<>\"']+\.[A-Za-z]{2,}")
READERS = ("NetNewsWire", "Feedly", "Inoreader", "Thunderbird", "Miniflux")
#: The parts of a place a group page may list, in order, with their labels.
PLACE_PARTS = tuple(
    (name, name.capitalize())
    for name in ("room", "building", "street", "locality", "region", "country")
)


def breakable(text: str) -> Markup:
    """Escape ``text`` and allow a line break after each slash, so a long name such as
    "Reading/Teaching/Learning groups" wraps at 320 px instead of breaking mid-word."""
    return Markup("/<wbr>").join(escape(part) for part in text.split("/"))


def human_date(moment: datetime) -> str:
    """'25 November 2026': the way people read a date, in UTC, in English whatever the
    process's locale."""
    return date_words(moment.date())


def place_details(place: Place) -> list[tuple[str, str, bool]]:
    """(label, value, inferred) of each part of a place a group page lists: the inferred
    ones, or all of them when there is no wording as published.

    Worked out here, not in the template: Jinja's ``attr`` filter looks each part up with
    ``inspect.getattr_static``, which cost more than a tenth of rendering a group page."""
    return [
        (label, value, name in place.inferred)
        for name, label in PLACE_PARTS
        if (value := getattr(place, name)) and (name in place.inferred or not place.as_published)
    ]


def clock(moment: datetime) -> str:
    """'6pm', '6:30pm', 'midday': times as people say them."""
    if (moment.hour, moment.minute) == (12, 0):
        return "midday"
    if (moment.hour, moment.minute) == (0, 0):
        return "midnight"
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes}{'am' if moment.hour < 12 else 'pm'}"


def zone_words(name: str) -> str:
    """'Europe/London' -> 'London time (Europe/London)'."""
    city = name.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time ({name})" if "/" in name else name


def meeting_when(meeting: Occurrence, site_zone: str) -> str:
    """'Wednesday 13 January 2027, 6pm to 8pm', in the group's time zone, which is named
    when it is not the directory's own."""
    start, end = meeting.start, meeting.end
    text = f"{day_words(start.date())}, {clock(start)} to {clock(end)}"
    name = getattr(start.tzinfo, "key", site_zone)
    if name != site_zone:
        text += f" ({zone_words(name).split(' (')[0]})"
    return text


def _escape_text(text: str) -> str:
    """markupsafe's escaping of a plain string, should its C function not be found."""
    return str(escape(text))


_escape_inner = getattr(markupsafe, "_escape_inner", _escape_text)


def output_escape(value: Any) -> Any:
    """What the compiled templates call on each ``{{ value }}``: markupsafe's ``escape``,
    except that a plain string comes back as a plain string, not a Markup. Output is only
    joined into the page, so nothing tells the two apart, and making a Markup cost more
    than the escaping itself: a sixth of rendering a group page."""
    if type(value) is str:
        return _escape_inner(value)
    return escape(value)


class _Template(Template):
    """Templates whose compiled code escapes its output with ``output_escape``."""

    @classmethod
    def _from_namespace(
        cls,
        environment: Environment,
        namespace: MutableMapping[str, Any],
        globals: MutableMapping[str, Any],
    ) -> Template:
        namespace["escape"] = output_escape  # the name the compiled code calls
        return super()._from_namespace(environment, namespace, globals)


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Compiled templates kept across restarts, as Python keeps __pycache__: compiling them
    is a twentieth of a second of every process's first load. In Jinja's own private
    directory (per user, in the system's temporary folder), one set per version of our code,
    since the compiled code also depends on the options above; none if that folder is not
    safe to use. Jinja's own version is in the names too: compiled code may change with it."""
    try:
        version = f"{render_version()[:16]}-jinja{jinja2.__version__}"
        return FileSystemBytecodeCache(pattern=f"publisher-{version}-%s.cache")
    except (RuntimeError, OSError):
        return None


@cache
def environment(folder: str = str(TEMPLATES)) -> Environment:
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates are read once per process; render_version() sees edits
        bytecode_cache=_bytecode_cache(),
    )
    env.template_class = _Template
    env.filters["human_date"] = human_date
    env.filters["breakable"] = breakable
    env.filters["day_words"] = day_words
    env.filters["meeting_when"] = meeting_when
    env.filters["zone_words"] = zone_words
    env.filters["schedule_words"] = describe_series
    env.tests["email_address"] = lambda text: bool(text and EMAIL.fullmatch(text))
    env.globals.update(
        place_details=place_details,
        FLAGS=FLAGS,
        FORMATS=FORMATS,
        FORMAT_NAMES=FORMAT_NAMES,
        READERS=READERS,
        url=url,  # every path a template links to: url("group", slug), from publisher.urls
    )
    return env


@cache
def _template(name: str) -> tuple[Template, dict[str, Any]]:
    """A template and its globals as a plain dict, made once per process."""
    template = environment().get_template(name)
    return template, dict(template.globals)


def render(name: str, context: dict[str, Any]) -> str:
    """``Template.render``, without its per-call cost: it merges the template's globals, a
    ChainMap walked key by key in Python, into each context. That was a third of rendering
    a small page. The globals are merged from a plain dict instead (a "shared" context)."""
    template, globals_ = _template(name)
    ctx = template.new_context({**globals_, **context}, shared=True)
    try:
        return template.environment.concat(template.root_render_func(ctx))  # type: ignore[attr-defined]
    except Exception:
        return template.environment.handle_exception()


def page(template: str, **context: Any) -> bytes:
    """Render one page template to UTF-8 bytes."""
    return render(template, context).encode()


def fragment(template: str, **context: Any) -> Markup:
    """A piece of a page (autoescaped like every template), to be included as it is."""
    return Markup(render(template, context))  # noqa: S704
