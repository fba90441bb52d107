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


# Real-browser tests ----------------------------------------------------------------------
# pytest-playwright provides `playwright`, `browser` (both session-scoped: one Chromium for
# the whole run, closed at its end), and `new_context`, `context` and `page` (per test, closed
# after it). These fixtures point it at Debian's chromium and add what the browser tests share.


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list) -> None:
    """Browser tests run last, in their own order. Playwright's sync API, once started, leaves
    the main thread's asyncio loop marked as running until its session fixture stops it at
    the end of the run, so a later test calling asyncio.run() there would fail."""
    items[:] = sorted(items, key=lambda item: "playwright" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's launch arguments, with Debian's chromium and no outside look-ups."""
    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"The browser tests need Debian's chromium at {CHROMIUM}: run `make test` as root, "
            "or apt-get install chromium",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def axe_context(new_context):  # noqa: ANN001, ANN201
    """Factory: a browser context (closed after the test) that bypasses the pages' CSP, so
    axe-core can be injected (tests.browser.axe_problems). Keyword arguments go to
    ``browser.new_context``: ``viewport``, ``color_scheme``, ``reduced_motion``..."""

    def make(**kwargs: object):  # noqa: ANN202
        return new_context(bypass_csp=True, **kwargs)

    return make


@pytest.fixture(scope="module")
def _a11y_context(browser):  # noqa: ANN001, ANN202
    """One CSP-bypassing context for a module's tests, closed after them: a new page costs a
    new renderer process, so the tests of a module share one (a11y_page)."""
    context = browser.new_context(bypass_csp=True)
    yield context
    context.close()


@pytest.fixture
def a11y_page(_a11y_context):  # noqa: ANN001, ANN201
    """A page that bypasses CSP (for axe), shared by the tests of a module and reset for each:
    about:blank, 1280x800, light, no reduced motion. Set what the test needs with
    ``set_viewport_size`` and ``emulate_media``; for options only a new context takes, use
    ``axe_context``."""
    pages = _a11y_context.pages
    page = pages[0] if pages else _a11y_context.new_page()
    page.goto("about:blank")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.emulate_media(color_scheme="light", reduced_motion="no-preference")
    return page


@pytest.fixture
def meetings_dir(tmp_path: Path) -> Path:
    """A copy of examples/meetings, the fictional directory whose groups have meetings."""
    folder = tmp_path / "meetings"
    shutil.copytree(ROOT / "examples" / "meetings", folder)
    return folder


@pytest.fixture
def meetings_server(make_app, serve, meetings_dir: Path) -> Server:
    """examples/meetings served over HTTP, on the test's clock."""
    return serve(make_app(data=str(meetings_dir)))


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The git-ignored folder for screenshots a reviewer can look at."""
    from tests.browser import SCREENSHOTS

    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
