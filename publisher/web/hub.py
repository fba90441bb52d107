"""The built-in WebSub hub's HTTP side, at /hub (W3C WebSub §5.1).

``GET /hub`` is a published page (publisher/templates/hub.html). ``POST /hub`` takes a subscribe or
unsubscribe request: 202 Accepted when it can be acted on, then the worker verifies the
intent with the subscriber (§5.3) before anything changes; a 4xx with a plain reason naming
the parameter otherwise. Nothing here calls out to the network.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, request

from publisher.config import Settings
from publisher.current import CurrentPublication
from publisher.hub.params import HubRequestError, Leases, parse
from publisher.hub.pending import Pending, client_of
from publisher.store import subscriptions
from publisher.store.db import Pool
from publisher.urls import HUB

bp = Blueprint("hub", __name__)

#: Larger requests are refused before they are read (a subscription request is small).
MAX_REQUEST_BYTES = 8192


def _busy() -> Response:
    answer = _reject(503, "The hub is busy; send the request again in a minute.")
    answer.headers["Retry-After"] = "60"
    return answer


def _reject(status: int, reason: str) -> Response:
    return Response(reason + "\n", status=status, content_type="text/plain; charset=utf-8")


def _pending(settings: Settings) -> Pending:
    """This app's record of whose requests wait for verification (memory only)."""
    found = current_app.extensions.get("publisher.hub.pending")
    if found is None:
        new = Pending(settings.hub_max_pending_per_client, settings.hub_max_pending)
        found = current_app.extensions.setdefault("publisher.hub.pending", new)
    return found


@bp.post(HUB())
def hub_request() -> Response:
    """Accept a subscribe or unsubscribe request for verification.

    :raise 400: a parameter is missing or malformed (the reason names it).
    :raise 404: hub.topic is not a feed or calendar of this service.
    :raise 413: the request is larger than a subscription request can be.
    :raise 429: too many requests await verification: this client's, for this callback's
        address, or everyone's (see publisher.hub.pending).
    """
    current: CurrentPublication = current_app.extensions["publisher.current"]
    settings: Settings = current_app.extensions["publisher.settings"]
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
            form, settings.base, current.topics, leases, settings.hub_allow_private_callbacks
        )
    except HubRequestError as exc:
        return _reject(exc.status, exc.reason)
    client = client_of(request.remote_addr)
    pending = _pending(settings)
    connections: Pool = current_app.extensions["publisher.connections"]
    try:
        with connections.borrow() as conn, pending.lock:
            alive = partial(subscriptions.still_pending, conn)
            if not pending.has_room(client, alive):
                return _reject(
                    429,
                    "Too many of your requests await verification: send this one again once "
                    "the hub has checked them.",
                )
            added = subscriptions.add_intent(
                conn,
                wanted.mode,
                wanted.callback,
                wanted.topic,
                wanted.secret,
                wanted.lease_seconds,
                current_app.extensions["publisher.clock"](),
                host=wanted.host,
                max_per_host=settings.hub_max_pending_per_host,
                max_pending=settings.hub_max_pending,
                make_room=partial(pending.room_for, client, alive),
            )
            pending.add(client, added.id, wanted.callback, added.dropped, alive)
    except subscriptions.TooManyPending as exc:
        if exc.everyone:
            return _reject(
                429,
                "The hub has too many requests from all clients awaiting verification: "
                "send the request again in a minute.",
            )
        return _reject(429, "Too many requests for this callback's address await verification.")
    except sqlite3.OperationalError:  # the database is busy for longer than its timeout
        return _busy()
    current.wake.set()
    return _reject(202, "Accepted: the hub will now check with hub.callback.")
