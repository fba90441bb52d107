"""Blueprint serving every publication by its path: feeds, pages, redirects, 410s, assets."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, request

from publisher.model.publication import Publication
from publisher.publish import Publisher
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

    def __init__(self) -> None:
        # One tuple, swapped in one assignment: a thread still holding the previous
        # publication can never store its answers in the cache of the new one.
        self._state: tuple[dict[str, Publication], dict[str, Prepared]] = ({}, {})

    def get(self, publisher: Publisher, path: str) -> Prepared | None:
        pubs = publisher.current
        source, prepared_by_path = self._state
        if source is not pubs:
            prepared_by_path = {}
            self._state = (pubs, prepared_by_path)
        prepared = prepared_by_path.get(path)
        if prepared is None:
            pub = pubs.get(path)
            if pub is None:
                return None
            settings = publisher.settings
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
    publisher: Publisher = current_app.extensions["publisher"]
    served: Served = current_app.extensions["publisher.served"]
    if not publisher.current:
        return Response(
            UNAVAILABLE,
            status=503,
            headers={"Retry-After": "5"},
            content_type="text/plain; charset=utf-8",
        )
    if f"/{path}/" in publisher.current:
        query = request.query_string.decode("latin-1")
        return redirect(f"/{path}/" + (f"?{query}" if query else ""), code=308)
    prepared = served.get(publisher, NOT_FOUND())
    assert prepared is not None
    return Response(prepared.publication.body, status=404, headers=prepared.headers)
