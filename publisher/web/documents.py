"""Blueprint serving every publication by its path: feeds, pages, redirects, 410s, assets."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, request

from publisher.config import Settings
from publisher.current import CurrentPublication
from publisher.model.publication import Publication
from publisher.urls import NOT_FOUND
from publisher.web.conditional import Prepared, prepare

bp = Blueprint("documents", __name__)

UNAVAILABLE = (
    "The directory has not been published yet: its data is being loaded or could not be "
    "loaded. Try again in a moment; if this stays, run 'publisher check' to see what to fix.\n"
)


class Served:
    """Prepared answers for the publication being served, made on first use of each path
    and dropped together when a new publication comes in."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # One tuple, swapped in one assignment: a thread still holding the previous
        # publication can never store its answers in the cache of the new one.
        self._state: tuple[dict[str, Publication], dict[str, Prepared]] = ({}, {})

    def get(self, current: CurrentPublication, path: str) -> Prepared | None:
        pubs = current.documents
        source, prepared_by_path = self._state
        if source is not pubs:
            prepared_by_path = {}
            self._state = (pubs, prepared_by_path)
        prepared = prepared_by_path.get(path)
        if prepared is None:
            pub = pubs.get(path)
            if pub is None:
                return None
            settings = self.settings
            max_age = settings.feed_max_age if pub.is_feed else settings.page_max_age
            prepared = prepared_by_path[path] = prepare(
                pub, max_age, settings.hub_urls, settings.base
            )
        return prepared


@bp.route("/", defaults={"path": ""}, methods=["GET", "HEAD"])
@bp.route("/<path:path>", methods=["GET", "HEAD"])
def document(path: str) -> Response:
    """Answer a path that has no publication (hits are served by ``serving``): a redirect
    to the same path with a trailing slash when that exists, else the 404 page.

    :raise 503: nothing has been published yet (first load running, or invalid data).
    """
    current: CurrentPublication = current_app.extensions["publisher.current"]
    served: Served = current_app.extensions["publisher.served"]
    documents = current.documents
    if not documents:
        return _unavailable()
    if f"/{path}/" in documents:
        query = request.query_string.decode("latin-1")
        return redirect(f"/{path}/" + (f"?{query}" if query else ""), code=308)
    return _not_found(current, served)


@bp.app_errorhandler(404)
def unmatched(_: Exception) -> Response:
    """A path no route matches (Flask's path converter takes no line break, so /a%0Ab is
    one): the site's own 404 page with its headers, not Werkzeug's bare one."""
    current: CurrentPublication = current_app.extensions["publisher.current"]
    if not current.documents:
        return _unavailable()
    return _not_found(current, current_app.extensions["publisher.served"])


def _unavailable() -> Response:
    return Response(
        UNAVAILABLE,
        status=503,
        headers={"Retry-After": "5"},
        content_type="text/plain; charset=utf-8",
    )


def _not_found(current: CurrentPublication, served: Served) -> Response:
    prepared = served.get(current, NOT_FOUND())
    assert prepared is not None
    return Response(prepared.publication.body, status=404, headers=prepared.headers)
