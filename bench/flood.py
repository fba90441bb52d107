"""Part G of the benchmark: a flood of POST /hub requests from one client.

G1. ``publisher serve`` on the bundled data. One client (127.0.0.1) sends ``--requests``
subscription requests on one connection, each for another spelling of another loopback
address (``http://0177.0.X.Y:9/…``, where nothing listens), as in the issue; then a subscriber
from another address (127.0.0.2) asks every 50 ms until it is accepted. Twice: with the
default settings (loopback callbacks are refused) and with loopback callbacks allowed (the
worker dials them and is refused by the kernel); there the subscriber is a real one, and the
time to its verification is shown too.

G2. The cost of one refused POST /hub (a topic not published here: 404) by directory size:
in a subprocess, the app on generated data of each size (bench/run.py's generator), 2,000
requests through its WSGI interface (Flask's test client), median per request.

G3. One POST /hub over loopback to ``publisher serve`` on the bundled data (one keep-alive
connection, the worker off so requests stay pending): ``HUB_REQUESTS`` refused ones (404, a
topic not published here: answered before the database) and as many accepted ones (202: each
recorded in the database), median and 90th percentile per request as the client sees it.
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from child import run_child  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOPIC = "http://127.0.0.1:8000/feeds/all.atom"
FLOOD_FROM, NEWCOMER_FROM = "127.0.0.1", "127.0.0.2"
#: How long the newcomer keeps asking, and waits for its verification, at most.
GIVE_UP = 60.0
REFUSED_REQUESTS = 2000
HUB_REQUESTS = 500


def form(callback: str) -> str:
    return urlencode({"hub.mode": "subscribe", "hub.callback": callback, "hub.topic": TOPIC})


class Client:
    """One keep-alive connection from ``source``, opened again if the server closes it."""

    def __init__(self, port: int, source: str) -> None:
        self.port, self.source = port, source
        self.conn: http.client.HTTPConnection | None = None

    def post(self, body: str) -> int:
        for _ in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=10, source_address=(self.source, 0)
                )
            try:
                self.conn.request(
                    "POST",
                    "/hub",
                    body=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                answer = self.conn.getresponse()
                answer.read()
                return answer.status
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
        raise RuntimeError("the server closed the connection twice in a row")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def subscriber() -> tuple[ThreadingHTTPServer, threading.Event]:
    """A subscriber on 127.0.0.1 that echoes the challenge; the event is set when asked."""
    verified = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - the http.server hook
            challenge = parse_qs(urlsplit(self.path).query).get("hub.challenge", [""])[0]
            body = challenge.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            verified.set()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, verified


def flood(tmp: Path, requests: int, allow_private: bool) -> dict[str, object]:
    """One run of G1: the flood's answers and how long the newcomer waited."""
    from run import clean_env, free_port, process, wait_for  # here: run.py imports this

    port = free_port()
    env = clean_env(
        PUBLISHER_DATA=str(ROOT / "data"),
        PUBLISHER_DATABASE=str(tmp / f"flood-{int(allow_private)}.sqlite3"),
        PUBLISHER_HOST="127.0.0.1",
        PUBLISHER_PORT=str(port),
        PUBLISHER_ACCESS_LOG="0",
        PUBLISHER_WATCH="0",
        PUBLISHER_HUB_ALLOW_PRIVATE_CALLBACKS=str(int(allow_private)),
    )
    log = tmp / f"flood-{int(allow_private)}.log"
    receiver, verified = subscriber()
    try:
        with process([str(BIN / "publisher"), "serve"], log, ROOT, env) as proc:
            wait_for(port, "/readyz", proc, log)
            return _flood(port, requests, receiver if allow_private else None, verified)
    finally:
        receiver.shutdown()
        receiver.server_close()


def _flood(
    port: int, requests: int, receiver: ThreadingHTTPServer | None, verified: threading.Event
) -> dict[str, object]:
    """The flood, then the newcomer; the receiver is its callback when loopback is allowed."""
    statuses: dict[int, int] = {}
    attacker = Client(port, FLOOD_FROM)
    started = time.perf_counter()
    for n in range(requests):
        status = attacker.post(form(f"http://0177.0.{n // 250}.{n % 250 + 1}:9/cb/{n}"))
        statuses[status] = statuses.get(status, 0) + 1
    flooded = time.perf_counter()
    attacker.close()
    dialled = receiver is not None
    # A name is not refused at once, as a loopback address is by default.
    callback = f"http://127.0.0.1:{receiver.server_port}/cb" if dialled else "http://s.example/"
    refused, accepted, checked = 0, None, None
    newcomer = Client(port, NEWCOMER_FROM)
    while time.perf_counter() - flooded < GIVE_UP:
        if newcomer.post(form(callback)) == 202:
            accepted = time.perf_counter() - flooded
            break
        refused += 1
        time.sleep(0.05)
    newcomer.close()
    left = GIVE_UP - (time.perf_counter() - flooded)
    if dialled and accepted is not None and verified.wait(max(left, 0)):
        checked = time.perf_counter() - flooded
    return {
        "statuses": statuses,
        "seconds": flooded - started,
        "accepted": accepted,
        "refused": refused,
        "verified": checked,
    }


