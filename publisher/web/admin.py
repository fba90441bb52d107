"""POST /admin/reload: reload the data on demand, authenticated with PUBLISHER_ADMIN_TOKEN.

The reload is the function the app gives (``app.extensions["publisher.reload"]``, the load's
``reload``): web/ does not import the load."""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, current_app, jsonify, request

from publisher.model.errors import DirectoryError, MassRemovalError, PublisherError
from publisher.urls import ADMIN_RELOAD

bp = Blueprint("admin", __name__)
log = logging.getLogger(__name__)


def _error(status: int, message: str, problems: list[str] | None = None) -> Response:
    response = jsonify(
        {"ok": False, "status": status, "error": message, "problems": problems or []}
    )
    response.status_code = status
    return response


@bp.post(ADMIN_RELOAD())
def reload() -> Response:
    """Reload now. Send ``Authorization: Bearer <token>``; ``confirm=removals`` to allow a load
    that removes more than half of the groups.

    :raise 404: no admin token is configured (the endpoint is off).
    :raise 401: the token is missing or wrong.
    :raise 422: the data has errors (each listed), or a group takes another's old slug; the
        old publication stays.
    :raise 409: a mass removal that was not confirmed.
    """
    token = current_app.extensions["publisher.settings"].admin_token
    if not token:
        return _error(404, "The admin endpoint is off: set PUBLISHER_ADMIN_TOKEN to use it.")
    # The scheme is case-insensitive (RFC 9110 §11.1): "bearer" is "Bearer".
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    given = given.strip() if scheme.lower() == "bearer" else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        return _error(401, "Send the admin token as 'Authorization: Bearer <token>'.")
    confirm = request.values.get("confirm") == "removals"
    try:
        result = current_app.extensions["publisher.reload"](confirm_removals=confirm)
    except DirectoryError as exc:
        log.error("Reload refused: %s", exc)
        return _error(422, str(exc).splitlines()[0], [str(p) for p in exc.problems])
    except MassRemovalError as exc:
        log.error("Reload refused: %s", exc)
        return _error(409, str(exc))
    except PublisherError as exc:  # e.g. a slug that belongs to another group
        log.error("Reload refused: %s", exc)
        return _error(422, str(exc))
    return jsonify(
        {"ok": True, "changes": result.changes, "rendered": result.rendered, "message": str(result)}
    )
