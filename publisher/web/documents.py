"""Blueprint serving every publication by its path: feeds, pages, redirects, 410s, assets."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, request

from publisher.publication import NOT_FOUND
from publisher.publish import Publisher
from publisher.web.conditional import respond

bp = Blueprint("documents", __name__)

UNAVAILABLE = (
    "The directory has not been published yet: its data could not be loaded. "
    "Run 'publisher check' to see what to fix.\n"
)


def _publisher() -> Publisher:
    return current_app.extensions["publisher"]


@bp.route("/", defaults={"path": ""}, methods=["GET", "HEAD"])
@bp.route("/<path:path>", methods=["GET", "HEAD"])
def document(path: str) -> Response:
    """Serve the publication at ``/path``; 404 page when there is none.

    :raise 503: nothing has ever been published (first start with invalid data).
    """
    publisher = _publisher()
    publisher.refresh()
    pubs = publisher.current
    pub = pubs.get("/" + path)
    if pub is None:
        if not pubs:
            return Response(UNAVAILABLE, status=503, content_type="text/plain; charset=utf-8")
        if pubs.get(f"/{path}/") is not None:
            return redirect(f"/{path}/", code=308)
        pub = pubs[NOT_FOUND]
    settings = publisher.settings
    max_age = settings.feed_max_age if pub.is_feed else settings.page_max_age
    return respond(
        pub, max_age, request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")
    )
