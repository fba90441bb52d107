"""/healthz (the process answers) and /readyz (a publication is there to serve)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from publisher.urls import HEALTH, READY

bp = Blueprint("health", __name__)


@bp.get(HEALTH())
def healthz() -> Response:
    return Response("ok\n", content_type="text/plain; charset=utf-8")


@bp.get(READY())
def readyz() -> Response:
    ready = bool(current_app.extensions["publisher.current"].documents)
    return Response(
        "ready\n" if ready else "no publication yet\n",
        status=200 if ready else 503,
        content_type="text/plain; charset=utf-8",
    )
