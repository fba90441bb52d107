"""Regressions of a flood of POST /hub requests on loopback.

Each refused request rebuilt the set of topics from the whole publication.
"""

from __future__ import annotations

from tests.conftest import HUB_SETTINGS
from tests.test_hub import subscribe

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
