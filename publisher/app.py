"""create_app(config=None): settings, the load, the watcher and the blueprints.

The app holds the load pipeline (``publish.Publisher``) and gives ``web/`` only what it
reads: the current publication, the settings, the clock, a pool of connections and a
function that reloads (``app.extensions``, keys ``publisher.*``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from publisher.config import Settings, load_settings
from publisher.hub import worker
from publisher.model.errors import PublisherError
from publisher.publish import Clock, Publisher, utc_now
from publisher.store.db import Pool
from publisher.watch import Watcher
from publisher.web import access, admin, documents, health, hub, serving

log = logging.getLogger("publisher")

#: Seconds before a failed re-render of the next meetings is tried again, doubling up to
#: the last.
FIRST_RETRY = 10.0
LAST_RETRY = 3600.0


def _load(publisher: Publisher) -> None:
    """Load the data; a refusal is logged with the checker's message and changes nothing."""
    try:
        publisher.reload()
    except PublisherError as exc:
        log.error("The data was not loaded; still serving the last good publication.\n%s", exc)


def create_app(config: Settings | Mapping[str, Any] | None = None, clock: Clock = utc_now) -> Flask:
    """Build the app. ``config`` is the settings resolved, or overrides of the
    ``PUBLISHER_*`` variables (keys as in publisher.config.SETTINGS); ``clock`` gives the
    time changes are recorded at (tests pass their own).

    The data is (re)loaded at start in the background, so the server answers at once: the
    stored publication meanwhile, or a 503 with Retry-After on the very first start.
    ``app.extensions["publisher.ready"]`` is set when that first load has ended.
    """
    settings = config if isinstance(config, Settings) else load_settings(config)
    app = Flask(__name__, static_folder=None)
    publisher = Publisher(settings, clock)  # migrates the database: once, here
    current = publisher.current
    app.extensions["publisher"] = publisher  # the load; web/ never reads it
    app.extensions["publisher.current"] = current
    app.extensions["publisher.settings"] = settings
    app.extensions["publisher.clock"] = clock
    app.extensions["publisher.reload"] = publisher.reload
    app.extensions["publisher.served"] = documents.Served(settings)
    #: Connections for requests (POST /hub), opened as needed and kept for the next request.
    app.extensions["publisher.connections"] = Pool(settings.database)
    ready = app.extensions["publisher.ready"] = threading.Event()

    def first_load() -> None:
        try:
            _load(publisher)
        finally:
            ready.set()

    threading.Thread(target=first_load, name="publisher-load", daemon=True).start()
    stop = app.extensions["publisher.stop"] = threading.Event()
    threading.Thread(
        target=_follow_the_clock,
        args=(publisher, stop, settings.watch_interval),
        name="publisher-clock",
        daemon=True,
    ).start()
    if settings.watch:
        watcher = Watcher(
            publisher.data, lambda: _load(publisher), settings.watch_interval, settings.watch_settle
        )
        watcher.start()
        app.extensions["publisher.watcher"] = watcher
    if settings.worker:
        stop_worker, thread = worker.start(settings, clock, current.wake)
        app.extensions["publisher.worker"] = (stop_worker, thread)
    if settings.access_log:
        _log_requests(app)
    if settings.proxies:
        # REMOTE_ADDR from X-Forwarded-For, as the proxies wrote it; nothing else (links
        # come from BASE_URL, never from the request).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxies, x_proto=0, x_host=0)  # type: ignore[method-assign]
    app.wsgi_app = serving.PublicationServer(  # type: ignore[method-assign]
        app.wsgi_app, current, app.extensions["publisher.served"], settings.access_log
    )
    app.register_blueprint(health.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(hub.bp)
    app.register_blueprint(documents.bp)
    return app


def _follow_the_clock(publisher: Publisher, stop: threading.Event, interval: float) -> None:
    """Pick up a publication another process wrote (``publisher reload``; at most once per
    REFRESH_INTERVAL, here rather than in a request, which then never waits for the
    database), and render again when a listed meeting ends (calendars.upcoming gives the
    moment), so the next meetings move on with no request and no data change.

    A re-render that fails (the data has meanwhile been broken) is tried again after a wait
    that doubles up to an hour, and its message is logged once per try, not four times a
    second."""
    retry_at = 0.0
    wait = FIRST_RETRY
    while not stop.wait(interval):
        try:
            publisher.current.refresh()
            if time.monotonic() < retry_at:
                continue
            publisher.reload_if_due()
            wait = FIRST_RETRY
        except PublisherError as exc:
            log.error("The data was not loaded; still serving the last good publication.\n%s", exc)
            retry_at, wait = time.monotonic() + wait, min(wait * 2, LAST_RETRY)
        except Exception:  # logged; the last good publication stays served
            log.exception("Rendering the next meetings again failed")
            retry_at, wait = time.monotonic() + wait, min(wait * 2, LAST_RETRY)


def close_app(app: Flask) -> None:
    """Stop the watcher and close the database (tests and graceful shutdown)."""
    app.extensions["publisher.ready"].wait()
    app.extensions["publisher.stop"].set()
    running = app.extensions.pop("publisher.worker", None)
    if running is not None:
        running[0].set()
        app.extensions["publisher.current"].wake.set()  # end its idle wait now
        running[1].join(timeout=10)
    watcher = app.extensions.pop("publisher.watcher", None)
    if watcher is not None:
        watcher.stop()
    app.extensions["publisher.connections"].close()
    app.extensions["publisher"].close()


def _log_requests(app: Flask) -> None:
    """One line per request, without IP address or Referer (privacy by default)."""

    @app.before_request
    def start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def done(response: Response) -> Response:
        took = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        access.write(
            request.method, request.path, response.status_code, response.content_length or 0, took
        )
        return response
