"""The pages in a real browser (Debian's headless Chromium, driven by Playwright).

On the bundled directory and on examples/meetings (groups with meetings): axe-core finds no
violation of WCAG 2.0, 2.1 and 2.2 A and AA rules, in light and dark, 1280 and 320 CSS px wide;
and since axe covers only part of WCAG, also: Tab alone reaches every link, button and summary
in DOM order with a visible focus outline; nothing scrolls sideways at 320 CSS px (400% zoom,
WCAG 1.4.10); with prefers-reduced-motion nothing moves. The last tests spoil a page on
purpose to show each check catches what it looks for.

Screenshots of the home page and group pages are saved under screenshots/ (git-ignored).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from publisher.app import close_app, create_app
from tests.browser import (
    axe_problems,
    focus_motion_problems,
    keyboard_problems,
    keyboard_walk,
    motion_problems,
    open_all_details,
    overflow_problems,
)
from tests.conftest import DATA, ROOT, Clock, Server, _QuietHandler

BUNDLED, MEETINGS = "bundled", "meetings"

#: (which directory, path, name of its screenshot or None)
PAGES = [
    pytest.param(BUNDLED, "/", "home", id="home"),
    pytest.param(BUNDLED, "/categories/reading-teaching-learning-groups/", None, id="category"),
    pytest.param(BUNDLED, "/groups/north-east-mad-studies-forum/", "group-north-east", id="group"),
    pytest.param(BUNDLED, "/subscribe/", None, id="subscribe"),
    pytest.param(BUNDLED, "/hub", None, id="hub"),
    pytest.param(MEETINGS, "/", "meetings-home", id="meetings-home"),
    pytest.param(MEETINGS, "/categories/peer-support/", None, id="meetings-category"),
    pytest.param(
        MEETINGS, "/groups/riverside-peer-circle/", "group-riverside", id="meetings-group"
    ),
    pytest.param(MEETINGS, "/subscribe/", None, id="meetings-subscribe"),
]

MODES = [
    pytest.param("light", 1280, id="light-1280"),
    pytest.param("dark", 1280, id="dark-1280"),
    pytest.param("light", 320, id="light-320"),
    pytest.param("dark", 320, id="dark-320"),
]


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[dict[str, Server]]:
    """The bundled directory and examples/meetings, each copied and served over HTTP once for
    this module's tests (which only read them), as the ``server`` and ``make_app`` fixtures
    would; stopped and closed after them."""
    found, running = {}, []
    for name, source in ((BUNDLED, DATA), (MEETINGS, ROOT / "examples" / "meetings")):
        folder = tmp_path_factory.mktemp(name)
        shutil.copytree(source, folder / "data")
        settings = {
            "data": str(folder / "data"),
            "database": str(folder / "publisher.sqlite3"),
            "watch": False,
            "access_log": False,
        }
        app = create_app(settings, clock=Clock())
        httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        running.append((app, httpd, thread))
        assert app.extensions["publisher.ready"].wait(timeout=60)
        found[name] = Server(f"http://127.0.0.1:{httpd.server_port}", app)
    yield found
    for app, httpd, thread in running:
        httpd.shutdown()
        thread.join(timeout=10)
        close_app(app)


def open_page(sites, page, site: str, path: str, width: int = 1280, **media: str):  # noqa: ANN001, ANN201
    """Load path from that directory's server into the page, at that width and media."""
    server = sites[site]
    page.set_viewport_size({"width": width, "height": 800})
    if media:
        page.emulate_media(**media)
    response = page.goto(server.url + path, wait_until="load")
    assert response is not None and response.status == 200, (path, response and response.status)
    return page


def failures(problems: list[str]) -> str:
    return "\n\n".join(problems)


@pytest.mark.parametrize(("scheme", "width"), MODES)
@pytest.mark.parametrize(("site", "path", "shot"), PAGES)
def test_axe_finds_no_wcag_violations(
    sites, a11y_page, screenshots, site, path, shot, scheme, width
):
    page = open_page(sites, a11y_page, site, path, width, color_scheme=scheme)
    # The colours really follow the scheme, so the dark run checks dark colours.
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background == ("rgb(29, 29, 27)" if scheme == "dark" else "rgb(251, 250, 245)")
    if shot:
        page.screenshot(path=screenshots / f"{shot}-{scheme}-{width}.png", full_page=True)
    problems = axe_problems(page)
    assert not problems, f"axe on {path} ({scheme}, {width}px):\n\n" + failures(problems)


