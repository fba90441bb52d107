"""Regressions of a flood of POST /hub requests on loopback.

One client sent 1,000 subscription requests, each with another spelling of an unreachable
callback (``http://0177.0.X.Y/…``): retried as they were, they filled the hub's cap on
pending requests, and every other subscriber got 429 for 16 s. The per-host cap counted
host strings, so spellings of one address counted apart; each refused request rebuilt the
set of topics.

Requests come from chosen loopback addresses (127.0.0.2, …) so the hub sees distinct
clients; the worker is off where the test needs intents to stay pending (the worst case:
callbacks that never answer).
"""

from __future__ import annotations

import http.client
import socket
import time
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import HUB_SETTINGS
from tests.test_hub import BASE, TOPIC, subscribe, subscribed

FORM = "application/x-www-form-urlencoded"


def post_from(source: str, server, callback: str, topic: str = TOPIC) -> tuple[int, str]:  # noqa: ANN001
    """POST a subscription request to ``server`` from the loopback address ``source``."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=10, source_address=(source, 0)
    )
    form = {"hub.mode": "subscribe", "hub.callback": callback, "hub.topic": BASE + topic}
    try:
        conn.request("POST", "/hub", body=urlencode(form), headers={"Content-Type": FORM})
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def pending(server) -> int:  # noqa: ANN001
    return server.publisher.conn.execute("SELECT COUNT(*) FROM intents").fetchone()[0]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- one address, many spellings -------------------------------------------------------


def test_octal_spellings_of_one_address_share_the_per_host_cap(make_app, serve):
    server = serve(make_app(**HUB_SETTINGS, worker=False, hub_max_pending_per_host=3))
    for callback in ("http://127.0.0.1:9/a", "http://0177.0.0.1:9/b", "http://0177.00.0.1.:9/c"):
        assert subscribe(server, callback).status_code == 202, callback
    for callback in ("http://0x7f.1:9/d", "http://127.1:9/e", "http://2130706433:9/f"):
        answer = subscribe(server, callback)
        assert answer.status_code == 429, (callback, answer.text)
    assert subscribe(server, "http://127.0.0.2:9/g").status_code == 202  # another address


@pytest.mark.parametrize(
    "callback",
    [
        "http://0177.0.0.1/cb",
        "http://0177.00.0.1./cb",
        "http://127.1/cb",
        "http://0x7f.0.0.1/cb",
        "http://2130706433/cb",
        "http://127.0.0.1./cb",
        "http://012.1/cb",  # 10.0.0.1
        "http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/",  # 169.254.169.254
        "http://0/cb",  # 0.0.0.0
    ],
)
def test_numeric_spellings_of_a_private_address_were_accepted(make_app, serve, callback):
    """They are what the C resolver reads them as, so they are refused at once, like
    127.0.0.1 itself, instead of queued for the worker to find out."""
    server = serve(make_app())
    answer = subscribe(server, callback)
    assert answer.status_code == 400, answer.text
    assert "private" in answer.text
    assert pending(server) == 0


# Hosts the URL check lets through that look like numbers: digits, hex letters, x and dots.
numeric_looking = st.text(alphabet="0123456789abcdefx.", min_size=1, max_size=24)


@settings(max_examples=400, deadline=None, database=None)
@given(host=st.one_of(numeric_looking, st.sampled_from(["0x7f.1", "1.0x10000", "4294967296"])))
def test_numeric_hosts_are_read_as_the_c_library_reads_them(host):
    """socket.inet_aton is the C library's own reader (getaddrinfo's, for IPv4); one
    trailing dot, an absolute name, stands for the same address."""
    from publisher.hub.params import numeric_address

    try:
        expected = socket.inet_ntoa(socket.inet_aton(host.removesuffix(".")))
    except OSError:
        expected = None
    assert numeric_address(host) == expected


# -- many requests from one client ------------------------------------------------------

FLOOD = 1000
FLOOD_SECONDS = 120


def test_a_flood_from_one_client_does_not_refuse_another(make_app, serve):
    """1,000 requests from 127.0.0.1, each for another spelling of another loopback
    address, then one from 127.0.0.2: it is accepted at once. The flood gets 429 once the
    client's own share is waiting."""
    server = serve(make_app(**HUB_SETTINGS, worker=False))
    statuses: dict[int, int] = {}
    started = time.monotonic()
    for n in range(FLOOD):
        assert time.monotonic() - started < FLOOD_SECONDS, statuses
        callback = f"http://0177.0.{n // 250}.{n % 250 + 1}:9/cb/{n}"
        status, _ = post_from("127.0.0.1", server, callback)
        statuses[status] = statuses.get(status, 0) + 1
    status, text = post_from("127.0.0.2", server, "http://127.0.0.9:9/cb")
    assert status == 202, (text, statuses)
    share = server.publisher.settings.hub_max_pending_per_client
    assert statuses == {202: share, 429: FLOOD - share}


