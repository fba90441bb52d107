"""The built-in WebSub hub end to end: a real subscriber on 127.0.0.1 subscribes, is
verified, and receives the new document, signed, after an edit of a data file.

The worker runs in the app with the test's clock: coalescing is off and retries wait on the
clock, which the tests move instead of sleeping. Every wait is bounded.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from urllib.parse import parse_qsl, urlencode

import pytest

from publisher.store import subscriptions
from tests.conftest import HUB_SETTINGS
from tests.subscriber import Subscriber
from tests.test_publication import edit_description

BASE = "http://127.0.0.1:8000"
TOPIC = "/feeds/community-groups.atom"
#: add_intent's limits for a subscriber on 127.0.0.1, when a test writes intents itself.
LIMITS = {"host": "127.0.0.1", "max_per_host": 10, "max_pending": 1000}


def subscribe(server, callback, topic=TOPIC, mode="subscribe", **extra):
    form = {"hub.mode": mode, "hub.callback": callback, "hub.topic": BASE + topic, **extra}
    return server.post(
        "/hub",
        data=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def subscribed(server) -> list[tuple[str, str]]:
    conn = server.publisher.conn
    return [(row["callback"], row["topic"]) for row in subscriptions.listing(conn)]


def failures_recorded(server) -> int:
    """Attempts of the queued delivery once its failure is written (0 before, or if none)."""
    row = server.publisher.conn.execute(
        "SELECT attempts FROM deliveries WHERE last_error IS NOT NULL AND claimed_until IS NULL"
    ).fetchone()
    return row[0] if row else 0


def waiting_retries(server) -> int:
    """Queued deliveries whose failure is recorded and that wait for their retry."""
    return server.publisher.conn.execute(
        "SELECT COUNT(*) FROM deliveries WHERE last_error IS NOT NULL AND claimed_until IS NULL"
    ).fetchone()[0]


def edit(server, text="A new description, for the hub tests."):
    edit_description(server.app.extensions["publisher"].data, "oor-mad-history", text)
    server.publisher.reload()


def test_subscribe_verify_and_receive_the_new_document_signed(hub, subscriber):
    callback = subscriber.callback()
    answer = subscribe(hub, callback, **{"hub.secret": "s3cret", "hub.lease_seconds": "3600"})
    assert answer.status_code == 202
    subscriber.wait_for(lambda: subscriber.verifications())
    check = subscriber.verifications()[0].query
    assert check["hub.mode"] == "subscribe"
    assert check["hub.topic"] == BASE + TOPIC
    assert check["hub.lease_seconds"] == "3600"
    assert len(check["hub.challenge"]) >= 32
    subscriber.wait_for(lambda: subscribed(hub) == [(callback, TOPIC)])

    edit(hub)
    subscriber.wait_for(lambda: subscriber.deliveries())
    [delivery] = subscriber.deliveries()
    topic = hub.get(TOPIC)
    assert delivery.body == topic.content  # byte-identical to a GET at that moment
    assert delivery.headers["content-type"] == [topic.headers["Content-Type"]]
    links = delivery.headers["link"]
    assert f'<{BASE}/hub>; rel="hub"' in links
    assert f'<{BASE}{TOPIC}>; rel="self"' in links
    expected = hmac.new(b"s3cret", delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["x-hub-signature"] == [f"sha256={expected}"]


def test_no_delivery_for_a_topic_not_subscribed_to(hub, subscriber):
    subscribe(hub, subscriber.callback(), topic="/feeds/facebook-groups.atom")
    subscriber.wait_for(lambda: len(subscribed(hub)) == 1)
    edit(hub)  # a community group: facebook-groups documents do not change
    other = Subscriber().start()
    try:
        subscribe(hub, other.callback(), topic=TOPIC)
        other.wait_for(lambda: len(subscribed(hub)) == 2)
        edit(hub, "Edited again.")
        other.wait_for(lambda: other.deliveries())
        assert subscriber.deliveries() == []
    finally:
        other.stop()


def test_a_wrong_challenge_answer_leaves_no_subscription(hub, subscriber):
    subscriber.verify = lambda query: (200, b"not the challenge")
    assert subscribe(hub, subscriber.callback()).status_code == 202
    subscriber.wait_for(lambda: subscriber.verifications())
    conn = hub.publisher.conn
    subscriber.wait_for(lambda: conn.execute("SELECT COUNT(*) FROM intents").fetchone()[0] == 0)
    assert subscribed(hub) == []


def test_the_callbacks_own_query_is_kept(hub, subscriber):
    callback = subscriber.callback("/cb") + "?user=7&list=a%20b"
    subscribe(hub, callback)
    subscriber.wait_for(lambda: subscriber.verifications())
    query = subscriber.verifications()[0].query
    assert query["user"] == "7" and query["list"] == "a b" and "hub.challenge" in query
    subscriber.wait_for(lambda: subscribed(hub) == [(callback, TOPIC)])


def test_a_failing_subscriber_is_retried_then_served(hub, subscriber, clock):
    subscriber.statuses = [500, 503]
    subscribe(hub, subscriber.callback())
    subscriber.wait_for(lambda: subscribed(hub))
    edit(hub)
    subscriber.wait_for(lambda: failures_recorded(hub) == 1)
    clock.advance(minutes=2)  # past the first backoff (at most 60 s here)
    subscriber.wait_for(lambda: failures_recorded(hub) == 2)
    clock.advance(minutes=2)
    conn = hub.publisher.conn
    subscriber.wait_for(lambda: conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0)
    assert len(subscriber.deliveries()) == 3
    assert {r.body for r in subscriber.deliveries()} == {hub.get(TOPIC).content}


def test_a_redirect_is_a_failure_and_is_not_followed(hub, subscriber, clock):
    subscriber.statuses = [302]
    subscribe(hub, subscriber.callback())
    subscriber.wait_for(lambda: subscribed(hub))
    edit(hub)
    subscriber.wait_for(lambda: failures_recorded(hub) == 1)
    error = hub.publisher.conn.execute("SELECT last_error FROM deliveries").fetchone()[0]
    assert error == "HTTP 302"
    assert subscriber.deliveries("/elsewhere") == []
    clock.advance(minutes=2)
    subscriber.wait_for(lambda: len(subscriber.deliveries()) == 2)
    assert subscriber.deliveries("/elsewhere") == []


def test_gone_ends_the_subscription(hub, subscriber):
    subscriber.statuses = [410]
    subscribe(hub, subscriber.callback())
    subscriber.wait_for(lambda: subscribed(hub))
    edit(hub)
    subscriber.wait_for(lambda: subscriber.deliveries())
    subscriber.wait_for(lambda: subscribed(hub) == [])


def test_unsubscribe_is_verified_and_ends_deliveries(hub, subscriber):
    callback = subscriber.callback()
    subscribe(hub, callback)
    subscriber.wait_for(lambda: subscribed(hub))
    assert subscribe(hub, callback, mode="unsubscribe").status_code == 202
    subscriber.wait_for(lambda: subscribed(hub) == [])
    last = subscriber.verifications()[-1].query
    assert last["hub.mode"] == "unsubscribe" and "hub.lease_seconds" not in last
    edit(hub)
    hub.publisher.reload()
    assert subscriber.deliveries() == []


def test_subscribing_again_renews_without_a_second_subscription(hub, subscriber):
    callback = subscriber.callback()
    subscribe(hub, callback, **{"hub.lease_seconds": "3600", "hub.secret": "one"})
    subscriber.wait_for(lambda: subscribed(hub))
    subscribe(hub, callback, **{"hub.lease_seconds": "7200", "hub.secret": "two"})
    subscriber.wait_for(lambda: len(subscriber.verifications()) == 2)
    conn = hub.publisher.conn
    subscriber.wait_for(
        lambda: (
            [tuple(r) for r in conn.execute("SELECT lease_seconds, secret FROM subscriptions")]
            == [(7200, "two")]
        )
    )


def test_a_lease_that_runs_out_ends_the_subscription(hub, subscriber, clock):
    subscribe(hub, subscriber.callback(), **{"hub.lease_seconds": "60"})
    subscriber.wait_for(lambda: subscribed(hub))
    clock.advance(seconds=61)
    edit(hub)
    subscriber.wait_for(lambda: subscribed(hub) == [])
    assert subscriber.deliveries() == []


@pytest.mark.parametrize(
    ("form", "status", "names"),
    [
        ({"hub.callback": "http://127.0.0.1:9/", "hub.topic": BASE + TOPIC}, 400, "hub.mode"),
        (
            {"hub.mode": "publish", "hub.callback": "http://x.example/", "hub.topic": BASE + TOPIC},
            400,
            "hub.mode",
        ),
        ({"hub.mode": "subscribe", "hub.topic": BASE + TOPIC}, 400, "hub.callback"),
        (
            {
                "hub.mode": "subscribe",
                "hub.callback": "ftp://x.example/",
                "hub.topic": BASE + TOPIC,
            },
            400,
            "hub.callback",
        ),
        ({"hub.mode": "subscribe", "hub.callback": "http://x.example/"}, 400, "hub.topic"),
        (
            {
                "hub.mode": "subscribe",
                "hub.callback": "http://x.example/",
                "hub.topic": "https://elsewhere.example/feed",
            },
            404,
            "hub.topic",
        ),
        (
            {"hub.mode": "subscribe", "hub.callback": "http://x.example/", "hub.topic": BASE + "/"},
            404,
            "hub.topic",
        ),
        (
            {
                "hub.mode": "subscribe",
                "hub.callback": "http://x.example/",
                "hub.topic": BASE + TOPIC,
                "hub.secret": "x" * 200,
            },
            400,
            "hub.secret",
        ),
        (
            {
                "hub.mode": "subscribe",
                "hub.callback": "http://x.example/",
                "hub.topic": BASE + TOPIC,
                "hub.lease_seconds": "ten",
            },
            400,
            "hub.lease_seconds",
        ),
        (
            {
                "hub.mode": "subscribe",
                "hub.callback": "http://x.example/",
                "hub.topic": BASE + TOPIC,
                "hub.lease_seconds": "-5",
            },
            400,
            "hub.lease_seconds",
        ),
    ],
)
def test_a_bad_request_gets_a_plain_reason_naming_the_parameter(hub, form, status, names):
    answer = hub.post(
        "/hub", data=urlencode(form), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == status
    assert names in answer.text
    assert answer.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "callback",
    [
        "http://127.0.0.1:9/cb",
        "http://10.0.0.7/cb",
        "http://[::1]/cb",
        "http://169.254.169.254/",
        "http://[::ffff:192.168.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ],
)
def test_private_callbacks_are_refused_by_default(make_app, serve, callback):
    server = serve(make_app())
    answer = subscribe(server, callback)
    assert answer.status_code == 400
    assert "hub.callback" in answer.text and "private" in answer.text


def test_the_hub_page_says_what_it_is(hub):
    page = hub.get("/hub")
    assert page.status_code == 200
    assert "WebSub hub" in page.text and "hub.callback" in page.text


def test_without_the_built_in_hub_there_is_no_hub(make_app, serve):
    server = serve(make_app(hub=False))
    assert server.get("/hub").status_code == 404
    assert subscribe(server, "http://x.example/").status_code == 404


def test_external_hubs_get_one_ping_per_changed_topic(make_app, serve, subscriber):
    """§6: hub.mode=publish with hub.url=<topic>, for each topic the change touched."""
    fake_hub = subscriber.callback("/publish")
    server = serve(make_app(**HUB_SETTINGS, hub=False, hubs=fake_hub))
    edit(server)
    # A description edit changes these documents' bytes, and no calendar's.
    expected = {
        f"{BASE}/feeds/{name}.{fmt}"
        for name in ("all", "community-groups")
        for fmt in ("atom", "rss", "json")
    } | {f"{BASE}/feeds/changes.atom"}
    subscriber.wait_for(lambda: len(subscriber.deliveries("/publish")) >= 7)
    pings = subscriber.deliveries("/publish")
    forms = [dict(parse_qsl(p.body.decode())) for p in pings]
    assert all(f["hub.mode"] == "publish" for f in forms)
    assert all(p.headers["content-type"] == ["application/x-www-form-urlencoded"] for p in pings)
    urls = [f["hub.url"] for f in forms]
    assert len(urls) == len(set(urls))  # one ping per topic
    assert set(urls) == expected


def test_a_name_that_resolves_to_a_private_address_is_refused_when_called(make_app, serve):
    """The check is on the address connected to, not the name: 'localhost' passes the
    request's check (it is a name), then resolves to 127.0.0.1 and is never called."""
    found = Subscriber().start()
    try:
        port = found.url.rsplit(":", 1)[1]
        server = serve(make_app(**{**HUB_SETTINGS, "hub_allow_private_callbacks": False}))
        assert subscribe(server, f"http://localhost:{port}/callback").status_code == 202
        conn = server.publisher.conn
        found.wait_for(lambda: conn.execute("SELECT COUNT(*) FROM intents").fetchone()[0] == 0)
        assert found.received == [] and subscribed(server) == []
    finally:
        found.stop()


