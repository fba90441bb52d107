"""Part F of the benchmark: other clients' wait while slow clients hold connections open.

`publisher serve` runs with its default settings. For each scenario, one client (a new
connection each time, as a new visitor) fetches `/` and `/healthz` in turn every 0.1 s
while the slow clients are kept at their number for the whole run (a dropped one is opened
again at once, as an attacker would):

- none: the reference, in the same run;
- 8 clients each sending a `POST /hub` body one byte every 2 s (the server drops each after
  PUBLISHER_BODY_TIMEOUT with a 408);
- 1,500 clients each sending a header line every 2 s (dropped after
  PUBLISHER_HEADER_TIMEOUT).

Prints the probes' median, p99 and slowest answer, how many took over 1 s (the goal: none),
and how many slow connections the server closed.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
PROBE_EVERY = 0.1
SLOW_EVERY = 2.0
GOAL = 1.0  # s, every answer to another client

SLOW_BODY = (
    b"POST /hub HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\nhub."
)
SLOW_HEADERS = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(work: Path) -> Iterator[int]:
    """`publisher serve` (default settings, bundled data), stopped by its process group."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env |= {"PUBLISHER_DATABASE": str(work / "slow.sqlite3"), "PUBLISHER_WATCH": "0"}
    env |= {"PUBLISHER_ACCESS_LOG": "0"}
    with open(work / "slow-server.log", "wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "publisher"), "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, http.client.HTTPException):
                if probe(port, "/readyz") is not None:
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError("publisher serve did not answer within 30 s")
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def probe(port: int, path: str) -> float | None:
    """Seconds a GET on a new connection took to answer 200; None if it did not."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return time.perf_counter() - started if resp.status == 200 else None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


class SlowClients:
    """``count`` connections that send ``opening`` then one byte or line every SLOW_EVERY
    seconds; one the server closes is opened again at once. Runs on a thread until stopped."""

    def __init__(self, port: int, count: int, opening: bytes, trickle: bytes) -> None:
        self.port, self.count, self.opening, self.trickle = port, count, opening, trickle
        self.socks: list[socket.socket] = []
        self.closed_by_server = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self) -> socket.socket:
        sock = socket.create_connection((HOST, self.port), timeout=5)
        sock.sendall(self.opening)
        sock.setblocking(False)
        return sock

    def __enter__(self) -> SlowClients:
        self.socks = [self._open() for _ in range(self.count)]
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        for sock in self.socks:
            sock.close()

    def _run(self) -> None:
        next_trickle = time.monotonic() + SLOW_EVERY
        while not self.stop.wait(0.05):
            poll = select.poll()  # select() takes no descriptor above 1,023
            for sock in self.socks:
                poll.register(sock, select.POLLIN)
            readable = {fd for fd, _ in poll.poll(0)}
            for i, sock in enumerate(self.socks):
                if sock.fileno() in readable:  # an answer (408) or the server's close
                    sock.close()
                    self.closed_by_server += 1
                    self.socks[i] = self._open()
            if time.monotonic() >= next_trickle:
                next_trickle += SLOW_EVERY
                for sock in self.socks:
                    with contextlib.suppress(OSError):
                        sock.send(self.trickle)


def measure(port: int, seconds: float, slow: Callable[[], contextlib.AbstractContextManager]):
    took: list[float] = []
    failed = 0
    with slow() as clients:
        deadline = time.monotonic() + seconds
        paths = ("/", "/healthz")
        while time.monotonic() < deadline:
            answer = probe(port, paths[len(took) % 2])
            if answer is None:
                failed += 1
            else:
                took.append(answer)
            time.sleep(PROBE_EVERY)
        closed = getattr(clients, "closed_by_server", 0)
    return took, failed, closed


def bench_slow_clients(seconds: float = 20.0) -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 4000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4000, hard), hard))
    scenarios = [
        ("no slow clients (reference)", lambda port: contextlib.nullcontext()),
        (
            "8 slow POST /hub bodies, a byte every 2 s",
            lambda port: SlowClients(port, 8, SLOW_BODY, b"m"),
        ),
        (
            "1,500 slow headers, a line every 2 s",
            lambda port: SlowClients(port, 1500, SLOW_HEADERS, b"X-Slow: 1\r\n"),
        ),
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="publisher-slow-") as name, server(Path(name)) as port:
        reference = None
        for title, slow in scenarios:
            took, failed, closed = measure(port, seconds, lambda slow=slow: slow(port))
            ms = sorted(t * 1000 for t in took)
            p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
            reference = reference or p99
            over = sum(t > GOAL for t in took) + failed
            rows.append(
                f"{title:<44} {len(took) + failed:>6} {statistics.median(ms):>8.1f} "
                f"{p99:>8.1f} {ms[-1]:>8.1f} {p99 / reference:>7.1f}x "
                f"{over:>5}{' ok' if over == 0 else ' MISSED'} {closed:>9}"
            )
    head = (
        f"F. Other clients while slow ones hold connections ({seconds:.0f} s each; a GET of / "
        "or /healthz on a new connection every 0.1 s; goal: every answer within 1 s)\n"
        f"{'scenario':<44} {'probes':>6} {'med ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'p99/ref':>8} {'>1 s':>8} {'closed':>9}"
    )
    return "\n".join([head, "-" * len(head.splitlines()[1]), *rows])


if __name__ == "__main__":
    print(bench_slow_clients(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0))