@pytest.mark.parametrize("width", [1280, 320])
@pytest.mark.parametrize(("site", "path", "shot"), PAGES)
def test_keyboard_reaches_every_control_with_visible_focus(
    sites, a11y_page, site, path, shot, width
):
    page = open_page(sites, a11y_page, site, path, width)
    walk = keyboard_walk(page)
    assert len(walk["steps"]) >= 3  # the skip link and the two of the site's navigation
    assert walk["steps"][0]["what"].startswith('a href="#main"'), walk["steps"][0]
    problems = keyboard_problems(walk)
    assert not problems, f"keyboard on {path} at {width}px:\n\n" + failures(problems)


@pytest.mark.parametrize(("site", "path", "shot"), PAGES)
def test_no_horizontal_scrolling_at_320_css_px(sites, a11y_page, site, path, shot):
    page = open_page(sites, a11y_page, site, path, 320)
    problems = overflow_problems(page)
    open_all_details(page)  # what is folded away fits too
    problems += overflow_problems(page)
    assert not problems, f"{path} at 320px:\n\n" + failures(problems)


@pytest.mark.parametrize(("site", "path", "shot"), PAGES)
def test_reduced_motion_is_respected(sites, a11y_page, site, path, shot):
    page = open_page(sites, a11y_page, site, path, reduced_motion="reduce")
    assert page.evaluate("() => matchMedia('(prefers-reduced-motion: reduce)').matches")
    problems = motion_problems(page)
    problems += focus_motion_problems(keyboard_walk(page))
    problems += motion_problems(page)  # after focusing everything and opening every details
    assert not problems, f"motion on {path}:\n\n" + failures(problems)


# The checks catch what they look for --------------------------------------------------------

SPOILERS = {
    "axe": (
        "document.querySelector('main').insertAdjacentHTML('afterbegin',"
        ' \'<img src="/static/none.png"><p style="color:#ccc;background:#fff">faint</p>\')',
        lambda page: axe_problems(page),
        ["image-alt", "color-contrast"],
    ),
    "focus outline": (
        "document.head.insertAdjacentHTML('beforeend',"
        " '<style>a:focus-visible { outline: none !important }</style>')",
        lambda page: keyboard_problems(keyboard_walk(page)),
        ["no visible focus indicator"],
    ),
    "tab order": (
        "document.querySelector('footer').insertAdjacentHTML('beforeend',"
        ' \'<a href="/" tabindex="1">jumps the queue</a>\')',
        lambda page: keyboard_problems(keyboard_walk(page)),
        ["Tab order is not every focusable element in DOM order"],
    ),
    "unreachable link": (
        "document.querySelector('main a').tabIndex = -1;"
        "document.querySelector('main').insertAdjacentHTML('beforeend',"
        ' \'<span tabindex="0" style="display:block;width:0;height:0;overflow:hidden">'
        "x</span>')",
        lambda page: keyboard_problems(keyboard_walk(page)),
        ["never reached", "has no size on screen"],
    ),
    "sideways scrolling": (
        "document.querySelector('main').insertAdjacentHTML('beforeend',"
        " '<p style=\"width: 500px\">wide</p>')",
        lambda page: overflow_problems(page),
        ["scrolls sideways", "p (", "500px"],
    ),
    "animation": (
        "document.head.insertAdjacentHTML('beforeend', '<style>@keyframes turn"
        " { to { transform: rotate(1turn) } } h1 { animation: turn 2s infinite !important }"
        " a { transition: color 1s !important }</style>')",
        lambda page: motion_problems(page) + focus_motion_problems(keyboard_walk(page)),
        ["running animations", "animation-name turn", "transition-duration 1s when focused"],
    ),
}


@pytest.mark.parametrize("spoiler", SPOILERS)
def test_each_check_catches_a_spoiled_page(sites, a11y_page, spoiler):
    script, check, expected = SPOILERS[spoiler]
    page = open_page(sites, a11y_page, BUNDLED, "/", 320, reduced_motion="reduce")
    page.evaluate(f"() => {{ {script} }}")
    found = "\n".join(check(page))
    for words in expected:
        assert words in found, f"{spoiler}: {words!r} not in:\n{found}"
