"""The built-in WebSub hub's HTTP side, at /hub (W3C WebSub §5.1).

``GET /hub`` is a published page (templates/hub.html). ``POST /hub`` takes a subscribe or
unsubscribe request: 202 Accepted when it can be acted on, then the worker verifies the
intent with the subscriber (§5.3) before anything changes; a 4xx with a plain reason naming
the parameter otherwise. Nothing here calls out to the network.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, request

from publisher.hub.params import HubRequestError, Leases, parse
from publisher.publish import Publisher
from publisher.store import subscriptions
from publisher.store.db import connect

bp = Blueprint("hub", __name__)

#: Larger requests are refused before they are read (a subscription request is small).
MAX_REQUEST_BYTES = 8192


def _busy() -> Response:
    answer = _reject(503, "The hub is busy; send the request again in a minute.")
    answer.headers["Retry-After"] = "60"
    return answer


def _reject(status: int, reason: str) -> Response:
    return Response(reason + "\n", status=status, content_type="text/plain; charset=utf-8")


@bp.post("/hub")
def hub_request() -> Response:
    """Accept a subscribe or unsubscribe request for verification.

    :raise 400: a parameter is missing or malformed (the reason names it).
    :raise 404: hub.topic is not a feed or calendar of this service.
    :raise 413: the request is larger than a subscription request can be.
    :raise 429: too many requests from this callback's host await verification.
    """
    publisher: Publisher = current_app.extensions["publisher"]
    settings = publisher.settings
    if not settings.hub:
        return _reject(404, "This service runs no hub of its own.")
    if request.mimetype != "application/x-www-form-urlencoded":
        return _reject(415, "Send the request as application/x-www-form-urlencoded.")
    # Read the body ourselves, at most one byte past the limit: a chunked request has no
    # Content-Length, and a form parser given a limit cuts the body short without a word.
    raw = request.stream.read(MAX_REQUEST_BYTES + 1)
    if len(raw) > MAX_REQUEST_BYTES:
        return _reject(413, "The request is too large for a subscription request.")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return _reject(400, "The form could not be read: send it as UTF-8, at most 50 fields.")
    form = dict(pairs)
    leases = Leases(settings.hub_lease, settings.hub_lease_min, settings.hub_lease_max)
    try:
        wanted = parse(
            form, settings.base, publisher.topics, leases, settings.hub_allow_private_callbacks
        )
    except HubRequestError as exc:
        return _reject(exc.status, exc.reason)
    try:
        conn = connect(settings.database)
    except sqlite3.OperationalError:  # the database is busy for longer than its timeout
        return _busy()
    try:
        subscriptions.add_intent(
            conn,
            wanted.mode,
            wanted.callback,
            wanted.topic,
            wanted.secret,
            wanted.lease_seconds,
            publisher.clock(),
            settings.hub_max_pending_per_host,
        )
    except subscriptions.TooManyPending:
        return _reject(429, "Too many requests from this callback's host await verification.")
    except sqlite3.OperationalError:
        return _busy()
    finally:
        conn.close()
    publisher.wake.set()
    return _reject(202, "Accepted: the hub will now check with hub.callback.")
