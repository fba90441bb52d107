"""The stylesheets and scripts of the site's own pages (publisher/templates/static/)."""

from __future__ import annotations

from collections.abc import Iterator

from publisher import urls
from publisher.model.publication import Kind
from publisher.render import html
from publisher.sitemap.context import Document, Load

STATIC = html.TEMPLATES / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def file_bytes(data: bytes) -> bytes:
    """A file served as it is."""
    return data


def documents(load: Load) -> Iterator[Document]:
    for path in sorted(STATIC.iterdir()):
        yield Document(
            urls.STATIC(path.name),
            Kind.ASSET,
            STATIC_TYPES.get(path.suffix, "text/plain"),
            file_bytes,
            (path.read_bytes(),),
            load.history.created,
        )
