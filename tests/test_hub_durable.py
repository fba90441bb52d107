"""The hub's delivery queue under pressure: coalescing, order, several workers, a worker
killed mid-way, restarts and giving up.

In-process tests run the worker in the app (or as bare Worker threads) on the test's clock,
as tests/test_hub.py does, and move the clock instead of sleeping. The kill -9 test runs the
real ``publisher serve`` and ``publisher worker`` processes on the real clock, each in its
own process group that the test stops by pid. Every wait is bounded; every server listens
on 127.0.0.1 only.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
import requests

from publisher.app import close_app
from publisher.config import Settings
from publisher.hub.worker import Worker
from publisher.store.deliveries import Delivery, Outcome
from tests.conftest import HUB_SETTINGS, ROOT, Clock
from tests.subscriber import Subscriber
from tests.test_hub import subscribe, subscribed
from tests.test_publication import edit_description
from tests.test_serve import free_port

TOPIC = "/feeds/community-groups.atom"
JSON_TOPIC = "/feeds/community-groups.json"


class CountingGate(threading.Event):
    """The subscriber's gate, counting the POSTs it holds: a test can see that a send has
    reached the subscriber (the subscriber records a POST only once the gate lets it go)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.held = 0

    def wait(self, timeout: float | None = None) -> bool:
        with self._lock:
            self.held += 1
        return super().wait(timeout)


def edit(server, text: str) -> None:
    edit_description(server.publisher.data, "oor-mad-history", text)
    server.publisher.reload()


