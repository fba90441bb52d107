"""The server's front: granian's native interface (RSGI), in front of the Flask app.

A WSGI app reads a request's body on the thread that serves it, so a client that sends
headers and then a body byte by byte holds that thread for as long as it likes: four such
clients held every thread and the whole service stopped answering. Here the body is read on
the event loop, where a waiting client costs a few hundred bytes and no thread, with a
deadline (``PUBLISHER_BODY_TIMEOUT``; 408 and the connection closed after it, RFC 9110
§15.5.9), and is capped in size. Only then does the request go to a thread of the pool
(``PUBLISHER_THREADS``), with its whole body in memory: a thread is only ever busy with work.

A GET or HEAD of a published document is answered on the loop itself (``serving.answer``:
a dictionary look-up), as the WSGI middleware answers it for any other WSGI server. Slow
headers are the server's business: granian closes a connection whose headers take longer
than ``PUBLISHER_HEADER_TIMEOUT`` (see ``publisher.server``).

The WSGI environ is built as PEP 3333 describes, from the RSGI scope (RSGI 1.6, "HTTP
connection scope").
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from flask import Flask

from publisher.web.serving import Answer, answer

log = logging.getLogger(__name__)

#: Larger request bodies are refused unread (413): the biggest request the service takes, a
#: WebSub subscription, is at most 8 KiB (``web.hub``).
MAX_BODY = 64 * 1024
#: Methods whose body is never read: the request is answered without it.
BODILESS = frozenset(("GET", "HEAD", "OPTIONS"))
PLAIN = [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]


class Scope(Protocol):
    """What granian passes for an HTTP request (RSGI 1.6)."""

    method: str
    path: str
    query_string: str
    scheme: str
    http_version: str
    server: str
    client: str
    headers: Any


class Front:
    """The RSGI application granian runs (built by ``publisher.server.front``)."""

    def __init__(self, app: Flask, threads: int, body_timeout: float) -> None:
        self.app = app
        self.current = app.extensions["publisher.current"]
        self.served = app.extensions["publisher.served"]
        self.log = app.extensions["publisher.settings"].access_log
        self.body_timeout = body_timeout
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="publisher-request")

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Drop queued requests; one in progress (a load, say) does not delay the stop."""
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def __rsgi__(self, scope: Scope, proto: Any) -> None:
        method = scope.method
        if method == "GET" or method == "HEAD":
            headers = scope.headers
            found = answer(
                self.current,
                self.served,
                method,
                scope.path,
                headers.get("if-none-match"),
                headers.get("if-modified-since"),
                self.log,
            )
            if found is not None:
                status, headers, body = found
                proto.response_bytes(status, headers, body)
                return
        body = b""
        if method not in BODILESS:
            length = scope.headers.get("content-length")
            if length is not None and not (
                length.isascii()
                and length.isdigit()
                and len(length) <= 9  # int() stays cheap
                and int(length) <= MAX_BODY
            ):
                # Refused unread: no "100 Continue" invites a client to send it.
                proto.response_str(413, PLAIN, "The request is too large.\n")
                return
            try:
                body = await asyncio.wait_for(read_body(proto, MAX_BODY), self.body_timeout)
            except TimeoutError:
                proto.response_str(
                    408,
                    PLAIN,
                    "The request was not sent in time: send it again in one go.\n",
                )
                return
            except BodyTooLarge:
                proto.response_str(413, PLAIN, "The request is too large.\n")
                return
            except Exception:  # the connection broke mid-body, or its chunks were malformed
                proto.response_str(400, PLAIN, "The request's body could not be read.\n")
                return
            if length is not None and len(body) != int(length):
                # Cut short (the client closed early): never act on part of a request.
                proto.response_str(400, PLAIN, "The request's body was cut short.\n")
                return
        loop = asyncio.get_running_loop()
        status, headers, content = await loop.run_in_executor(
            self.pool, call_wsgi, self.app, environ(scope, body)
        )
        proto.response_bytes(status, headers, content)


class BodyTooLarge(ValueError):
    """A request body larger than MAX_BODY."""


async def read_body(proto: Any, limit: int) -> bytes:
    """The whole body, read chunk by chunk as the client sends it; BodyTooLarge past
    ``limit`` bytes (a chunked request has no Content-Length to refuse it by)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in proto:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(size)
        chunks.append(chunk)
    return b"".join(chunks)


def environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The WSGI environ of a request whose body has been read (PEP 3333, "environ
    Variables"): strings are "native strings", the path's UTF-8 bytes read as Latin-1."""
    server_host, _, server_port = scope.server.rpartition(":")
    client_host, _, client_port = scope.client.rpartition(":")
    env: dict[str, Any] = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": server_host.strip("[]"),
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": "HTTP/2" if scope.http_version == "2" else f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": client_host.strip("[]"),
        "REMOTE_PORT": client_port,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in scope.headers.items():
        if name == "content-type":
            env["CONTENT_TYPE"] = value
        elif "_" in name:
            # X_Forwarded_For would become HTTP_X_FORWARDED_FOR and pass for the header a
            # proxy wrote (PUBLISHER_PROXIES): dropped, as nginx and gunicorn drop them.
            continue
        elif name not in ("content-length", "transfer-encoding"):  # the body is read whole
            key = "HTTP_" + name.upper().replace("-", "_")
            env[key] = f"{env[key]}, {value}" if key in env else value  # RFC 9110 §5.3
    return env


def call_wsgi(app: Callable[..., Iterable[bytes]], env: dict[str, Any]) -> Answer:
    """Run a WSGI app to the end on this thread: its status, headers and whole body."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [int(status[:3]), headers]
        return written.append

    written: list[bytes] = []
    try:
        result = app(env, start_response)
        try:
            body = b"".join([*written, *result])
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception:  # Flask answers its own errors; this is a fault of ours below it
        log.exception("The request %s %s failed", env["REQUEST_METHOD"], env["PATH_INFO"])
        return 500, PLAIN, b"Something went wrong on the server.\n"
    return started[0], started[1], body
