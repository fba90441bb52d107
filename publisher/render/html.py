"""HTML pages from the Jinja templates in templates/: pure, like every renderer here.

Autoescaping is on for every template, so text from the data is always escaped.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from publisher.directory.model import FLAGS
from publisher.render.common import FORMAT_NAMES, FORMATS

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"

READERS = ("NetNewsWire", "Feedly", "Inoreader", "Thunderbird", "Miniflux")


def human_date(moment: datetime) -> str:
    """'25 November 2026': the way people read a date, in UTC."""
    return f"{moment.day} {moment:%B %Y}"


@cache
def environment(folder: str = str(TEMPLATES)) -> Environment:
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["human_date"] = human_date
    env.globals.update(FLAGS=FLAGS, FORMATS=FORMATS, FORMAT_NAMES=FORMAT_NAMES, READERS=READERS)
    return env


def page(template: str, **context: Any) -> bytes:
    """Render one page template to UTF-8 bytes."""
    return environment().get_template(template).render(**context).encode()
