"""Pings to external hubs (PUBLISHER_HUBS, hub.mode=publish), which requests sends one at a
time (publisher/hub/oneoff.py) under the hub's rules: public addresses only, checked on the
address connected to; no redirects; one deadline for the whole call.

A real hub stand-in listens on 127.0.0.1, as in tests/test_hub.py; the worker runs in the
app on the test's clock, and every wait is bounded.
"""

from __future__ import annotations

import socket
import threading

import pytest

from tests.conftest import HUB_SETTINGS
from tests.test_hub import edit
from tests.test_hub_durable import wait_until

#: A description edit touches these seven topics: seven pings.
TOPICS = 7


def ping_errors(server) -> list[str]:  # noqa: ANN001
    """The recorded failure of each ping waiting for its retry."""
    rows = server.publisher.conn.execute(
        "SELECT last_error FROM deliveries WHERE key LIKE 'ping:%' AND last_error IS NOT NULL"
        " AND claimed_until IS NULL"
    )
    return [row[0] for row in rows]


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_ping_to_a_hub_whose_name_resolves_to_a_private_address_is_refused(
    make_app, serve, subscriber, allow_private
):
    """'localhost' is a name, so nothing refuses it before the call; it resolves to
    127.0.0.1, which the connection's check refuses unless private addresses are allowed."""
    port = subscriber.url.rsplit(":", 1)[1]
    settings = {**HUB_SETTINGS, "hub_allow_private_callbacks": allow_private}
    server = serve(make_app(**settings, hub=False, hubs=f"http://localhost:{port}/publish"))
    edit(server)
    if allow_private:
        subscriber.wait_for(lambda: len(subscriber.deliveries("/publish")) == TOPICS)
        return
    subscriber.wait_for(lambda: len(ping_errors(server)) == TOPICS)
    assert subscriber.received == []
    assert all("localhost is at 127.0.0.1, not a public address" in e for e in ping_errors(server))


def test_a_hub_that_redirects_a_ping_is_not_followed(make_app, serve, subscriber):
    subscriber.statuses = [302] * TOPICS
    server = serve(make_app(**HUB_SETTINGS, hub=False, hubs=subscriber.callback("/publish")))
    edit(server)
    subscriber.wait_for(lambda: len(ping_errors(server)) == TOPICS)
    assert ping_errors(server) == ["HTTP 302"] * TOPICS
    assert {r.path for r in subscriber.received} == {"/publish"}


class DrippingHub:
    """Answers each request a byte at a time, a byte every ``pace`` seconds: each read is
    quick, the whole answer never comes. At most ``limit`` bytes per connection."""

    def __init__(self, pace: float = 0.05, limit: int = 400) -> None:
        self.pace, self.limit = pace, limit
        self.stop = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/publish"
        self.answer = b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"." * limit + b"\r\n\r\n"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.server.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in self.answer[: self.limit]:
                if self.stop.wait(self.pace):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:  # the hub gave up: what the test expects
                    return

    def close(self) -> None:
        self.stop.set()
        self.server.close()


def test_a_hub_that_drips_its_answer_is_given_up_at_the_deadline(make_app, serve):
    """requests' timeout bounds each read, and a byte every 0.05 s never trips it: the
    call's own deadline (HUB_TIMEOUT) ends it, as aiohttp's total timeout does."""
    dripping = DrippingHub()
    try:
        settings = {**HUB_SETTINGS, "hub_timeout": 0.5}
        server = serve(make_app(**settings, hub=False, hubs=dripping.url))
        edit(server)
        wait_until(lambda: len(ping_errors(server)) == TOPICS, 15, "seven failed pings")
        assert all(
            e.startswith("TimeoutError: no whole answer within 0.5 s") for e in ping_errors(server)
        )
    finally:
        dripping.close()
