"""The build: every document the sitemap declares, rendered once per data change.

Each document's key is derived from what it is made of (``sitemap.context.derived_key``),
or hand-made where the sitemap says so; a document whose key has not changed since the
previous build is reused as it is, so a one-field edit re-renders only the documents that
show that group (its page and calendar, its category's and the all-groups documents, the
changes feed). Computes each ETag and Last-Modified. Nothing here runs per request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

from publisher import calendars, sitemap
from publisher.helpers import Helpers, Spread
from publisher.model.directory import Directory
from publisher.model.history import History
from publisher.model.publication import Publication
from publisher.render import html
from publisher.render.common import Portable, Site
from publisher.sitemap.context import Document, Load, Memo, derived_key

__all__ = ["Memo", "build", "etag_of", "prepare_helper", "render_portables"]

#: Portable renders (a page and a calendar per group), at least, before a load shares them
#: with helper processes, and how many go to a helper at a time (about 100 KB pickled,
#: 0.3 MB of pages and calendars).
SPREAD_RENDERS = 2_000
SPREAD_CHUNK = 100


def render_portables(renders: list[Portable]) -> list[tuple[bytes, str]]:
    """Module-level, so a helper process can run it: each render's bytes and ETag, in
    order (hashing 50 MB of pages there spares the loading process a tenth of a second)."""
    return [(body, etag_of(body)) for body in (render() for render in renders)]


def prepare_helper(_: list[object]) -> list[object]:
    """Run by a helper while it would otherwise wait (``Helpers.warm``): importing this
    module imports every renderer, and the templates are compiled now rather than on the
    helper's first chunk."""
    env = html.environment()
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    return []


def etag_of(body: bytes) -> str:
    """Strong ETag (RFC 9110 §8.8.3): a hash of the exact bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _hashed(body: bytes) -> tuple[bytes, str]:
    return body, etag_of(body)


def build(
    directory: Directory,
    history: History,
    site: Site,
    previous: Mapping[str, Publication],
    now: datetime,
    memo: Memo,
    cal: calendars.Calendars,
    spread: Spread | None = None,
    alongside: Callable[[], None] | None = None,
    keep: Callable[[list[Publication]], None] | None = None,
) -> tuple[dict[str, Publication], int]:
    """Render what changed; reuse the rest. Returns the publications and how many were
    rendered.

    ``spread`` may render many Portable renders on helper processes. The caller's own work
    goes on meanwhile: ``alongside`` runs once this process has rendered the documents that
    stay here, and ``keep`` gets each batch of new publications as it is made (to store it),
    always on this thread.

    Last-Modified is the newest change of the document's inputs. Should the bytes change with
    no such change (a setting or the code changed), it becomes ``now``, so a client's
    If-Modified-Since can never hide new bytes.
    """
    out: dict[str, Publication | None] = {}
    local: list[tuple[Document, str, Publication | None]] = []
    portable: list[tuple[Document, str, Publication | None]] = []

    def changed() -> Iterator[Portable]:
        """The renders helpers may run, as the documents are listed (so that helpers start
        on the first while the rest are listed); the other changed ones go to ``local``."""
        for doc in sitemap.documents(Load(directory, history, site, memo, cal)):
            key = doc.key or derived_key(doc)
            old = previous.get(doc.path)
            if old is not None and old.key == key:
                out[doc.path] = old
                continue
            out[doc.path] = None  # rendered below, in this place of the order
            if doc.portable:
                portable.append((doc, key, old))
                yield Portable(doc.render, *doc.arguments())
            else:
                local.append((doc, key, old))

    def publish(
        doc: Document, key: str, old: Publication | None, body: bytes, etag: str
    ) -> Publication:
        modified = doc.changed.replace(microsecond=0)  # HTTP dates have whole seconds
        if old is not None and old.etag == etag:
            modified = old.last_modified
        elif old is not None and old.last_modified >= modified:
            modified = now.replace(microsecond=0)
        made = out[doc.path] = Publication(
            doc.path,
            doc.kind,
            doc.status,
            doc.content_type,
            body,
            etag,
            modified,
            key,
            doc.location,
        )
        return made

    def render_local() -> None:
        batch = [
            publish(doc, key, old, *_hashed(doc.render(*doc.arguments())))
            for doc, key, old in local
        ]
        if keep is not None:
            keep(batch)
        if alongside is not None:
            alongside()

    each = spread or Helpers(0).each
    for start, made in each(
        render_portables, changed(), SPREAD_CHUNK, render_local, SPREAD_RENDERS
    ):
        done = portable[start : start + len(made)]
        batch = [publish(d, key, old, *m) for (d, key, old), m in zip(done, made, strict=True)]
        if keep is not None:
            keep(batch)
    missing = [path for path, p in out.items() if p is None]
    if missing:  # never publish without them: the load fails and the last one stays
        raise RuntimeError(f"{len(missing)} documents were not rendered, {missing[0]} first")
    rendered = len(local) + len(portable)
    return dict(out), rendered  # type: ignore[arg-type]
