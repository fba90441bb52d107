"""The access log: one line per request (time, method, path, status, size, duration), never
an IP address or a Referer.

Written to standard error with one system call per line rather than through ``logging``:
a LogRecord, its formatting and the handler's lock and flush cost as much as answering a
304, and halved the requests a server could answer. Each line starts with the time (UTC, to
the second), whichever logging format the rest of the process uses. The method and path are
written with anything unprintable escaped, so a request cannot add a line of its own.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

_stamp: tuple[int, str] = (0, "")


def _now() -> str:
    """The time as the log shows it, formatted once a second, not once a request."""
    global _stamp  # noqa: PLW0603 - a one-entry cache; a race only formats it twice
    second = int(time.time())
    if _stamp[0] != second:
        _stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _stamp[1]


def _printable(text: str) -> str:
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def write(method: str, path: str, status: int, size: int, took_ms: float) -> None:
    """Log one request; never fails it (a closed or full standard error loses the line)."""
    line = (
        f"{_now()} INFO publisher.access: {_printable(method)} {_printable(path)} "
        f"{status} {size} {took_ms:.1f}ms\n"
    ).encode()
    try:
        fd = sys.stderr.fileno()
    except (OSError, ValueError, AttributeError):  # no file descriptor (captured, or none)
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.write(line.decode())
        return
    with contextlib.suppress(OSError):
        while line:  # a short write (a full pipe, a signal) writes the rest after it
            line = line[os.write(fd, line) :]
