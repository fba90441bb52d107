"""Regressions of the hub, each named after the bug a review found and pinned here."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from publisher.config import load_settings
from publisher.hub import client
from publisher.hub.params import non_public
from publisher.hub.worker import Worker
from publisher.store import deliveries, subscriptions
from publisher.store.db import connect
from tests.conftest import HUB_SETTINGS
from tests.test_hub import LIMITS, TOPIC, edit, subscribe, subscribed

NOW = datetime(2026, 1, 13, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "callback",
    ["http://１２７.０.０.１:9/cb", "http://127。0。0。1:9/cb", "http://127.0.0.①:9/cb"],
)
def test_unicode_digits_in_the_host_reached_loopback(make_app, serve, callback):
    """yarl reads '１２７.０.０.１' as 127.0.0.1 and aiohttp dialled it without asking the
    resolver, past a check that saw no IP literal: such hosts are now refused outright."""
    server = serve(make_app())
    answer = subscribe(server, callback)
    assert answer.status_code == 400 and "ASCII" in answer.text


@pytest.mark.parametrize(
    "address",
    ["::7f00:1", "2002:7f00:1::", "64:ff9b::a00:1", "::ffff:0:7f00:1", "fec0::1", "::1"],
)
def test_ipv4_inside_ipv6_counted_as_public(address):
    """Python's is_global passes these; each one leads to a private or local address."""
    assert non_public(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "1.1.1.1"])
def test_public_addresses_stay_public(address):
    assert not non_public(address)


def test_one_callback_aiohttp_cannot_call_stalled_every_delivery(hub, subscriber):
    """An IDNA error is a ValueError, not a network failure: it escaped the round, which
    recorded nothing, so every delivery claimed with it was reclaimed forever."""
    callback = subscriber.callback()
    subscribe(hub, callback)
    subscriber.wait_for(lambda: subscribed(hub))
    conn = hub.publisher.conn
    with conn:  # a bad row as an older publisher or a hand edit could leave it
        conn.execute(
            "INSERT INTO payloads (hash, content_type, body) VALUES ('x', 'text/plain', x'78')"
        )
        conn.execute(
            "INSERT INTO deliveries (key, url, payload, headers, created, due)"
            " VALUES ('bad', 'http://a..b/cb', 'x', '[]', ?, ?)",
            ("2026-01-13T12:00:00.000000Z", "2026-01-13T12:00:00.000000Z"),
        )
    edit(hub)
    subscriber.wait_for(lambda: subscriber.deliveries())
    subscriber.wait_for(lambda: conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0)
    [failure] = conn.execute("SELECT key, error FROM failures").fetchall()
    assert failure["key"] == "bad"


def test_a_reused_row_id_let_a_late_record_delete_another_delivery(tmp_path):
    """Ids are reused once a row is gone: recording a send by (id, version) deleted the
    new row that had taken the id. Records now match the claim token too."""
    conn = connect(tmp_path / "db.sqlite3", migrate=True)
    item = deliveries.Outgoing("first", "http://hub.example/", "text/plain", b"one")
    with conn:
        deliveries.enqueue(conn, [item], NOW)
    [claimed] = deliveries.claim(conn, NOW, NOW + timedelta(seconds=60), 10)
    deliveries.drop(conn, claimed.id)  # an operator drops it while it is in flight
    other = deliveries.Outgoing("second", "http://other.example/", "text/plain", b"two")
    with conn:
        deliveries.enqueue(conn, [other], NOW)
    [row] = conn.execute("SELECT id, key, version FROM deliveries").fetchall()
    assert (row["id"], row["version"]) == (claimed.id, claimed.version)  # the same id
    deliveries.record(conn, [deliveries.Outcome(claimed, ok=True)], NOW)
    assert [r["key"] for r in conn.execute("SELECT key FROM deliveries")] == ["second"]
    conn.close()


def test_a_claim_held_longer_than_its_lease_was_sent_twice_at_once(tmp_path):
    """A round claimed 16 waves of sends of up to HUB_TIMEOUT each within a 60 s lease:
    the lease could run out mid-round and another worker send the same rows. A round
    now claims only what fits in half the lease."""
    settings = load_settings(
        {"database": str(tmp_path / "db"), "worker_lease": 60.0, "hub_timeout": 10.0}
    )
    worker = Worker(settings, lambda: NOW)
    waves = worker.batch / settings.worker_concurrency
    assert waves * settings.hub_timeout <= settings.worker_lease / 2


def test_the_callbacks_query_was_re_encoded(hub, subscriber):
    """§5.3 keeps the callback's own query: yarl re-encoded %2F as / and %7E as ~."""
    callback = subscriber.callback("/cb") + "?token=a%2Fb%7Ec"
    subscribe(hub, callback)
    subscriber.wait_for(lambda: subscriber.verifications())
    assert subscriber.verifications()[0].target.startswith("/cb?token=a%2Fb%7Ec&hub.mode=")


def test_a_renewed_secret_came_after_a_send_claimed_in_the_same_round(
    make_app, serve, subscriber, clock
):
    """One round verified a renewal and sent the queued deliveries, which it had read with
    the old secret: intents are now verified and recorded before deliveries are claimed."""
    server = serve(make_app(**{**HUB_SETTINGS, "worker": False}))
    conn = server.publisher.conn
    callback = subscriber.callback()
    subscriptions.add_intent(conn, "subscribe", callback, TOPIC, "old", 3600, clock(), **LIMITS)
    run_one_round(server, clock)
    assert subscribed(server) == [(callback, TOPIC)]
    subscriptions.add_intent(conn, "subscribe", callback, TOPIC, "new", 3600, clock(), **LIMITS)
    edit(server)  # queues a delivery signed with the secret known then: "old"
    run_one_round(server, clock)
    [delivery] = subscriber.deliveries()
    expected = hmac.new(b"new", delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["x-hub-signature"] == [f"sha256={expected}"]


def run_one_round(server, clock) -> None:  # noqa: ANN001
    """One round of a worker on the server's database, in this thread."""
    settings = server.publisher.settings

    async def once() -> None:
        conn = connect(settings.database)
        try:
            async with client.session(True, 5, 4) as http:
                await Worker(settings, clock).round(conn, http)
        finally:
            conn.close()

    asyncio.run(once())


def test_every_subscription_request_ran_the_migrations(make_app, serve, monkeypatch):
    """POST /hub opened a connection of its own and migrated the database each time (and so
    did the worker at its start): migrations now run once, when the app starts, and a
    request borrows a connection that stays open for the next one."""
    from publisher.store import migrations

    runs, real = [], migrations.migrate

    def counted(conn):  # noqa: ANN001, ANN202 - the real migrations, counted
        runs.append(conn)
        return real(conn)

    monkeypatch.setattr(migrations, "migrate", counted)
    server = serve(make_app(**HUB_SETTINGS))
    assert len(runs) == 1, "the app's start migrates once"
    for n in range(3):
        assert subscribe(server, f"http://s{n}.example/cb").status_code == 202
    assert len(runs) == 1, "a request migrates nothing"
