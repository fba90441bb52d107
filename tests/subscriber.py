"""A real WebSub subscriber for the hub tests: an HTTP server on 127.0.0.1, port 0.

It answers the hub's verification GETs (echoing the challenge, or not, as a test wants) and
records every delivery POST with its headers and bytes. Answers can be scripted per
request (status codes, a redirect) and a POST can be held on a gate, so a test can stop the
hub in the middle of a fan-out without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    target: str  # the request target exactly as sent (path and query, not decoded)
    headers: dict[str, list[str]]
    body: bytes


@dataclass
class Subscriber:
    """Scripted answers: ``verify`` decides the GET reply; ``statuses`` are popped per POST
    (then 200); ``gate``, when set, holds every POST until it is opened."""

    verify: Callable[[dict[str, str]], tuple[int, bytes]] = lambda q: (
        200,
        q["hub.challenge"].encode(),
    )
    statuses: list[int] = field(default_factory=list)
    gate: threading.Event | None = None
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def callback(self, path: str = "/callback") -> str:
        return self.url + path

    def deliveries(self, path: str | None = None) -> list[Received]:
        return [r for r in self.received if r.method == "POST" and (path is None or r.path == path)]

    def verifications(self) -> list[Received]:
        return [r for r in self.received if r.method == "GET"]

    def wait_for(self, check: Callable[[], bool], timeout: float = 10) -> None:
        """Wait (bounded) until ``check()`` holds; fail the test if it never does."""
        end = time.monotonic() + timeout
        with self._changed:
            while not check():
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"gave up waiting after {timeout} s: {self.received}")
                self._changed.wait(min(left, 0.02))  # the check may read the hub's database

    def start(self) -> Subscriber:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _record(self, body: bytes) -> Received:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                headers: dict[str, list[str]] = {}
                for name, value in self.headers.items():
                    headers.setdefault(name.lower(), []).append(value)
                item = Received(self.command, parts.path, query, self.path, headers, body)
                with owner._changed:
                    owner.received.append(item)
                    owner._changed.notify_all()
                return item

            def _answer(self, status: int, body: bytes = b"", location: str = "") -> None:
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - the http.server hook
                item = self._record(b"")
                status, body = owner.verify(item.query)
                self._answer(status, body)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if owner.gate is not None:
                    owner.gate.wait(timeout=30)
                self._record(body)
                status = owner.statuses.pop(0) if owner.statuses else 200
                self._answer(
                    status, location=owner.url + "/elsewhere" if 300 <= status < 400 else ""
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
