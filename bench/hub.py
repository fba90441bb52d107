"""Part E of the benchmark: fan-out of one change to many WebSub subscribers.

A receiver process (aiohttp, its own core) counts POSTs. For 1,000 and 10,000 subscriptions
(written straight into the database: verification is not what is measured), a publisher
process with its worker thread reloads after a one-field edit; the time from the reload to
the receiver's last delivery, the deliveries per second and the publisher's peak memory are
measured. Beside it, in the same run, bare loops make the same number of POSTs of the same
bytes to the same receiver with no hub and no database: requests (one connection, in turn),
httpx (likewise) and aiohttp (32 in flight), the reference the hub's worker is held to.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from child import run_child  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
TOPIC = "/feeds/all.atom"
IN_FLIGHT = 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cmd: list[str], cpu: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


# -- the receiver -----------------------------------------------------------------------


def receiver(port: int) -> None:
    """Counts POSTs; GET /stats gives the count and the time.time() of the last one."""
    from aiohttp import web

    state = {"count": 0, "last": 0.0}

    async def post(request: web.Request) -> web.Response:
        await request.read()
        state["count"] += 1
        state["last"] = time.time()
        return web.Response(status=204)

    async def stats(request: web.Request) -> web.Response:
        if "hub.challenge" in request.query:
            return web.Response(text=request.query["hub.challenge"])
        return web.json_response(state)

    async def reset(request: web.Request) -> web.Response:
        state.update(count=0, last=0.0)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/reset", reset)
    app.router.add_post("/{tail:.*}", post)
    app.router.add_get("/{tail:.*}", stats)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def stats(port: int) -> dict[str, float]:
    import requests

    return requests.get(f"http://127.0.0.1:{port}/stats", timeout=5).json()


def reset(port: int) -> None:
    import requests

    requests.post(f"http://127.0.0.1:{port}/reset", timeout=5)


def wait_count(port: int, count: int, limit: float = 120) -> dict[str, float]:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        found = stats(port)
        if found["count"] >= count:
            return found
        time.sleep(0.02)
    raise SystemExit(f"Only {stats(port)['count']} of {count} deliveries arrived in {limit} s.")


# -- bare loops -------------------------------------------------------------------------


def bare_requests(url: str, body: bytes, count: int) -> None:
    import requests

    with requests.Session() as session:
        for _ in range(count):
            session.post(url, data=body, headers={"Content-Type": "application/atom+xml"})


def bare_httpx(url: str, body: bytes, count: int) -> None:
    import httpx

    with httpx.Client() as client:
        for _ in range(count):
            client.post(url, content=body, headers={"Content-Type": "application/atom+xml"})


def bare_aiohttp(url: str, body: bytes, count: int) -> None:
    import aiohttp

    async def main() -> None:
        limit = asyncio.Semaphore(IN_FLIGHT)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=IN_FLIGHT)
        ) as session:

            async def one() -> None:
                async with limit, session.post(url, data=body) as response:
                    await response.read()

            await asyncio.gather(*(one() for _ in range(count)))

    asyncio.run(main())


# -- the hub ----------------------------------------------------------------------------


def child(data: Path, database: Path, port: int, subscribers: int) -> None:
    """A publisher with its worker thread; prints JSON: reload start time and peak RSS."""
    sys.path.insert(0, str(ROOT))
    from publisher.config import load_settings
    from publisher.hub import worker
    from publisher.model.timestamps import format_time
    from publisher.publish import Publisher, utc_now

    settings = load_settings(
        {
            "data": str(data),
            "database": str(database),
            "watch": False,
            "hub_allow_private_callbacks": True,
            "hub_coalesce": 0,
            "worker_concurrency": IN_FLIGHT,
        }
    )
    publisher = Publisher(settings)
    publisher.reload()
    now, later = utc_now(), "2099-01-01T00:00:00.000000Z"
    with publisher.conn:
        publisher.conn.executemany(
            "INSERT INTO subscriptions"
            " (callback, topic, secret, lease_seconds, created, verified, expires)"
            " VALUES (?, ?, ?, 864000, ?, ?, ?)",
            [
                (
                    f"http://127.0.0.1:{port}/cb/{n}",
                    TOPIC,
                    f"secret-{n}",
                    format_time(now),
                    format_time(now),
                    later,
                )
                for n in range(subscribers)
            ],
        )
    stop, thread = worker.start(settings, utc_now, publisher.current.wake)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    path = data / "community-groups.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Oor Mad History", "Oor Mad History (edited)", 1), "utf-8")
    started = time.time()
    publisher.reload()
    reloaded = time.time()
    wait_count(port, subscribers, limit=300)
    stop.set()
    publisher.current.wake.set()
    thread.join(timeout=30)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"started": started, "reloaded": reloaded, "base_rss": base_rss, "peak_rss": peak}
        )
    )


def fan_out(tmp: Path, port: int, subscribers: int) -> dict[str, float]:
    data = tmp / f"data-{subscribers}"
    shutil.copytree(ROOT / "data", data)
    reset(port)
    out = run_child(
        pinned(
            [
                sys.executable,
                __file__,
                "--child",
                str(data),
                str(tmp / f"db-{subscribers}"),
                str(port),
                str(subscribers),
            ],
            0,
        ),
        "E",
    )
    result = json.loads(out.strip().splitlines()[-1])
    last = stats(port)["last"]
    return {**result, "seconds": last - result["started"]}


def bench_hub(sizes: tuple[int, ...] = (1000, 10000)) -> str:
    import requests

    port = free_port()
    server = subprocess.Popen(
        pinned([sys.executable, __file__, "--receiver", str(port)], 1), start_new_session=True
    )
    try:
        for _ in range(200):
            try:
                stats(port)
                break
            except requests.RequestException:
                time.sleep(0.05)
        rows = []
        with tempfile.TemporaryDirectory(prefix="publisher-bench-hub-") as name:
            tmp = Path(name)
            feed = _feed_bytes(tmp)
            for size in sizes:
                hub = fan_out(tmp, port, size)
                bare = {}
                for label, loop in (
                    ("requests", bare_requests),
                    ("httpx", bare_httpx),
                    (f"aiohttp ({IN_FLIGHT} in flight)", bare_aiohttp),
                ):
                    reset(port)
                    started = time.time()
                    loop(f"http://127.0.0.1:{port}/bare", feed, size)
                    wait_count(port, size)
                    bare[label] = size / (time.time() - started)
                rate = size / hub["seconds"]
                best = max(bare.values())
                rows.append((size, hub, rate, bare, best))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    lines = [
        f"E. WebSub fan-out of one change ({TOPIC}, {len(feed):,} bytes, signed) to N "
        "subscribers; receiver on CPU 1, sender on CPU 0",
        "| N | reload to last delivery | hub deliveries/s | requests | httpx | aiohttp "
        f"({IN_FLIGHT} in flight) | hub / fastest bare | peak RSS (over start) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for size, hub, rate, bare, best in rows:
        values = list(bare.values())
        lines.append(
            f"| {size:,} | {hub['seconds']:.2f} s | {rate:,.0f} | {values[0]:,.0f} | "
            f"{values[1]:,.0f} | {values[2]:,.0f} | {rate / best:.2f}x | "
            f"{hub['peak_rss']:.0f} MB (+{hub['peak_rss'] - hub['base_rss']:.0f}) |"
        )
    return "\n".join(lines)


def _feed_bytes(tmp: Path) -> bytes:
    """The bytes of the topic, as the hub sends them, for the bare loops."""
    sys.path.insert(0, str(ROOT))
    from publisher.config import load_settings
    from publisher.publish import Publisher

    publisher = Publisher(
        load_settings(
            {"data": str(ROOT / "data"), "database": str(tmp / "feed.sqlite3"), "watch": False}
        )
    )
    try:
        publisher.reload()
        return publisher.current.documents[TOPIC].body
    finally:
        publisher.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--receiver"]:
        receiver(int(sys.argv[2]))
    elif sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sizes = tuple(int(s) for s in sys.argv[1:]) or (1000, 10000)
        print(bench_hub(sizes))
