"""One table of addresses (publisher/urls.py): the README's addresses are in it and answer,
and no code or template spells an address of its own."""

from __future__ import annotations

import ast
import re

import pytest
import requests

from publisher import urls
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
PUBLISHER = ROOT / "publisher"
#: The first part of every address the service answers (the home page's "/" aside).
PREFIXES = {
    route[1:].split("/")[0].split(".")[0] for route in urls.ROUTES.values() if route != "/"
} - {"404"}  # the 404 page's key, "!404", is no address


def readme_addresses() -> list[tuple[str, str]]:
    """(method, path) of every address in the README's tables: `/feeds/all.atom`, `.rss`
    (the same with another ending), `POST /hub`; placeholders such as <group> kept."""
    found: list[tuple[str, str]] = []
    for line in README.splitlines():
        if not line.startswith("|"):
            continue
        last = None
        for token in re.findall(r"`([^`]+)`", line):
            method, _, path = token.rpartition(" ")
            if path.startswith("/") and method in ("", "POST") and "…" not in path:
                last = path
                found.append((method or "GET", path))
            elif re.fullmatch(r"\.\w+", token) and last is not None:
                found.append(("GET", last.rsplit(".", 1)[0] + token))
    return list(dict.fromkeys(found))


ADDRESSES = readme_addresses()


def pattern(path: str) -> re.Pattern[str]:
    """A route's or the README's path with each varying part (``{group}``, ``<group>``)
    standing for any one path segment."""
    return re.compile(re.sub(r"\\\{\w+\\\}|<[^>]+>", "[^/]+", re.escape(path)))


def test_the_readme_names_addresses():
    assert len(ADDRESSES) > 20
    assert ("GET", "/feeds/all.json") in ADDRESSES
    assert ("POST", "/admin/reload") in ADDRESSES


@pytest.mark.parametrize("method, path", ADDRESSES, ids=lambda v: v)
def test_every_address_in_the_readme_is_in_the_table(method, path):
    assert any(pattern(route).fullmatch(path) for route in urls.ROUTES.values()), (
        f"{method} {path} is in the README but not in publisher/urls.py"
    )


def test_every_address_in_the_readme_answers(make_app, serve, meetings_dir):
    """Each address, with its placeholders filled from what is published (examples/meetings:
    groups with meetings, so that a single meeting's calendar exists)."""
    server = serve(make_app(data=str(meetings_dir), admin_token="a-token-of-24-characters"))
    published = sorted(server.publisher.current.documents)
    posted = {path for method, path in ADDRESSES if method == "POST"}
    for method, path in ADDRESSES:
        concrete = next((p for p in published if pattern(path).fullmatch(p)), path)
        assert "<" not in concrete, f"nothing published matches {path}"
        if method == "POST":
            form = {"hub.mode": "subscribe"}
            reply = requests.post(server.url + concrete, data=form, timeout=10)
            # Refused for what the request lacks (the hub's fields, the admin token), not
            # for its address.
            assert reply.status_code in (400, 401), (path, reply.status_code)
        elif path not in posted or concrete in published:
            reply = server.get(concrete)
            assert reply.status_code == 200, (concrete, reply.status_code)


def test_the_table_gives_each_path():
    assert urls.GROUP("mad-failures") == "/groups/mad-failures/"
    assert urls.FEED("all", "rss") == "/feeds/all.rss"
    assert urls.MEETING("a", "2027-01-13") == "/calendars/groups/a/2027-01-13.ics"
    assert urls.url("static", "style.css") == "/static/style.css"
    assert urls.webcal("https://example.org/calendars/all.ics") == (
        "webcal://example.org/calendars/all.ics"
    )
    with pytest.raises(IndexError):
        urls.GROUP()


def _strings(tree: ast.AST) -> list[ast.Constant]:
    """The string constants of a module, docstrings aside."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]


def test_no_module_spells_an_address_of_its_own():
    """Every address comes from the table: a path literal elsewhere is an address the table
    does not know of (the group calendar's was once made three ways)."""
    own = re.compile(rf"^/({'|'.join(map(re.escape, PREFIXES))})\b")
    found = []
    for file in sorted(PUBLISHER.rglob("*.py")):
        if file.name == "urls.py":
            continue
        tree = ast.parse(file.read_text(encoding="utf-8"))
        found += [
            f"{file.name}:{n.lineno} {n.value!r}" for n in _strings(tree) if own.match(n.value)
        ]
    for file in sorted((PUBLISHER / "templates").glob("*.html")):
        text = file.read_text(encoding="utf-8")
        spelled = r"""(?:href|src)="/[^"]*"|site\.url\(["']/[^)]*\)"""
        found += [f"{file.name}: {m}" for m in re.findall(spelled, text)]
    assert not found, found