def child(data: Path, database: Path) -> None:
    """G2 in a subprocess: prints JSON with the documents served and ms per refused POST."""
    from publisher.app import close_app, create_app

    app = create_app(
        {
            "data": str(data),
            "database": str(database),
            "watch": False,
            "worker": False,
            "access_log": False,
            "load_helpers": 0,
        }
    )
    app.extensions["publisher.ready"].wait()
    client = app.test_client()
    body = form("http://subscriber.example/cb").replace("all.atom", "none.atom")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    times = []
    for _ in range(REFUSED_REQUESTS):
        started = time.perf_counter()
        answer = client.post("/hub", data=body, headers=headers)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 404, answer.status_code
    documents = len(app.extensions["publisher"].current.documents)
    close_app(app)
    print(json.dumps({"documents": documents, "ms": statistics.median(times) * 1000}))


def refused_cost(tmp: Path, groups: int | None) -> dict[str, float]:
    """G2 for the bundled data (None) or ``groups`` generated groups."""
    data = ROOT / "data"
    if groups is not None:
        from run import generate  # here: run.py imports this module

        data = tmp / f"data-{groups}"
        generate(data, groups)
    name = "bundled" if groups is None else str(groups)
    cmd = [sys.executable, __file__, "--child", str(data), str(tmp / f"refused-{name}.sqlite3")]
    return json.loads(run_child(cmd, "G").strip().splitlines()[-1])


def one_request(tmp: Path) -> dict[str, list[float]]:
    """G3: seconds per refused and per accepted POST /hub, as the client measured them."""
    from run import clean_env, free_port, process, wait_for  # here: run.py imports this

    port = free_port()
    roomy = str(10 * HUB_REQUESTS)  # every accepted request finds room
    env = clean_env(
        PUBLISHER_DATA=str(ROOT / "data"),
        PUBLISHER_DATABASE=str(tmp / "one-request.sqlite3"),
        PUBLISHER_HOST="127.0.0.1",
        PUBLISHER_PORT=str(port),
        PUBLISHER_ACCESS_LOG="0",
        PUBLISHER_WATCH="0",
        PUBLISHER_WORKER="0",
        PUBLISHER_HUB_MAX_PENDING=roomy,
        PUBLISHER_HUB_MAX_PENDING_PER_CLIENT=roomy,
    )
    log = tmp / "one-request.log"
    times: dict[str, list[float]] = {"refused": [], "accepted": []}
    with process([str(BIN / "publisher"), "serve"], log, ROOT, env) as proc:
        wait_for(port, "/readyz", proc, log)
        client = Client(port, FLOOD_FROM)
        try:
            for n in range(2 * HUB_REQUESTS):
                accept = n % 2 == 1  # alternated, so both meet the same moments
                body = form(f"http://s{n}.example/cb")
                if not accept:
                    body = body.replace("all.atom", "none.atom")
                started = time.perf_counter()
                status = client.post(body)
                took = time.perf_counter() - started
                assert status == (202 if accept else 404), status
                times["accepted" if accept else "refused"].append(took)
        finally:
            client.close()
    return times


def _after(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else f"not within {GIVE_UP:.0f} s"


def bench_flood(sizes: tuple[int, ...] = (1000, 10000), requests: int = 1000) -> str:
    with tempfile.TemporaryDirectory(prefix="publisher-bench-flood-") as name:
        tmp = Path(name)
        runs = [(allow, flood(tmp, requests, allow)) for allow in (False, True)]
        costs = [(None, refused_cost(tmp, None))]
        costs += [(size, refused_cost(tmp, size)) for size in sizes]
        single = one_request(tmp)
    lines = [
        f"G1. {requests:,} POST /hub from {FLOOD_FROM} (callbacks http://0177.0.X.Y:9/…), "
        f"then a subscriber from {NEWCOMER_FROM} asking every 50 ms",
        "| loopback callbacks | flood answers | flood took | newcomer accepted after | "
        "its 429s | verified after |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for allow, run in runs:
        answers = ", ".join(f"{n:,} × {s}" for s, n in sorted(run["statuses"].items()))
        verified = _after(run["verified"]) if allow else "(not dialled)"
        lines.append(
            f"| {'allowed' if allow else 'refused (default)'} | {answers} | "
            f"{run['seconds']:.2f} s | {_after(run['accepted'])} | {run['refused']} | "
            f"{verified} |"
        )
    lines += [
        "",
        f"G2. One refused POST /hub (404: no such topic), median of {REFUSED_REQUESTS:,}",
        "| groups | documents | ms per request |",
        "| --- | --- | --- |",
    ]
    for size, cost in costs:
        label = "bundled" if size is None else f"{size:,}"
        lines.append(f"| {label} | {cost['documents']:,} | {cost['ms']:.3f} |")
    lines += [
        "",
        f"G3. One POST /hub over loopback (publisher serve, bundled data), "
        f"{HUB_REQUESTS:,} of each",
        "| request | median | 90th percentile |",
        "| --- | --- | --- |",
    ]
    for what, label in (("refused", "refused (404)"), ("accepted", "accepted (202)")):
        cuts = statistics.quantiles(single[what], n=10)
        median = statistics.median(single[what])
        lines.append(f"| {label} | {median * 1000:.3f} ms | {cuts[-1] * 1000:.3f} ms |")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1:2] == ["--one-request"]:  # G3 alone
        with tempfile.TemporaryDirectory(prefix="publisher-bench-hub-") as name:
            found = one_request(Path(name))
        print(json.dumps({k: statistics.median(v) * 1000 for k, v in found.items()}, indent=None))
    else:
        args = sys.argv[1:]
        count = 1000
        if "--requests" in args:
            at = args.index("--requests")
            count = int(args[at + 1])
            del args[at : at + 2]
        print(bench_flood(tuple(int(s) for s in args) or (1000, 10000), count))