def test_a_subscriber_that_does_not_answer_in_time_is_a_failure(make_app, serve, clock):
    gate = threading.Event()
    slow = Subscriber().start()
    try:
        server = serve(make_app(**{**HUB_SETTINGS, "hub_timeout": 0.5}))
        subscribe(server, slow.callback())
        slow.wait_for(lambda: subscribed(server))
        slow.gate = gate  # every POST now waits longer than the hub does
        edit(server)
        slow.wait_for(lambda: failures_recorded(server) == 1)
        error = server.publisher.conn.execute("SELECT last_error FROM deliveries").fetchone()[0]
        assert "Timeout" in error
        gate.set()
        slow.gate = None
        clock.advance(minutes=2)
        slow.wait_for(lambda: failures_recorded(server) == 0 and len(slow.deliveries()) >= 2)
    finally:
        gate.set()
        slow.stop()


def test_the_cli_retries_drops_and_ends(make_app, serve, subscriber, database):
    """publisher hub deliveries | retry | drop | end act on one row by its number."""
    import subprocess
    import sys

    server = serve(make_app(**{**HUB_SETTINGS, "worker": False}))
    conn = server.publisher.conn
    now = server.publisher.clock()
    subscriptions.add_intent(
        conn, "subscribe", subscriber.callback(), TOPIC, "s3cret", 60, now, **LIMITS
    )
    [intent] = subscriptions.claim_intents(conn, now, now, 1)
    subscriptions.confirmed(conn, intent, now)
    edit(server)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "publisher.cli", "hub", *args, "--database", str(database)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    [row] = conn.execute("SELECT id FROM deliveries").fetchall()
    listed = cli("deliveries")
    assert listed.returncode == 0 and subscriber.callback() in listed.stdout
    assert "s3cret" not in listed.stdout + listed.stderr
    assert cli("retry", str(row["id"])).returncode == 0
    assert cli("drop", str(row["id"])).returncode == 0
    assert conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0
    assert cli("drop", str(row["id"])).returncode == 1  # gone: says so, exits 1
    [sub] = subscriptions.listing(conn)
    assert cli("end", str(sub["id"])).returncode == 0
    assert subscribed(server) == []
