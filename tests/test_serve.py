"""`publisher serve`: the production server (granian) serves the bundled directory."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from publisher.cli import main
from publisher.web import access
from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.Popen:
    """`publisher serve ARGS` in its own process group (stop it with ``stop``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "publisher.cli", "serve", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@contextmanager
def serving(tmp_path: Path, port: int | None = None, **settings: str) -> Iterator[tuple]:
    """`publisher serve` on a free port with these PUBLISHER_* settings (names in lower
    case) and a database in ``tmp_path``; the URL and process, stopped by pid after."""
    port = port or free_port()
    env = {
        **os.environ,
        "PUBLISHER_DATABASE": str(tmp_path / "db.sqlite3"),
        "PUBLISHER_WATCH": "0",
        **{f"PUBLISHER_{name.upper()}": value for name, value in settings.items()},
    }
    process = launch(["--port", str(port)], env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        yield url, process
    finally:
        stop(process)


def wait_ready(url: str, process: subprocess.Popen, limit: float = 20) -> None:
    """Wait until the server at ``url`` has something to serve; fail if it ends or waits."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"publisher serve ended: {process.stdout.read().decode()}")
        try:
            if requests.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.1)
    pytest.fail(f"publisher serve did not answer within {limit:.0f} s")


@pytest.fixture
def served(tmp_path):
    """`publisher serve` in its own process group, stopped (by pid) after the test."""
    with serving(tmp_path) as running:
        yield running


def stop(process: subprocess.Popen) -> str:
    """SIGTERM the server's process group (granian and its worker); SIGKILL if it hangs."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        output = process.communicate(timeout=15)[0]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output = process.communicate()[0]
    return output.decode()


def test_serve_runs_under_granian_and_logs_no_ip_address(served):
    url, process = served
    home = requests.get(url + "/", timeout=5)
    assert home.status_code == 200
    assert home.headers["Server"] == "granian"
    assert home.text.count("<h3>") == 13
    feed = requests.get(
        url + "/feeds/all.atom",
        timeout=5,
        headers={"Referer": "https://private.example/secret-page"},
    )
    assert feed.status_code == 200
    # With --port and no PUBLISHER_BASE_URL, links lead back to this server.
    assert f'href="{url}/feeds/all.atom" rel="self"' in feed.text
    output = stop(process)
    assert "GET /feeds/all.atom 200" in output
    assert "127.0.0.1" not in output.replace(f"Listening at: {url}", "")
    assert "private.example" not in output


def test_serve_refuses_a_port_already_in_use(served, tmp_path):
    """granian shares a port (SO_REUSEPORT): a second server would answer half the requests
    from another database. It must refuse to start instead."""
    url, _ = served
    port = url.rsplit(":", 1)[1]
    env = {**os.environ, "PUBLISHER_DATABASE": str(tmp_path / "other.sqlite3")}
    result = subprocess.run(
        [sys.executable, "-m", "publisher.cli", "serve", "--port", port],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr


def test_a_request_cannot_add_a_line_of_its_own_to_the_access_log(capfd):
    """The access log is written straight to standard error, one line per request."""
    access.write("GET", "/groups/x\nINFO publisher.access: GET /forged 200", 404, 0, 0.12)
    err = capfd.readouterr().err
    assert err.count("\n") == 1
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO publisher\.access: "
        r"GET /groups/x\\nINFO publisher\.access: GET /forged 200 404 0 0\.1ms\n",
        err,
    )


def test_the_access_log_never_fails_a_request(monkeypatch):
    """No standard error at all (a daemon started without one): the line is lost, quietly."""
    monkeypatch.setattr(sys, "stderr", None)
    access.write("GET", "/", 200, 10, 0.1)


def test_serve_help_speaks_to_the_user_not_of_the_implementation():
    """`serve --help` began "Serve under granian, the production WSGI server"."""
    result = subprocess.run(
        [sys.executable, "-m", "publisher.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    description = result.stdout.split("\n\n")[1]
    assert "granian" not in description and "WSGI" not in description
    assert "pages, feeds and calendars" in description


def test_serve_leaves_its_own_environment_alone(tmp_path, monkeypatch, capsys):
    """`publisher serve` wrote PUBLISHER_DATA, _DATABASE, _HOST, _PORT and _BASE_URL into
    its own environment, for granian's worker to read them back: the settings now reach the
    worker whole, as the loader's argument. Stopped early here, by a data folder that does
    not exist, after the settings are resolved."""
    for name in [name for name in os.environ if name.startswith("PUBLISHER_")]:
        monkeypatch.delenv(name)
    before = dict(os.environ)
    missing = tmp_path / "missing"
    try:
        code = main(["serve", "--data", str(missing), "--host", "127.0.0.2", "--port", "8123"])
    finally:
        added = {name: os.environ.pop(name) for name in set(os.environ) - set(before)}
    assert code == 1
    assert f"The data folder {str(missing)!r} does not exist." in capsys.readouterr().err
    assert added == {}
    assert dict(os.environ) == before
