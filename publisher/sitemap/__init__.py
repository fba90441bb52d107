"""The site map: every document the service publishes, declared by its format's module.

Each module here lists its documents for one load (``documents(load)``): the address from
``publisher.urls``, the kind, the content type, and a pure render function with its
arguments (``context.Document``). The build (``publisher.publication``) derives each key,
renders what changed and reuses the rest. A new output format is one new module here and
one line in ``FORMATS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from publisher.sitemap import assets, calendars, embeds, feeds, notices, outline, pages
from publisher.sitemap.context import Document, Load

#: Every format's documents, in the order a load lists them.
FORMATS: tuple[Callable[[Load], Iterator[Document]], ...] = (
    feeds.documents,
    outline.documents,
    pages.documents,
    calendars.documents,
    embeds.documents,
    notices.documents,
    assets.documents,
)


def documents(load: Load) -> Iterator[Document]:
    """Every document of a load, in a fixed order."""
    for declared in FORMATS:
        yield from declared(load)
