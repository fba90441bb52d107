"""The embeds on another site, in a real browser (Debian's headless Chromium, Playwright).

A HOST page is served by a second loopback HTTP server on another port (another origin, as a
site owner's page would be). It loads the script embed from the service
(``<script src="<service>/embed/v1.js" defer>``) with ``data-publisher`` elements for a
category, ``all`` and ``meetings``, and frames ``/embed/<category>``. The service serves a
copy of examples/meetings on a clock set so its meetings are upcoming, with
PUBLISHER_BASE_URL set to its real address: the server's socket is bound first (port 0),
then the app is made with that port in its base URL.

Checked: the widgets and the frame show the right groups, in directory order, with the right
links, and the next meetings; a hostile name, description or meeting title runs no script and
shows as text; a hostile feed's ``javascript:`` links are dropped; a changed entry shows on
the next page load; with the service stopped the fallback link shows; the widget's requests
carry no cookie and no Referer and revalidate (``cache: "no-cache"``); the embed pages and
the host page pass axe, the keyboard and reflow checks; the frame posts its height; a page
that is not an embed cannot be framed. A screenshot of the host page is saved under
screenshots/ (git-ignored).
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from werkzeug.serving import make_server

from publisher.app import close_app, create_app
from tests.browser import (
    AXE,
    axe_problems,
    keyboard_problems,
    keyboard_walk,
    overflow_problems,
)
from tests.conftest import ROOT, Clock, _QuietHandler

MEETINGS = ROOT / "examples" / "meetings"
#: The category the host page shows, and its name in examples/meetings/site.yaml.
SLUG = "peer-support"
#: A time at which examples/meetings has meetings coming in several groups.
NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
#: Every wait in a browser is bounded by this (milliseconds).
WAIT = 10_000

#: What a hostile editor could type into the fields the checker takes as text.
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
#: The same for a name or title, where the checker refuses < and >: markup as entities, which
#: a script that decoded text as HTML would show changed.
HOSTILE_NAME = '&lt;img src=x onerror="window.__pwned=1"&gt; &amp; "quoted"'


# Servers ----------------------------------------------------------------------------------


@dataclass
class Running:
    """A werkzeug server in a thread; ``stop`` shuts it and closes its socket (idempotent)."""

    httpd: Any
    thread: threading.Thread
    url: str
    closers: list[Callable[[], None]] = field(default_factory=list)
    stopped: bool = False

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.httpd.shutdown()
        self.httpd.server_close()  # the port now refuses connections
        self.thread.join(timeout=10)
        for close in self.closers:
            close()


def _serve(wsgi: Callable) -> Running:
    httpd = make_server("127.0.0.1", 0, wsgi, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return Running(httpd, thread, f"http://127.0.0.1:{httpd.server_port}")


@dataclass
class Service:
    """The publisher on a real port, its base URL that port; ``seen`` records every request
    as it arrived (path and the headers that matter here)."""

    running: Running
    app: Any
    data: Path
    seen: list[dict[str, str]]

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def publisher(self) -> Any:
        return self.app.extensions["publisher"]

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, timeout=10)

    def requests_for(self, path: str) -> list[dict[str, str]]:
        return [r for r in self.seen if r["path"] == path]

    def stop(self) -> None:
        self.running.stop()


HEADERS = ("cookie", "referer", "cache-control", "pragma", "if-none-match", "origin")


def start_service(folder: Path, clock: Clock) -> Service:
    """Bind 127.0.0.1:0 first, then make the app with that address as PUBLISHER_BASE_URL,
    so every absolute link it writes points at this very server."""
    seen: list[dict[str, str]] = []
    app_box: list[Any] = []

    def recording(environ: dict, start_response: Callable) -> Any:
        seen.append(
            {
                "path": environ.get("PATH_INFO", ""),
                **{h: environ.get("HTTP_" + h.upper().replace("-", "_"), "") for h in HEADERS},
            }
        )
        return app_box[0](environ, start_response)

    running = _serve(recording)
    settings = {
        "data": str(folder / "data"),
        "database": str(folder / "publisher.sqlite3"),
        "base_url": running.url,
        "watch": False,
        "access_log": False,
    }
    app = create_app(settings, clock=clock)
    app_box.append(app)
    running.closers.append(lambda: close_app(app))
    assert app.extensions["publisher.ready"].wait(timeout=60)
    found = Service(running, app, folder / "data", seen)
    assert found.get("/readyz").status_code == 200, "the data did not load (see the log)"
    return found


def copy_meetings(folder: Path) -> Path:
    shutil.copytree(MEETINGS, folder / "data")
    return folder


class HostSite:
    """Another origin: static pages the test writes (``pages[path] = html``), no-store."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.running = _serve(self._wsgi)
        self.url = self.running.url

    def _wsgi(self, environ: dict, start_response: Callable) -> list[bytes]:
        body = self.pages.get(environ.get("PATH_INFO", ""))
        if body is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        data = body.encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(data))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [data]

    def add(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.url + path


#: Host-page script: records the heights the frames post.
LISTEN = """<script>
window.__heights = [];
window.addEventListener("message", (event) => {
  if (event.data && event.data.type === "publisher:height") {
    window.__heights.push({origin: event.origin, height: event.data.height});
  }
});
</script>"""


def host_page(
    service: str,
    *,
    widgets: tuple[str, ...] = (f"category:{SLUG}", "all", "meetings"),
    frames: tuple[tuple[str, str, str], ...] = (),
    title: str = "Our community website",
) -> str:
    """A small page of another site: the two-line script snippet, and frames given as
    (src, title, style)."""
    labels = {"all": "All the groups", "meetings": "Next meetings"}
    parts = []
    for target in widgets:
        ident = target.split(":")[0]
        parts.append(
            f"<h2>{labels.get(target, 'Groups near you')}</h2>\n"
            f'<div id="{ident}" data-publisher="{target}"></div>'
        )
    for src, frame_title, style in frames:
        parts.append(
            f"<h2>{frame_title}</h2>\n"
            f'<iframe src="{src}" title="{frame_title}" style="{style}"></iframe>'
        )
    body = "\n".join(parts)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{LISTEN}
<style>body {{ font: 16px/1.5 sans-serif; margin: 1rem; color: #222; background: #fff; }}
iframe {{ display: block; width: 100%; height: 400px; border: 1px solid #777; }}</style>
</head>
<body>
<main>
<h1>{title}</h1>
{body}
<script src="{service}/embed/v1.js" defer></script>
</main>
</body>
</html>
"""


# What the browser shows --------------------------------------------------------------------

#: Every data-publisher element on the page: its shadow root (open), read as a user sees it.
READ_WIDGETS = """() => Object.fromEntries([...document.querySelectorAll("[data-publisher]")]
  .map((host) => {
    const root = host.shadowRoot;
    if (!root) return [host.id, null];
    const text = (node) => (node ? node.textContent : null);
    const more = root.querySelector(".more a");
    return [host.id, {
      items: [...root.querySelectorAll("li")].map((li) => ({
        name: text(li.querySelector(".name")),
        link: text(li.querySelector("a")),
        href: li.querySelector("a") && li.querySelector("a").getAttribute("href"),
        note: text(li.querySelector(".note")),
      })),
      more: more && {text: more.textContent, href: more.getAttribute("href")},
      markup: [...root.querySelectorAll("*")].map((el) => el.tagName.toLowerCase()),
      text: root.textContent,
    }];
  }))"""

#: True once every widget has finished (it ends with the "more" paragraph, in either path).
WIDGETS_DONE = """() => [...document.querySelectorAll("[data-publisher]")].every(
  (host) => host.shadowRoot && host.shadowRoot.querySelector(".more"))"""


def open_host(page: Any, url: str) -> dict[str, Any]:
    response = page.goto(url, wait_until="load", timeout=WAIT)
    assert response is not None and response.status == 200
    page.wait_for_function(WIDGETS_DONE, timeout=WAIT)
    return page.evaluate(READ_WIDGETS)


def frame_at(page: Any, url: str) -> Any:
    found = [f for f in page.frames if f.url == url]
    assert found, f"no frame at {url}: {[f.url for f in page.frames]}"
    return found[0]


def directory_order(data: Path, category: str | None = None) -> list[tuple[str, str, str]]:
    """(name, slug, description) of the groups, read from the YAML files: categories in the
    order of site.yaml, groups in the order of their file."""
    site = yaml.safe_load((data / "site.yaml").read_text())
    files = {}
    for path in data.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        if path.name != "site.yaml":
            files[doc["category"]] = doc["groups"]
    out = []
    for c in site["categories"]:
        if category in (None, c["slug"]):
            out += [(g["name"], g["slug"], g.get("description", "")) for g in files[c["slug"]]]
    return out


def category_name(data: Path, slug: str) -> str:
    site = yaml.safe_load((data / "site.yaml").read_text())
    return next(c["name"] for c in site["categories"] if c["slug"] == slug)


def failures(problems: list[str]) -> str:
    return "\n\n".join(problems)


# Fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def host() -> Iterator[HostSite]:
    site = HostSite()
    yield site
    site.running.stop()


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[Service]:
    """examples/meetings on a real port, for the tests that only read it."""
    running = start_service(copy_meetings(tmp_path_factory.mktemp("embed")), Clock(NOW))
    yield running
    running.stop()


@pytest.fixture
def own_service(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Factory: a service of the test's own (it edits or stops it); stopped after the test."""
    made: list[Service] = []

    def make(edit: Callable[[Path], None] | None = None) -> Service:
        folder = copy_meetings(tmp_path / f"own{len(made)}")
        if edit:
            edit(folder / "data")
        found = start_service(folder, Clock(NOW))
        made.append(found)
        return found

    yield make
    for found in made:
        found.stop()


@pytest.fixture(scope="module")
def main_page(host: HostSite, service: Service) -> str:
    """The host page of the brief: the three widgets and a frame of the category."""
    frame = (f"{service.url}/embed/{SLUG}", "Peer-support groups (frame)", "")
    return host.add("/index.html", host_page(service.url, frames=(frame,)))


# 1. The right groups, links and meetings ------------------------------------------------


def test_widgets_and_frame_show_the_groups_in_directory_order(
    a11y_page, service: Service, main_page: str
):
    # The script as served: small, plain JavaScript (at most 10,240 bytes, uncompressed).
    script = service.get("/embed/v1.js")
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert len(script.content) <= 10_240
    page = a11y_page
    shown = open_host(page, main_page)

    for ident, category in (("category", SLUG), ("all", None)):
        expected = directory_order(service.data, category)
        widget = shown[ident]
        assert widget is not None, f"{ident}: no open shadow root"
        assert [i["name"] for i in widget["items"]] == [n for n, _, _ in expected], ident
        assert [i["href"] for i in widget["items"]] == [
            f"{service.url}/groups/{slug}/" for _, slug, _ in expected
        ], ident
        assert [(i["note"] or "").strip() for i in widget["items"]] == [
            d.strip() for _, _, d in expected
        ], ident
        # Each link leads to a page the service really has.
        for item in widget["items"]:
            assert requests.get(item["href"], timeout=10).status_code == 200, item
    assert shown["category"]["more"] == {
        "text": "See these groups on Example meeting groups (fictional)",
        "href": f"{service.url}/categories/{SLUG}/",
    }
    assert shown["all"]["more"]["href"] == f"{service.url}/"

    # The frame shows the same category, its links leaving the frame for the service's pages.
    frame = frame_at(page, f"{service.url}/embed/{SLUG}")
    assert frame.locator("h1").inner_text() == category_name(service.data, SLUG)
    links = frame.evaluate(
        "() => [...document.querySelectorAll('li a')].map((a) =>"
        " ({name: a.textContent, href: a.getAttribute('href'), target: a.target}))"
    )
    assert links == [
        {"name": i["name"], "href": i["href"], "target": "_top"} for i in shown["category"]["items"]
    ]

    # The next meetings, soonest first, as the service lists them: when, group, link.
    meetings = service.get("/embed/meetings.json").json()["meetings"]
    assert len(meetings) >= 3
    assert len({m["group"] for m in meetings}) >= 2  # the clock puts several groups ahead
    assert all(datetime.fromisoformat(m["start"]) > NOW for m in meetings)
    widget = shown["meetings"]
    assert [(i["name"], i["link"], i["href"]) for i in widget["items"]] == [
        (m["when"], m["group"], m["url"]) for m in meetings
    ]
    weekday = r"^(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day \d{1,2} [A-Z][a-z]+ 20\d\d, "
    for item in widget["items"]:
        assert re.match(weekday, item["name"]), item
        assert item["href"].startswith(f"{service.url}/groups/"), item


# 2. Nothing from the data runs ------------------------------------------------------------


def _hostile(data: Path) -> None:
    """A group whose description is markup with scripts, and whose name and meeting title
    are markup as entities (written as YAML double-quoted scalars, which JSON strings are)."""
    path = data / f"{SLUG}.yaml"
    group = f"""groups:
  - slug: hostile-group
    name: {json.dumps(f"Hostile {HOSTILE_NAME} group")}
    description: {json.dumps(HOSTILE)}
    meetings:
      time_zone: Europe/London
      series:
        - starts: 2026-10-05
          every: week
          on: Monday
          time: 09:00-10:00
          title: {json.dumps(HOSTILE_NAME)}
"""
    text = path.read_text()
    assert text.count("groups:\n") == 1
    path.write_text(text.replace("groups:\n", group))


def test_a_hostile_entry_runs_no_script_and_shows_as_text(a11y_page, host, own_service):
    service = own_service(_hostile)
    name = f"Hostile {HOSTILE_NAME} group"
    frame_src = f"{service.url}/embed/{SLUG}"
    url = host.add(
        "/hostile.html",
        host_page(service.url, frames=((frame_src, "Groups (frame)", ""),)),
    )
    page = a11y_page
    shown = open_host(page, url)
    frame = frame_at(page, frame_src)
    page.wait_for_timeout(300)  # time for an injected onerror to have fired, were there one

    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert frame.evaluate("() => typeof window.__pwned") == "undefined"
    for ident in ("category", "all", "meetings"):
        assert "img" not in shown[ident]["markup"], ident
        assert "script" not in shown[ident]["markup"], ident
    first = shown["category"]["items"][0]
    assert (first["name"], first["note"]) == (name, HOSTILE)
    assert any(i["name"] == name for i in shown["all"]["items"])
    assert any((i["note"] or "").endswith(": " + HOSTILE_NAME) for i in shown["meetings"]["items"])
    # The frame shows the same text, literally, and no element made from it.
    assert frame.locator("li").first.inner_text().split("\n")[0] == name
    assert HOSTILE in frame.locator("main").inner_text()
    assert frame.locator("main img, main script").count() == 0


def test_the_widget_drops_links_that_are_not_web_addresses(a11y_page, host, service):
    """Were the feed itself hostile (javascript: links), the widget would make no link of
    them: the service's feed is replaced in the browser by one that is."""
    page = a11y_page
    feed = service.get(f"/feeds/{SLUG}.json").json()
    feed["home_page_url"] = "javascript:window.__pwned=1"
    for item in feed["items"]:
        item["url"] = "javascript:window.__pwned=1"
        item["title"] = HOSTILE
    page.route(
        f"{service.url}/feeds/{SLUG}.json",
        lambda route: route.fulfill(
            status=200,
            body=json.dumps(feed),
            headers={"Content-Type": "application/feed+json", "Access-Control-Allow-Origin": "*"},
        ),
    )
    try:
        url = host.add("/hostile-feed.html", host_page(service.url, widgets=(f"category:{SLUG}",)))
        shown = open_host(page, url)
        widget = shown["category"]
        assert widget["items"] and all(i["href"] is None for i in widget["items"])
        assert all(i["name"] == HOSTILE for i in widget["items"])
        assert widget["more"]["href"] is None
        for link in page.locator("#category a").all():
            link.click(timeout=WAIT)  # a link with no href does nothing
        assert page.evaluate("() => typeof window.__pwned") == "undefined"
    finally:
        page.unroute_all()


# 3. A change shows on the next page load --------------------------------------------------


def test_a_changed_entry_shows_after_a_reload(a11y_page, host, own_service):
    service = own_service()
    frame_src = f"{service.url}/embed/{SLUG}"
    url = host.add(
        "/changes.html", host_page(service.url, frames=((frame_src, "Groups (frame)", ""),))
    )
    page = a11y_page
    before = open_host(page, url)
    old = "Riverside Peer Circle (example)"
    assert before["category"]["items"][0]["name"] == old

    path = service.data / f"{SLUG}.yaml"
    for n, load in enumerate((page.reload, lambda **kw: page.goto(url, **kw)), start=1):
        new = f"Riverside Peer Circle (renamed {n})"
        path.write_text(path.read_text().replace(old, new))
        old = new
        service.publisher.reload()
        assert new in service.get(f"/feeds/{SLUG}.json").text
        feed_requests = len(service.requests_for(f"/feeds/{SLUG}.json"))
        load(wait_until="load", timeout=WAIT)
        page.wait_for_function(WIDGETS_DONE, timeout=WAIT)
        after = page.evaluate(READ_WIDGETS)
        assert after["category"]["items"][0]["name"] == new, load
        assert any(i["name"] == new for i in after["all"]["items"])
        # The widget asked the service again although its copy was fresh (max-age=300).
        assert len(service.requests_for(f"/feeds/{SLUG}.json")) == feed_requests + 1


# 4. The service stopped -------------------------------------------------------------------


def test_with_the_service_stopped_the_fallback_link_shows(a11y_page, host, own_service):
    """The service is started, its v1.js taken, and the service stopped (its port closed:
    connections are refused). The host page then gets that same v1.js at the same address
    as a browser holding it in its cache would, served to it by Playwright (page.route),
    since nothing on the network can serve it any more; its reads of the feeds and the
    meetings then fail on the stopped service, and each widget must show its plain link.
    (Waiting on the browser's HTTP cache, or stopping the service between loading the
    script and its fetch, would be timing-dependent.)"""
    service = own_service()
    script = service.get("/embed/v1.js").content
    service.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(service.url + "/embed/v1.js", timeout=5)

    page = a11y_page
    page.route(
        f"{service.url}/embed/v1.js",
        lambda route: route.fulfill(status=200, body=script, content_type="text/javascript"),
    )
    try:
        url = host.add("/stopped.html", host_page(service.url))
        shown = open_host(page, url)
    finally:
        page.unroute_all()
    assert shown["category"]["items"] == []
    assert shown["category"]["more"] == {
        "text": "See these groups in the directory",
        "href": f"{service.url}/categories/{SLUG}/",
    }
    assert shown["all"]["more"] == {
        "text": "See all groups in the directory",
        "href": f"{service.url}/",
    }
    assert shown["meetings"]["more"] == {
        "text": "See the next meetings in the directory",
        "href": f"{service.url}/",
    }
    assert shown["meetings"]["items"] == []


# 5. No cookie, no Referer, revalidated ----------------------------------------------------


def test_the_widget_sends_no_cookie_nor_referer_and_revalidates(new_context, service, main_page):
    context = new_context()
    # A cookie for 127.0.0.1 (cookies ignore the port): the host page's own requests carry it.
    context.add_cookies([{"name": "visitor", "value": "tracked", "url": service.url}])
    page = context.new_page()
    made: list[Any] = []
    page.on("request", lambda request: made.append(request))
    reads = [f"/feeds/{SLUG}.json", "/feeds/all.json", "/embed/meetings.json"]

    for visit in (1, 2):  # the second time the browser holds fresh copies (max-age=300)
        made.clear()
        before = {path: len(service.requests_for(path)) for path in reads}
        open_host(page, main_page)
        headers = {r.url: r.all_headers() for r in made}
        assert "visitor=tracked" in headers[main_page].get("cookie", "")  # the cookie is there
        for path in reads:
            sent = headers[service.url + path]
            assert "cookie" not in sent, (path, sent)
            assert "referer" not in sent, (path, sent)
            # fetch(..., {cache: "no-cache"}): Chromium asks to validate (max-age=0) or
            # sends no-cache; on the second visit the fresh copy is not used unasked.
            directive = sent.get("cache-control", "") + sent.get("pragma", "")
            assert "no-cache" in directive or "max-age=0" in directive, (path, sent)
            arrived = service.requests_for(path)[before[path] :]
            assert len(arrived) == 1, (visit, path, arrived)
            assert not arrived[0]["cookie"] and not arrived[0]["referer"], arrived[0]
            if visit == 2:
                assert arrived[0]["if-none-match"], arrived[0]  # revalidated, not refetched


# 6. Accessibility -------------------------------------------------------------------------

EMBEDS = [f"/embed/{SLUG}", "/embed/all", "/embed/meetings"]


@pytest.mark.parametrize("width", [1280, 320])
@pytest.mark.parametrize("path", EMBEDS)
def test_embed_pages_pass_axe_and_the_keyboard_reaches_their_links(a11y_page, service, path, width):
    page = a11y_page
    page.set_viewport_size({"width": width, "height": 800})
    response = page.goto(service.url + path, wait_until="load", timeout=WAIT)
    assert response is not None and response.status == 200
    problems = axe_problems(page)
    assert not problems, f"axe on {path} at {width}px:\n\n" + failures(problems)
    links = page.locator("a[href]").count()
    walk = keyboard_walk(page)
    assert len(walk["steps"]) == links >= 2, walk["steps"]
    problems = keyboard_problems(walk)
    assert not problems, f"keyboard on {path} at {width}px:\n\n" + failures(problems)
    if width == 320:
        assert not (problems := overflow_problems(page)), failures(problems)


def test_embed_pages_do_not_scroll_sideways_in_a_320_px_frame(a11y_page, host, service):
    frames = tuple(
        (service.url + path, f"Embed {path}", "width: 320px; height: 400px") for path in EMBEDS
    )
    url = host.add("/narrow.html", host_page(service.url, widgets=(), frames=frames))
    page = a11y_page
    page.goto(url, wait_until="load", timeout=WAIT)
    for path in EMBEDS:
        frame = frame_at(page, service.url + path)
        assert frame.evaluate("() => document.documentElement.clientWidth") == 320
        problems = overflow_problems(frame)
        assert not problems, f"{path} in a 320px frame:\n\n" + failures(problems)


@pytest.mark.parametrize("width", [1280, 320])
def test_the_host_page_with_the_embeds_passes_axe(a11y_page, service, main_page, width):
    page = a11y_page
    page.set_viewport_size({"width": width, "height": 800})
    open_host(page, main_page)
    # axe checks a frame through a copy of itself inside it (the context bypasses the frame's
    # CSP), and talks to one of another origin only when both are told they may.
    for frame in page.frames:
        frame.add_script_tag(path=str(AXE))
        frame.evaluate("() => axe.configure({allowedOrigins: ['<unsafe_all_origins>']})")
    problems = axe_problems(page)
    assert not problems, f"axe on the host page at {width}px:\n\n" + failures(problems)
    # The widgets' links are part of the page: the keyboard reaches them, in order.
    walk = keyboard_walk(page)
    problems = keyboard_problems(walk)
    assert not problems, f"keyboard on the host page at {width}px:\n\n" + failures(problems)
    reached = " ".join(s["what"] for s in walk["steps"])
    assert f'href="{service.url}/groups/riverside-peer-circle/"' in reached
    if width == 320:
        assert not (problems := overflow_problems(page)), failures(problems)
    else:
        # axe really looks inside the widget's shadow root and into the frame: faint text
        # put in each is found.
        page.evaluate(
            "() => document.getElementById('category').style.setProperty('--publisher-link',"
            " '#e4e4e4')"
        )
        frame = frame_at(page, f"{service.url}/embed/{SLUG}")
        frame.evaluate("() => { document.querySelector('h1').style.color = '#e4e4e4'; }")
        found = "\n".join(axe_problems(page))
        assert "color-contrast" in found, found
        assert "at #category > " in found, found
        assert "at iframe h1" in found, found


# 7. The frame tells its height ------------------------------------------------------------


def test_the_frame_posts_its_height_to_the_host_page(a11y_page, service, main_page):
    page = a11y_page
    open_host(page, main_page)
    page.wait_for_function("() => window.__heights.length > 0", timeout=WAIT)
    heights = page.evaluate("() => window.__heights")
    assert all(h["origin"] == service.url for h in heights), heights
    frame = frame_at(page, f"{service.url}/embed/{SLUG}")
    content = frame.evaluate("() => document.documentElement.scrollHeight")
    assert heights[-1]["height"] == content > 100, (heights, content)


# 8. Other pages refuse to be framed -------------------------------------------------------


def test_a_page_that_is_not_an_embed_cannot_be_framed(new_context, host, service):
    group = f"{service.url}/groups/riverside-peer-circle/"
    embed = f"{service.url}/embed/{SLUG}"
    url = host.add(
        "/framing.html",
        host_page(
            service.url, widgets=(), frames=((group, "A group page", ""), (embed, "Embed", ""))
        ),
    )
    # A context that honours CSP (the a11y one bypasses it).
    page = new_context().new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    answers: dict[str, Any] = {}
    page.on("response", lambda r: answers.setdefault(r.url, r))
    page.goto(url, wait_until="load", timeout=WAIT)

    # The service answered, with headers that forbid framing...
    assert answers[group].status == 200
    sent = answers[group].all_headers()
    assert "frame-ancestors 'none'" in sent["content-security-policy"]
    assert sent["x-frame-options"] == "DENY"
    # ...and the browser showed none of it, while the embed beside it did load.
    loaded = {f.url: f for f in page.frames}
    assert group not in loaded, list(loaded)
    blocked = [f for f in page.frames[1:] if f.url != embed]
    assert len(blocked) == 1, [f.url for f in page.frames]
    assert "Riverside" not in blocked[0].evaluate("() => document.documentElement.outerHTML")
    assert loaded[embed].locator("h1").inner_text() == category_name(service.data, SLUG)
    assert any("frame-ancestors" in m for m in messages), messages


# 9. A screenshot for reviewers ------------------------------------------------------------


def test_screenshot_of_the_host_page(a11y_page, service, main_page, screenshots):
    page = a11y_page
    page.set_viewport_size({"width": 1280, "height": 800})
    open_host(page, main_page)
    page.wait_for_function("() => window.__heights.length > 0", timeout=WAIT)
    # A viewport as tall as the page rather than full_page=True: Chromium's full-page capture
    # leaves a frame of another origin blank.
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": min(height, 5000)})
    frame = frame_at(page, f"{service.url}/embed/{SLUG}")
    frame.evaluate(
        "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
    )
    page.screenshot(path=screenshots / "embed-on-host-page.png")
    assert (screenshots / "embed-on-host-page.png").stat().st_size > 10_000
