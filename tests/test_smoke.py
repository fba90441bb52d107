"""The bundled directory is served: every URL of the README answers."""

import pytest

from publisher.directory.validate import load_directory
from tests.conftest import DATA

CATEGORIES = [c.slug for c in load_directory(DATA).categories]
GROUPS = [g.slug for g in load_directory(DATA).groups]


def test_bundled_directory_has_13_groups_in_4_categories():
    directory = load_directory(DATA)
    assert len(directory.groups) == 13
    assert [c.name for c in directory.categories] == [
        "Facebook Groups",
        "Reading/Teaching/Learning groups",
        "Community Groups",
        "National and International groups",
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/subscribe/",
        "/feeds.opml",
        "/feeds/changes.atom",
        *[f"/feeds/all.{fmt}" for fmt in ("atom", "rss", "json")],
        *[f"/feeds/{c}.{fmt}" for c in CATEGORIES for fmt in ("atom", "rss", "json")],
        *[f"/categories/{c}/" for c in CATEGORIES],
        *[f"/subscribe/{c}/" for c in CATEGORIES],
        *[f"/groups/{g}/" for g in GROUPS],
        "/healthz",
        "/readyz",
        "/static/style.css",
    ],
)
def test_every_published_url_answers_200(server, path):
    assert server.get(path).status_code == 200


def test_unknown_url_gets_a_plain_404_page(server):
    response = server.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