def test_clients_that_fill_the_hub_together_do_not_refuse_a_newcomer(make_app, serve):
    """All clients together hold HUB_MAX_PENDING: a client with nothing waiting still gets
    in, in place of the newest request of the client holding the most."""
    server = serve(
        make_app(**HUB_SETTINGS, worker=False, hub_max_pending_per_client=5, hub_max_pending=12)
    )
    for n, client in enumerate(["127.0.0.2"] * 4 + ["127.0.0.3"] * 5 + ["127.0.0.4"] * 3):
        assert post_from(client, server, f"http://127.0.1.{n}:9/cb")[0] == 202
    assert pending(server) == 12
    status, text = post_from("127.0.0.5", server, "http://127.0.2.1:9/cb")
    assert status == 202, text
    callbacks = {row[0] for row in server.publisher.conn.execute("SELECT callback FROM intents")}
    assert len(callbacks) == 12
    assert "http://127.0.1.8:9/cb" not in callbacks  # the newest of 127.0.0.3's five
    # 127.0.0.4 holds 3, the others at most 4: taking one would only move the unfairness.
    status, text = post_from("127.0.0.4", server, "http://127.0.2.2:9/cb")
    assert status == 429 and "all" in text, text
    assert pending(server) == 12


def test_the_client_address_is_kept_out_of_the_database(make_app, serve, database):
    server = serve(make_app(**HUB_SETTINGS, worker=False))
    assert post_from("127.0.0.77", server, "http://127.0.0.9:9/cb")[0] == 202
    dump = "\n".join(server.publisher.conn.iterdump())
    assert "127.0.0.9" in dump and "127.0.0.77" not in dump


# -- verification of unreachable callbacks ----------------------------------------------


def test_unreachable_callback_is_dropped_not_retried(hub, subscriber):
    """Nothing listens on the callback's port: the intent was retried after HUB_BACKOFF
    (twice), holding its place among the pending requests. It is dropped at once now."""
    callback = f"http://127.0.0.1:{closed_port()}/cb"
    assert subscribe(hub, callback).status_code == 202
    subscriber.wait_for(lambda: pending(hub) == 0)  # the test's clock never moves
    assert subscribed(hub) == []


# -- the cost of a refused request -------------------------------------------------------


class CountingWalks(dict):
    """The served publication as it is, counting the walks over all of it."""

    walks = 0

    def items(self):  # noqa: ANN201
        CountingWalks.walks += 1
        return super().items()

    def __iter__(self):  # noqa: ANN204
        CountingWalks.walks += 1
        return super().__iter__()

    def values(self):  # noqa: ANN201
        CountingWalks.walks += 1
        return super().values()


def test_hub_request_does_not_rebuild_the_topic_set(make_app, serve):
    """Each POST /hub walked the whole publication to find the topics: 42 ms at 112,000
    documents, so a flood of refused requests starved the readers."""
    server = serve(make_app(**HUB_SETTINGS, worker=False))
    current = server.publisher.current
    current.show(CountingWalks(current.documents), current.shown.generation, current.due)
    CountingWalks.walks = 0
    refused = subscribe(server, "http://127.0.0.9:9/cb", topic="/feeds/none.atom")
    accepted = subscribe(server, "http://127.0.0.9:9/cb")
    assert (refused.status_code, accepted.status_code) == (404, 202)
    assert CountingWalks.walks == 0


def post_forwarded(server, forwarded_for: str, callback: str) -> int:  # noqa: ANN001
    form = {"hub.mode": "subscribe", "hub.callback": callback, "hub.topic": BASE + TOPIC}
    return server.post("/hub", data=form, headers={"X-Forwarded-For": forwarded_for}).status_code


def test_behind_a_proxy_each_forwarded_client_has_its_own_room(make_app, serve):
    """Behind nginx every request comes from 127.0.0.1: one client's flood took the room of
    every other. With PUBLISHER_PROXIES=1 the client is the address the proxy forwarded."""
    server = serve(make_app(**HUB_SETTINGS, worker=False, proxies=1))
    share = server.publisher.settings.hub_max_pending_per_client
    flood = [post_forwarded(server, "203.0.113.5", f"http://127.0.0.2:9/{n}") for n in range(30)]
    assert flood.count(202) == share and flood.count(429) == 30 - share
    assert post_forwarded(server, "203.0.113.6", "http://127.0.0.3:9/cb") == 202


def test_without_proxies_a_forwarded_address_is_ignored(make_app, serve):
    """With no proxy declared, X-Forwarded-For is the client's own words: a flooder that
    writes a new address in each request still has one room."""
    server = serve(make_app(**HUB_SETTINGS, worker=False))
    share = server.publisher.settings.hub_max_pending_per_client
    flood = [post_forwarded(server, f"203.0.113.{n}", f"http://127.0.0.2:9/{n}") for n in range(30)]
    assert flood.count(202) == share


def test_many_clients_holding_one_request_each_do_not_refuse_a_newcomer(make_app, serve):
    """A thousand addresses each holding one request whose callback never answers kept the
    hub full: a newcomer was refused for as long as the callbacks took to time out (540 s
    in the attack), since no client held two more than it."""
    server = serve(make_app(**HUB_SETTINGS, worker=False, hub_max_pending=10))
    for n in range(10):
        assert post_from(f"127.0.0.{n + 2}", server, f"http://127.0.1.{n}:9/cb")[0] == 202
    status, text = post_from("127.0.0.20", server, "http://127.0.2.1:9/cb")
    assert status == 202, text
    assert pending(server) == 10
    # Its second request waits its turn: taking another's place would only move the unfairness.
    status, text = post_from("127.0.0.20", server, "http://127.0.2.2:9/cb")
    assert status == 429, text
