"""Regressions of a flood of POST /hub requests on loopback.

Each refused request rebuilt the set of topics from the whole publication, and a callback
that could not be connected to held its place among the pending requests while retried.
"""

from __future__ import annotations

import socket

from tests.conftest import HUB_SETTINGS
from tests.test_hub import subscribe, subscribed


def pending(server) -> int:  # noqa: ANN001
    return server.publisher.conn.execute("SELECT COUNT(*) FROM intents").fetchone()[0]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    publisher = server.publisher
    publisher.current = CountingWalks(publisher.current)
    CountingWalks.walks = 0
    refused = subscribe(server, "http://127.0.0.9:9/cb", topic="/feeds/none.atom")
    accepted = subscribe(server, "http://127.0.0.9:9/cb")
    assert (refused.status_code, accepted.status_code) == (404, 202)
    assert CountingWalks.walks == 0