def count(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608


def media_type(received) -> str:
    return received.headers["content-type"][0].split(";")[0]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` (bounded) for things no subscriber notices, e.g. a database row."""
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(0.02)


# -- coalescing and order -----------------------------------------------------------------


def test_edits_within_the_coalescing_window_send_one_newest_document(
    make_app, serve, subscriber, clock
):
    hub = serve(make_app(**{**HUB_SETTINGS, "hub_coalesce": 30}))
    atom, json_feed = subscriber.callback("/atom"), subscriber.callback("/json")
    both = subscriber.callback("/both")
    subscribe(hub, atom, topic=TOPIC)
    subscribe(hub, json_feed, topic=JSON_TOPIC)
    subscribe(hub, both, topic=TOPIC)
    subscribe(hub, both, topic=JSON_TOPIC)
    subscriber.wait_for(lambda: len(subscribed(hub)) == 4)

    edit(hub, "First edit, soon replaced.")
    first = {TOPIC: hub.get(TOPIC).content, JSON_TOPIC: hub.get(JSON_TOPIC).content}
    clock.advance(seconds=10)
    edit(hub, "Second edit, the one to deliver.")
    newest = {TOPIC: hub.get(TOPIC).content, JSON_TOPIC: hub.get(JSON_TOPIC).content}
    assert all(first[t] != newest[t] for t in first)
    conn = hub.publisher.conn
    assert count(conn, "deliveries") == 4  # one row per subscription and topic, replaced
    # Nothing was due yet: no row has been tried (a send of the first document would have
    # shown as a fifth delivery below, its row queued again by the second edit).
    assert conn.execute("SELECT SUM(attempts) FROM deliveries").fetchone()[0] == 0
    assert subscriber.deliveries() == []

    clock.advance(seconds=60)  # past the second window
    subscriber.wait_for(lambda: count(conn, "deliveries") == 0)
    got = sorted((r.path, media_type(r)) for r in subscriber.deliveries())
    assert got == sorted(
        [
            ("/atom", "application/atom+xml"),
            ("/json", "application/feed+json"),
            ("/both", "application/atom+xml"),
            ("/both", "application/feed+json"),
        ]
    )
    for r in subscriber.deliveries():
        topic = JSON_TOPIC if media_type(r) == "application/feed+json" else TOPIC
        assert r.body == newest[topic] == hub.get(topic).content


def test_a_newer_document_never_arrives_before_an_older_one(make_app, serve, clock):
    gate = CountingGate()
    subscriber = Subscriber(gate=gate).start()
    try:
        hub = serve(make_app(**HUB_SETTINGS))
        subscribe(hub, subscriber.callback(), topic=TOPIC)
        subscriber.wait_for(lambda: subscribed(hub))
        edit(hub, "Older: held at the subscriber's gate.")
        older = hub.get(TOPIC).content
        subscriber.wait_for(lambda: gate.held == 1)  # its POST is at the subscriber
        clock.advance(seconds=5)
        edit(hub, "Newer: queued while the older one is in flight.")
        newer = hub.get(TOPIC).content
        assert newer != older
        gate.set()
        subscriber.wait_for(lambda: len(subscriber.deliveries()) == 2)
        subscriber.wait_for(lambda: count(hub.publisher.conn, "deliveries") == 0)
        assert [r.body for r in subscriber.deliveries()] == [older, newer]
        assert subscriber.deliveries()[-1].body == hub.get(TOPIC).content
    finally:
        subscriber.stop()


# -- several workers ----------------------------------------------------------------------


class WatchedWorker(Worker):
    """A Worker that notes, in a record shared with other workers, every send it makes and
    any send of a delivery another worker has in flight at that moment."""

    def __init__(self, settings: Settings, clock: Clock, shared: dict) -> None:
        super().__init__(settings, clock)
        self.shared = shared
        self.sent = 0

    async def send(
        self, http: aiohttp.ClientSession, d: Delivery, payload: tuple[str, bytes]
    ) -> Outcome:
        with self.shared["lock"]:
            if d.key in self.shared["in_flight"]:
                self.shared["overlaps"].append(d.key)
            self.shared["in_flight"].add(d.key)
        try:
            return await super().send(http, d, payload)
        finally:
            with self.shared["lock"]:
                self.shared["in_flight"].discard(d.key)
                self.sent += 1


def test_two_workers_never_send_the_same_delivery(make_app, serve, subscriber, clock):
    """Two Worker instances on one database (as two ``publisher worker`` processes would be):
    claims hold each intent and delivery for one of them, so every callback is verified once
    and gets the change once, and no delivery is ever in flight from both."""
    hub = serve(make_app(**{**HUB_SETTINGS, "worker": False}))
    # One send in flight per worker, and a batch smaller than the fan-out, so both share it.
    settings = dataclasses.replace(hub.publisher.settings, worker_concurrency=1)
    shared: dict = {"lock": threading.Lock(), "in_flight": set(), "overlaps": []}
    workers = [WatchedWorker(settings, clock, shared) for _ in range(2)]
    stop_workers = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop_workers,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    try:
        callbacks = [subscriber.callback(f"/cb/{i}") for i in range(50)]
        for callback in callbacks:
            assert subscribe(hub, callback, topic=TOPIC).status_code == 202
        subscriber.wait_for(lambda: len(subscribed(hub)) == 50)
        gate = subscriber.gate = CountingGate()
        edit(hub, "One edit for fifty subscribers.")
        # Two POSTs held at once: more than one worker has in flight, so both are sending.
        wait_until(
            lambda: gate.held >= 2,
            10,
            "a second worker to send while the first one's send is held: each worker "
            "claims a batch, not the whole queue",
        )
        gate.set()
        conn = hub.publisher.conn
        subscriber.wait_for(lambda: len(subscriber.deliveries()) >= 50)
        subscriber.wait_for(lambda: count(conn, "deliveries") == 0)
    finally:
        stop_workers.set()
        for thread in threads:
            thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    assert shared["overlaps"] == []
    assert sum(w.sent for w in workers) == 50
    body = hub.get(TOPIC).content
    for i in range(50):
        assert len(subscriber.deliveries(f"/cb/{i}")) == 1, f"/cb/{i}"
        assert subscriber.deliveries(f"/cb/{i}")[0].body == body
        assert len([r for r in subscriber.verifications() if r.path == f"/cb/{i}"]) == 1
    assert all(w.sent for w in workers), [w.sent for w in workers]


# -- restarts -----------------------------------------------------------------------------


def test_a_restart_keeps_subscriptions_intents_and_queued_deliveries(make_app, serve, subscriber):
    first = serve(make_app(**HUB_SETTINGS))
    kept = subscriber.callback("/kept")
    subscribe(first, kept, topic=TOPIC)
    subscriber.wait_for(lambda: subscribed(first) == [(kept, TOPIC)])
    close_app(first.app)

    # No worker: a request waits for its verification and the change waits in the queue.
    second = serve(make_app(**{**HUB_SETTINGS, "worker": False}))
    later = subscriber.callback("/later")
    assert subscribe(second, later, topic=TOPIC).status_code == 202
    edit(second, "Changed while no worker ran.")
    conn = second.publisher.conn
    assert count(conn, "deliveries") == 1 and count(conn, "intents") == 1
    assert subscriber.received[1:] == []  # only the first verification so far
    close_app(second.app)

    third = serve(make_app(**HUB_SETTINGS))
    subscriber.wait_for(lambda: subscriber.deliveries("/kept"))
    subscriber.wait_for(lambda: len(subscribed(third)) == 2)
    [delivery] = subscriber.deliveries("/kept")
    assert delivery.body == third.get(TOPIC).content
    assert subscriber.deliveries("/later") == []  # subscribed after the change


# -- giving up ----------------------------------------------------------------------------


def test_a_delivery_that_keeps_failing_is_given_up_and_recorded(
    make_app, serve, subscriber, clock, database
):
    hub = serve(make_app(**{**HUB_SETTINGS, "hub_retry_for": 300}))
    secret = "never-shown-3f9c2b7e"
    callback = subscriber.callback("/failing")
    subscribe(hub, callback, topic=TOPIC, **{"hub.secret": secret})
    subscriber.wait_for(lambda: subscribed(hub))
    subscriber.statuses = [500] * 50
    edit(hub, "Nobody will take this one.")
    conn = hub.publisher.conn

    def attempts_recorded() -> int:
        row = conn.execute(
            "SELECT attempts FROM deliveries WHERE last_error IS NOT NULL AND claimed_until IS NULL"
        ).fetchone()
        return row[0] if row else 0

    for attempt in range(1, 12):  # retries 60 s apart at most; given up after 300 s
        subscriber.wait_for(lambda a=attempt: attempts_recorded() == a or count(conn, "failures"))
        if count(conn, "failures"):
            break
        clock.advance(minutes=2)
    else:
        pytest.fail("the delivery was never given up")
    assert count(conn, "deliveries") == 0
    [failure] = conn.execute("SELECT url, error, attempts FROM failures").fetchall()
    assert failure["url"] == callback and failure["error"] == "HTTP 500"
    assert failure["attempts"] == len(subscriber.deliveries()) >= 3
    assert subscribed(hub) == [(callback, TOPIC)]  # the subscription stays

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "publisher.cli", "hub", *args, "--database", str(database)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )

    failures = cli("failures")
    assert callback in failures.stdout and "HTTP 500" in failures.stdout
    assert "1 delivery(ies) given up." in failures.stderr
    listed = cli("subscriptions")
    assert callback in listed.stdout and TOPIC in listed.stdout and "signed" in listed.stdout
    assert "1 subscription(s)." in listed.stderr
    queue = cli("deliveries")
    assert "0 delivery(ies) queued." in queue.stderr
    for result in (failures, listed, queue):
        assert secret not in result.stdout + result.stderr


# -- kill -9 in the middle of a fan-out ----------------------------------------------------


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A publisher command in its own process group (so it can be killed whole, by pid)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "publisher.cli", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _terminate(process: subprocess.Popen) -> None:
    """SIGTERM the process group (the worker stops after its round); SIGKILL if it hangs."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        _kill(process)


def test_a_worker_killed_mid_fan_out_loses_no_delivery(data_dir, tmp_path):
    n = 20
    database = tmp_path / "killed.sqlite3"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PUBLISHER_DATA": str(data_dir),
        "PUBLISHER_DATABASE": str(database),
        "PUBLISHER_HUB_ALLOW_PRIVATE_CALLBACKS": "1",
        "PUBLISHER_HUB_COALESCE": "0",
        "PUBLISHER_WORKER_LEASE": "2",
        "PUBLISHER_WORKER_POLL": "0.05",
        "PUBLISHER_WORKER_CONCURRENCY": "4",  # 4 held at the gate, 16 claimed behind them
        "PUBLISHER_WATCH": "1",
        "PUBLISHER_WATCH_INTERVAL": "0.05",
        "PUBLISHER_WATCH_SETTLE": "0.1",
        "PUBLISHER_ACCESS_LOG": "0",
    }
    log = tmp_path / "processes.log"
    gate = CountingGate()
    subscriber = Subscriber(gate=gate).start()
    server = _start(["serve", "--port", str(port)], env, log)
    worker: subprocess.Popen | None = None
    try:
        wait_until(lambda: _ready(url), 20, "publisher serve to be ready")
        for i in range(n):
            form = {
                "hub.mode": "subscribe",
                "hub.callback": subscriber.callback(f"/cb/{i}"),
                "hub.topic": url + TOPIC,
            }
            answer = requests.post(
                url + "/hub",
                data=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=10,
            )
            assert answer.status_code == 202, answer.text
        with closing(sqlite3.connect(database)) as conn:
            wait_until(lambda: count(conn, "subscriptions") == n, 20, "every verification")
        before = requests.get(url + TOPIC, timeout=10).content

        edit_description(data_dir, "oor-mad-history", "Sent while the hub is killed.")
        subscriber.wait_for(lambda: gate.held >= 1, timeout=20)  # the watcher reloaded
        after = requests.get(url + TOPIC, timeout=10).content
        assert after != before
        _kill(server)  # kill -9 the whole group, sends in flight and claims held
        with closing(sqlite3.connect(database)) as conn:
            # Mid-fan-out: every POST is held at the gate, so none has been answered.
            assert count(conn, "deliveries") == n
        gate.set()

        worker = _start(["worker", "--database", str(database)], env, log)
        for i in range(n):
            subscriber.wait_for(
                lambda i=i: any(r.body == after for r in subscriber.deliveries(f"/cb/{i}")),
                timeout=30,
            )
        with closing(sqlite3.connect(database)) as conn:
            assert count(conn, "subscriptions") == n
            wait_until(lambda: count(conn, "deliveries") == 0, 20, "an empty queue")
            assert count(conn, "failures") == 0
    finally:
        if worker is not None:
            _terminate(worker)
        _kill(server)
        subscriber.stop()
    bodies = [r.body for r in subscriber.deliveries()]
    assert set(bodies) == {after}, "only the new document is sent"


def _ready(url: str) -> bool:
    try:
        return requests.get(url + "/readyz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False
