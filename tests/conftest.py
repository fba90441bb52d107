"""Fixtures: a temporary data folder, an app on a real SQLite file, a real HTTP server.

The server is werkzeug's threaded server on 127.0.0.1, port 0, in a thread the fixture stops;
tests speak HTTP to it with requests. Time comes from a ``Clock`` the test moves by hand.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from publisher.app import close_app, create_app

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


class Clock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = datetime(2026, 1, 13, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object) -> None:  # werkzeug would log client IPs
        pass


@dataclass
class Server:
    url: str
    app: object

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(self.url + path, timeout=10, allow_redirects=False, **kwargs)

    def head(self, path: str, **kwargs: object) -> requests.Response:
        return requests.head(self.url + path, timeout=10, **kwargs)

    def session_options(self, path: str, **kwargs: object) -> requests.Response:
        return requests.options(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return requests.post(self.url + path, timeout=10, **kwargs)

    @property
    def publisher(self):  # noqa: ANN201
        return self.app.extensions["publisher"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A copy of the bundled directory that the test may edit."""
    folder = tmp_path / "data"
    shutil.copytree(DATA, folder)
    return folder


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "instance" / "publisher.sqlite3"


@pytest.fixture
def make_app(data_dir: Path, database: Path, clock: Clock) -> Iterator:
    """Factory: create_app on the temporary data and database; every app made is closed."""
    apps = []

    def make(**config: object):  # noqa: ANN202
        settings = {
            "data": str(data_dir),
            "database": str(database),
            "watch": False,
            "access_log": False,
            **config,
        }
        app = create_app(settings, clock=clock)
        apps.append(app)
        # The first load runs in the background; tests start once it has ended.
        assert app.extensions["publisher.ready"].wait(timeout=60)
        return app

    yield make
    for app in apps:
        close_app(app)


@pytest.fixture
def serve() -> Iterator:
    """Factory: serve an app over real HTTP on 127.0.0.1, port 0; stopped after the test."""
    servers = []

    def start(app) -> Server:  # noqa: ANN001
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
        return Server(f"http://127.0.0.1:{server.server_port}", app)

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def server(make_app, serve) -> Server:
    """The bundled directory served over HTTP."""
    return serve(make_app())


#: The hub tests' settings: the worker runs in the app on the test's clock, coalescing is
#: off and retries wait on that clock, which tests move instead of sleeping.
HUB_SETTINGS = {
    "hub_allow_private_callbacks": True,
    "hub_coalesce": 0,
    "hub_backoff": 60.0,
    "hub_backoff_max": 60.0,
    "hub_lease_min": 60,
    "worker_poll": 0.02,
}


@pytest.fixture
def subscriber() -> Iterator:
    """A real WebSub subscriber on 127.0.0.1 (tests/subscriber.py), stopped after the test."""
    from tests.subscriber import Subscriber

    found = Subscriber().start()
    yield found
    found.stop()


@pytest.fixture
def hub(make_app, serve) -> Server:
    """The bundled directory served with its hub and worker on the test's clock."""
    return serve(make_app(**HUB_SETTINGS))
