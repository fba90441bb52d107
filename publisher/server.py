"""``publisher serve``: the checks before it starts, granian and its options, and the
application granian's worker process runs.

The command resolves the settings (``PUBLISHER_*`` variables, then its options, in
``publisher.cli``), and ``serve`` gives granian ``partial(front, settings)`` as the target's
loader: the worker builds the app from those settings, handed over with the worker's
start, so nothing goes through the environment. ``publisher.wsgi:app`` is the same service
for any WSGI server.
"""

from __future__ import annotations

import logging
import socket
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.config import Settings
from publisher.model.errors import PublisherError

if TYPE_CHECKING:
    from publisher.web.front import Front


def serve(settings: Settings, adopt: bool) -> int:
    """Serve until stopped; 1, with a plain message, when the data folder, the port or the
    database forbids it. With ``adopt``, a data folder the database did not publish is
    loaded and recorded first (``_folder_refused``)."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    # Fail here, with a plain message, rather than inside a worker process.
    if not Path(settings.data).is_dir():
        print(f"The data folder {settings.data!r} does not exist.", file=sys.stderr)
        return 1
    problem = _port_taken(settings.host, settings.port) or _folder_refused(settings, adopt)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    connections = _open_files_for(settings.connections)
    Granian(
        "publisher.server:front",  # named in its log; the worker builds the app with the loader
        address=settings.host,
        port=settings.port,
        interface=Interfaces.RSGI,  # request bodies are read on its event loop (web/front.py)
        # HTTP/1.1 only: browsers speak HTTP/2 only over TLS, which a proxy in front ends,
        # and an HTTP/2 connection that sends nothing more is never timed out.
        http=HTTPModes.http1,
        workers=1,
        backlog=settings.backlog,
        backpressure=connections,
        http1_settings=HTTP1Settings(header_read_timeout=int(settings.header_timeout * 1000)),
        log_access=False,  # our own access log has no IP address or Referer
        # A worker that dies (the OOM killer, a crash) is started again at once; for the
        # fraction of a second it takes, new connections are refused.
        respawn_failed_workers=True,
        respawn_interval=1.0,
        # granian can hang on SIGTERM after serving (emmett-framework/granian#875): a
        # worker still running after this many seconds is killed.
        workers_kill_timeout=5,
    ).serve(target_loader=partial(front, settings), wrap_loader=False)
    return 0


def front(settings: Settings) -> Front:
    """The Flask app behind the front that reads request bodies on the event loop
    (``publisher.web.front``)."""
    # Imported here, in the worker: granian's main process only supervises it, and would
    # otherwise hold Flask and the whole app (about 17 MB) for nothing.
    from publisher.app import create_app
    from publisher.web.front import Front

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return Front(create_app(settings), settings.threads, settings.body_timeout)


def _folder_refused(settings: Settings, adopt: bool) -> str | None:
    """Why the server must not start on this database with this data folder, in plain
    words, or None. With ``adopt``, the folder is loaded now, and recorded only if that
    load succeeds (as ``publisher reload --adopt``)."""
    from publisher.publish import Publisher, check_folder
    from publisher.store.db import connect

    if adopt:
        publisher = Publisher(settings)
        try:
            print(publisher.reload(adopt=True), file=sys.stderr)
        except PublisherError as exc:
            return str(exc)
        finally:
            publisher.close()
        return None
    conn = connect(settings.database, migrate=True)
    try:
        check_folder(conn, settings)
    except PublisherError as exc:
        return str(exc)
    finally:
        conn.close()
    return None


def _open_files_for(connections: int) -> int:
    """Raise this process's open-files limit (the worker inherits it) so that the
    connection cap can be reached; a smaller cap, with a warning, where the system's hard
    limit does not allow it. Each connection is a file descriptor; 64 are kept for the
    database, the data files and the delivery worker."""
    import resource

    spare = 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + spare
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft != resource.RLIM_INFINITY and soft < wanted:
        print(
            f"The system allows {soft} open files: publisher serve holds at most "
            f"{soft - spare} connections instead of PUBLISHER_CONNECTIONS={connections}. "
            "Raise the limit (ulimit -n, or LimitNOFILE= in a systemd unit) to allow more.",
            file=sys.stderr,
        )
        return max(1, soft - spare)
    return connections


def _port_taken(host: str, port: int) -> str | None:
    """A plain message if something already listens there.

    granian binds with SO_REUSEPORT, so a second server would silently share the port and
    answer half the requests with another database's documents. The probe binds with
    SO_REUSEADDR, as servers do, so that connections of a server just stopped, left in
    TIME-WAIT, do not count: on Linux only a socket listening there makes the bind fail.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return (
                f"Cannot listen on {host}:{port} ({exc.strerror}). Another server may be "
                "running there: stop it, or choose another port with --port."
            )
    return None
