"""Publications served right: media types, ETag, 304, HEAD, caching, CORS (RFC 9110)."""

from email.utils import format_datetime, parsedate_to_datetime

import pytest

FEEDS = {
    "/feeds/all.atom": "application/atom+xml; charset=utf-8",
    "/feeds/all.rss": "application/rss+xml; charset=utf-8",
    "/feeds/all.json": "application/feed+json; charset=utf-8",
    "/feeds/changes.atom": "application/atom+xml; charset=utf-8",
    "/feeds.opml": "text/x-opml; charset=utf-8",
}
PAGES = ["/", "/categories/community-groups/", "/groups/oor-mad-history/", "/subscribe/"]


@pytest.mark.parametrize(("path", "media_type"), FEEDS.items())
def test_feed_media_type_cors_and_cache(server, path, media_type):
    response = server.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == media_type
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["ETag"].startswith('"') and response.headers["ETag"].endswith('"')


@pytest.mark.parametrize("path", [*FEEDS, *PAGES])
def test_if_none_match_gives_304_with_cors_and_no_body(server, path):
    first = server.get(path)
    again = server.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers.get("Access-Control-Allow-Origin") == first.headers.get(
        "Access-Control-Allow-Origin"
    )


def test_if_none_match_list_and_weak_tag_match(server):
    etag = server.get("/feeds/all.atom").headers["ETag"]
    listed = server.get("/feeds/all.atom", headers={"If-None-Match": f'"nope", W/{etag}'})
    assert listed.status_code == 304


def test_if_none_match_wins_over_if_modified_since(server):
    """RFC 9110 §13.2.2: a recipient must ignore If-Modified-Since when If-None-Match is sent."""
    first = server.get("/feeds/all.atom")
    response = server.get(
        "/feeds/all.atom",
        headers={"If-None-Match": '"stale"', "If-Modified-Since": first.headers["Last-Modified"]},
    )
    assert response.status_code == 200


def test_if_modified_since(server):
    first = server.get("/feeds/all.atom")
    modified = parsedate_to_datetime(first.headers["Last-Modified"])
    same = server.get(
        "/feeds/all.atom", headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert same.status_code == 304
    earlier = format_datetime(modified.replace(year=modified.year - 1), usegmt=True)
    older = server.get("/feeds/all.atom", headers={"If-Modified-Since": earlier})
    assert older.status_code == 200
    garbage = server.get("/feeds/all.atom", headers={"If-Modified-Since": "yesterday"})
    assert garbage.status_code == 200


@pytest.mark.parametrize("path", ["/feeds/all.atom", "/", "/no/such/page"])
def test_head_has_the_headers_of_get_and_no_body(server, path):
    get = server.get(path)
    head = server.head(path)
    assert head.status_code == get.status_code
    assert head.content == b""
    assert head.headers["Content-Length"] == str(len(get.content))
    for name in ("Content-Type", "ETag", "Last-Modified"):
        assert head.headers[name] == get.headers[name]


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_csp_refuse_framing_and_set_no_cookie(server, path):
    response = server.get(path)
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in response.headers
    assert "Access-Control-Allow-Origin" not in response.headers


def test_urls_come_from_settings_not_from_the_host_header(make_app, serve):
    server = serve(make_app(base_url="https://groups.example.org"))
    body = server.get("/feeds/all.atom", headers={"Host": "evil.example"}).text
    assert 'href="https://groups.example.org/feeds/all.atom"' in body
    assert "evil.example" not in body
    assert "127.0.0.1" not in body


def test_a_path_without_its_trailing_slash_redirects(server):
    response = server.get("/categories/community-groups")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/categories/community-groups/")


def test_post_to_a_document_is_not_allowed(server):
    assert server.post("/feeds/all.atom").status_code == 405


def test_first_start_with_invalid_data_answers_503_and_stays_alive(make_app, serve, data_dir):
    """Nothing published yet: documents say so with Retry-After; the process is alive."""
    (data_dir / "community-groups.yaml").write_text("groups: [\n", encoding="utf-8")
    server = serve(make_app())
    response = server.get("/feeds/all.atom")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "publisher check" in response.text
    assert server.get("/healthz").status_code == 200
    assert server.get("/readyz").status_code == 503
