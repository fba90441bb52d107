"""The access log: one line per request (method, path, status, size, time), never an IP
address or a Referer.

Written to standard error with one system call per line rather than through ``logging``:
a LogRecord, its formatting and the handler's lock and flush cost as much as answering a
304, and halved the requests a server could answer. Lines read as ``publisher serve``'s
logging writes its other lines. A path is written with anything unprintable escaped, so a
request cannot add a line of its own to the log.
"""

from __future__ import annotations

import contextlib
import os
import sys


def write(method: str, path: str, status: int, size: int, took_ms: float) -> None:
    """Log one request; never fails it (a closed or full standard error loses the line)."""
    if not path.isprintable():
        path = path.encode("unicode_escape").decode("ascii")
    line = f"INFO publisher.access: {method} {path} {status} {size} {took_ms:.1f}ms\n"
    try:
        os.write(sys.stderr.fileno(), line.encode())
    except (OSError, ValueError, AttributeError):  # no file descriptor (e.g. captured)
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(line)
