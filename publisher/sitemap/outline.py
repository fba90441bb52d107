"""The OPML list of every category's Atom feed and the changes feed."""

from __future__ import annotations

from collections.abc import Iterator

from publisher import urls
from publisher.model.publication import Kind
from publisher.render import opml
from publisher.render.common import OPML_TYPE
from publisher.sitemap.context import Document, Load


def documents(load: Load) -> Iterator[Document]:
    categories = tuple((c.slug, c.name) for c in load.directory.categories)
    yield Document(
        urls.OUTLINE(),
        Kind.OUTLINE,
        OPML_TYPE,
        opml.render,
        (categories, load.site),
        load.history.created,  # it lists categories, not groups: group edits do not touch it
    )
