"""WebSub discovery (W3C WebSub §4): the Link headers a topic is served and delivered with."""

from __future__ import annotations

from publisher.model.publication import Publication


def links(pub: Publication, hubs: tuple[str, ...], base: str) -> list[tuple[str, str]]:
    """A Link rel="hub" for each hub, in the order the documents list them, and one
    rel="self" with the topic's URL."""
    return [("Link", f'<{hub}>; rel="hub"') for hub in hubs] + [
        ("Link", f'<{base}{pub.path}>; rel="self"')
    ]
