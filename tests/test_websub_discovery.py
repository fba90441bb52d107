"""WebSub §4 discovery: every feed and calendar names its hubs and itself, in the HTTP Link
headers (on 200 and 304 alike) and inside Atom, RSS and JSON Feed, in one order everywhere:
the built-in hub first, then PUBLISHER_HUBS."""

from __future__ import annotations

import json

import pytest
import requests
from lxml import etree

from publisher.config import SettingError, load_settings

BASE = "http://127.0.0.1:8000"
EXTERNAL = ("https://hub.example.org/", "https://pubsubhubbub.example.net/publish")
ATOM = "{http://www.w3.org/2005/Atom}"
TOPICS = [
    "/feeds/all.atom",
    "/feeds/all.rss",
    "/feeds/all.json",
    "/feeds/community-groups.atom",
    "/feeds/changes.atom",
    "/calendars/all.ics",
    "/calendars/groups/north-east-mad-studies-forum.ics",
]


def link_header(response: requests.Response) -> list[tuple[str, str]]:
    """(url, rel) of each Link, in order, read with requests' own Link parser."""
    raw = ", ".join(v for k, v in response.raw.headers.items() if k.lower() == "link")
    return [(link["url"], link["rel"]) for link in requests.utils.parse_header_links(raw)]


def hubs_inside(path: str, body: bytes) -> list[str]:
    if path.endswith(".json"):
        return [hub["url"] for hub in json.loads(body).get("hubs", [])]
    if path.endswith(".ics"):
        return []  # iCalendar has no place for them: the Link headers carry them
    root = etree.fromstring(body)
    links = root.iter(f"{ATOM}link")
    return [link.get("href") for link in links if link.get("rel") == "hub"]


@pytest.mark.parametrize("path", TOPICS)
def test_topics_advertise_the_hubs_and_themselves_on_200_and_304(make_app, serve, path):
    server = serve(make_app(hubs=" ".join(EXTERNAL)))
    hubs = [f"{BASE}/hub", *EXTERNAL]
    expected = [(hub, "hub") for hub in hubs] + [(BASE + path, "self")]
    full = server.get(path)
    assert full.status_code == 200
    assert link_header(full) == expected
    again = server.get(path, headers={"If-None-Match": full.headers["ETag"]})
    assert again.status_code == 304
    assert link_header(again) == expected
    if not path.endswith(".ics"):
        assert hubs_inside(path, full.content) == hubs


@pytest.mark.parametrize("path", ["/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json"])
def test_without_the_built_in_hub_only_the_configured_hubs_are_named(make_app, serve, path):
    server = serve(make_app(hub=False, hubs=EXTERNAL[0]))
    response = server.get(path)
    assert link_header(response) == [(EXTERNAL[0], "hub"), (BASE + path, "self")]
    assert hubs_inside(path, response.content) == [EXTERNAL[0]]


def test_no_hub_at_all_means_no_hub_links(make_app, serve):
    server = serve(make_app(hub=False))
    response = server.get("/feeds/all.atom")
    assert "Link" not in response.headers
    assert hubs_inside("/feeds/all.atom", response.content) == []


@pytest.mark.parametrize("path", ["/", "/groups/mad-failures/", "/feeds.opml", "/nowhere"])
def test_pages_and_the_opml_are_not_topics(server, path):
    assert "Link" not in server.get(path).headers


@pytest.mark.parametrize("value", ["ftp://hub.example.org/", "hub.example.org", "https://"])
def test_a_hub_that_is_not_a_web_address_is_refused_at_start(value):
    with pytest.raises(SettingError, match="PUBLISHER_HUBS"):
        load_settings({"hubs": value}, environ={})
