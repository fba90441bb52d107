"""The hot path: GET and HEAD of a published document, answered in front of Flask's routing.

Every document is already rendered, with its headers prepared (``conditional.prepare``), so
a hit needs no request object, routing or header validation: it is a dictionary look-up and
an ETag comparison. That keeps serving close to a static file server. Everything else (the
admin and health endpoints, 404 pages, redirects to a trailing slash) falls through to the
Flask app.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from publisher.current import CurrentPublication
from publisher.web import access
from publisher.web.conditional import not_modified
from publisher.web.documents import Served

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
STATUS = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}
PREFLIGHT = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, HEAD"),
    ("Access-Control-Allow-Headers", "If-None-Match, If-Modified-Since"),
    ("Access-Control-Max-Age", "86400"),
]


Answer = tuple[int, list[tuple[str, str]], bytes]


def answer(
    current: CurrentPublication,
    served: Served,
    method: str,
    path: str,
    if_none_match: str | None,
    if_modified_since: str | None,
    log: bool,
) -> Answer | None:
    """Status, headers and body for a GET or HEAD of a published path (a 304 when the
    client's copy is current, RFC 9110 §13.1), or None when nothing is published there.

    Shared by the WSGI middleware below and the server's front (``front.py``), which calls
    it on its event loop: it is a look-up and never touches the database (a publication
    written by another process is picked up by the app's clock thread, ``app.py``)."""
    started = time.perf_counter()
    prepared = served.get(current, path)
    if prepared is None:
        return None
    pub = prepared.publication
    if not_modified(pub, if_none_match, if_modified_since):
        status, headers, body = 304, prepared.not_modified_headers, b""
    else:
        status, headers = pub.status, prepared.headers
        body = pub.body if method == "GET" else b""
    if log:
        access.write(method, path, status, len(body), (time.perf_counter() - started) * 1000)
    return status, headers, body


class PublicationServer:
    """WSGI middleware wrapping ``app.wsgi_app``."""

    def __init__(
        self, app: WSGIApp, current: CurrentPublication, served: Served, log: bool
    ) -> None:
        self.app = app
        self.current = current
        self.served = served
        self.log = log

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method != "GET" and method != "HEAD":
            if method == "OPTIONS":
                return self._preflight(environ, start_response)
            return self.app(environ, start_response)
        found = answer(
            self.current,
            self.served,
            method,
            environ.get("PATH_INFO") or "/",
            environ.get("HTTP_IF_NONE_MATCH"),
            environ.get("HTTP_IF_MODIFIED_SINCE"),
            self.log,
        )
        if found is None:
            return self.app(environ, start_response)
        status, headers, body = found
        start_response(STATUS[status], headers)
        return [body]

    def _preflight(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """CORS preflight for a feed, so a page elsewhere may send conditional headers."""
        pub = self.current.documents.get(environ.get("PATH_INFO") or "/")
        if pub is None or not pub.is_feed:
            return self.app(environ, start_response)
        start_response("204 No Content", PREFLIGHT)
        return [b""]
