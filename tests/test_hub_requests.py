"""Whatever a client POSTs to /hub, the hub answers 202 or a 4xx with a plain reason: never
a 5xx (W3C WebSub §5.1: the hub answers 202 Accepted, or a 4xx or 5xx error with a
description in the body; a 5xx would mean the hub itself failed).

Requests are generated with hypothesis and sent over real HTTP to the app on 127.0.0.1. The
worker is off, so no intent is ever verified and nothing calls out; callbacks use IP
literals, so no name is looked up either. Limits: a body larger than a subscription request
gets 413, a body that is not a form gets 415, and more intents waiting for one callback
host than HUB_MAX_PENDING_PER_HOST get 429.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from publisher.web.hub import MAX_REQUEST_BYTES

BASE = "http://127.0.0.1:8000"
FORM = "application/x-www-form-urlencoded"
TOPICS = [
    "/feeds/all.atom",
    "/feeds/community-groups.json",
    "/feeds/changes.atom",
    "/calendars/all.ics",
    "/calendars/groups/oor-mad-history.ics",
]
EXAMPLES = settings(
    max_examples=120,
    deadline=None,
    database=None,  # nothing written to the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def hub(make_app, serve):
    """The hub with no worker: requests are accepted or refused, never acted on. Every
    example comes from one client, which may have them all waiting."""
    return serve(
        make_app(hub_allow_private_callbacks=True, worker=False, hub_max_pending_per_client=10**6)
    )


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # loopback only: no proxy from the environment
        yield session


# -- strategies ---------------------------------------------------------------------------

huge = st.integers(min_value=200, max_value=3 * MAX_REQUEST_BYTES).map(lambda n: "é" * n)
anything = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(["", " ", "\x00", "\r\n", "%", "%zz", "&=&", "😀" * 60, "\u202e"]),
    huge,
)
hosts = st.sampled_from(
    [
        "127.0.0.1",
        "127.0.0.2",
        "10.1.2.3",
        "203.0.113.7",
        "0.0.0.0",
        "[::1]",
        "[2001:db8::1]",
        "[::ffff:127.0.0.1]",
        "[fe80::1%25eth0]",
        "[::1",
        "127.0.0.1]",
        "[v1.x]",
        "",
    ]
)
ports = st.one_of(
    st.just(""),
    st.integers(min_value=0, max_value=100_000).map(lambda p: f":{p}"),
    st.text(max_size=8).map(lambda t: ":" + t),
)
callbacks = st.one_of(
    st.builds(
        lambda scheme, host, port, path, query: f"{scheme}://{host}{port}/{path}{query}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", ""]),
        hosts,
        ports,
        st.text(max_size=40),
        st.one_of(st.just(""), st.text(max_size=40).map(lambda q: "?" + q)),
    ),
    anything,
)
topics = st.one_of(
    st.sampled_from(TOPICS).map(lambda p: BASE + p),
    st.sampled_from(TOPICS).map(lambda p: "https://127.0.0.1:8000" + p),
    st.text(max_size=60).map(lambda p: BASE + "/" + p),
    anything,
)
leases = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["0", "٣", "1e3", " 5", "5 ", "0x10", "+7", "9" * 13, "0" * 40 + "1"]),
    anything,
)
secrets = st.one_of(
    st.sampled_from(["s", "x" * 199, "x" * 200, "é" * 99, "é" * 100]),
    anything,
)
KEYS = {
    "hub.mode": st.one_of(st.sampled_from(["subscribe", "unsubscribe", "publish", ""]), anything),
    "hub.callback": callbacks,
    "hub.topic": topics,
    "hub.lease_seconds": leases,
    "hub.secret": secrets,
}
MISSING = object()
# Near-valid requests: each parameter valid, missing or anything, so the accepting path
# (parsing, the intent's row, the per-host count) is walked as often as the refusals.
VALID = {
    "hub.mode": st.sampled_from(["subscribe", "unsubscribe"]),
    "hub.callback": st.builds(
        lambda scheme, host, path: f"{scheme}://{host}/{path}",
        st.sampled_from(["http", "https"]),
        st.sampled_from(["127.0.0.1:9", "10.1.2.3", "[::1]:9", "203.0.113.7:8080"]),
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters="#"), max_size=30),
    ),
    "hub.topic": st.sampled_from(TOPICS).map(lambda p: BASE + p),
    "hub.lease_seconds": st.integers(min_value=0, max_value=10**11).map(str),
    "hub.secret": st.text(max_size=60),
}


def _maybe(key: str) -> st.SearchStrategy:
    """Mostly valid (one_of would flatten the nested choices and make it rare)."""
    pick = {"valid": VALID[key], "missing": st.just(MISSING), "anything": KEYS[key]}
    return st.sampled_from(["valid"] * 6 + ["missing", "anything"]).flatmap(pick.__getitem__)


near_valid = st.fixed_dictionaries({key: _maybe(key) for key in KEYS}).map(
    lambda form: {k: v for k, v in form.items() if v is not MISSING}
)
forms = st.builds(
    lambda known, junk, repeats: [*known.items(), *junk.items(), *repeats],
    st.one_of(st.fixed_dictionaries({}, optional=KEYS), near_valid, near_valid),
    st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4),
    st.lists(st.tuples(st.sampled_from(sorted(KEYS)), st.text(max_size=40)), max_size=3),
)


# -- checks -------------------------------------------------------------------------------


def assert_answered_plainly(answer: requests.Response) -> None:
    event(f"HTTP {answer.status_code}")  # shown by --hypothesis-show-statistics
    assert answer.status_code == 202 or 400 <= answer.status_code < 500, (
        answer.status_code,
        answer.text[:500],
    )
    assert answer.headers["Content-Type"].startswith("text/plain"), answer.headers
    assert answer.text.strip(), "a reason in the body"


def first(pairs: list[tuple[str, str]], key: str) -> str | None:
    """The value the hub reads: the first of its name."""
    return next((v for k, v in pairs if k == key), None)


@EXAMPLES
@given(pairs=forms)
def test_generated_requests_get_202_or_a_plain_4xx(hub, http, pairs):
    answer = http.post(
        hub.url + "/hub", data=urlencode(pairs), headers={"Content-Type": FORM}, timeout=10
    )
    assert_answered_plainly(answer)
    if answer.status_code == 202:
        assert first(pairs, "hub.mode") in ("subscribe", "unsubscribe")
        assert (first(pairs, "hub.topic") or "").removeprefix(BASE) in TOPICS
        assert len((first(pairs, "hub.secret") or "").encode()) < 200


@settings(EXAMPLES, max_examples=80)
@given(body=st.binary(max_size=3000))
def test_arbitrary_bytes_as_a_form_get_202_or_a_plain_4xx(hub, http, body):
    answer = http.post(hub.url + "/hub", data=body, headers={"Content-Type": FORM}, timeout=10)
    assert_answered_plainly(answer)


@settings(EXAMPLES, max_examples=40)
@given(
    content_type=st.one_of(
        st.sampled_from(
            [
                "application/json",
                "text/plain",
                "multipart/form-data; boundary=x",
                "application/x-www-form-urlencoded; charset=latin-1",
                "APPLICATION/X-WWW-FORM-URLENCODED",
                "application/x-www-form-urlencoded;;;",
                "",
            ]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(
            str.lstrip  # requests refuses a header value with leading spaces
        ),
    )
)
def test_any_content_type_gets_202_or_a_plain_4xx(hub, http, content_type):
    form = {
        "hub.mode": "subscribe",
        "hub.callback": "http://127.0.0.1:9/content-type",
        "hub.topic": BASE + TOPICS[0],
    }
    answer = http.post(
        hub.url + "/hub",
        data=urlencode(form),
        headers={"Content-Type": content_type},
        timeout=10,
    )
    assert_answered_plainly(answer)


# -- limits -------------------------------------------------------------------------------


def _oversized() -> bytes:
    """A request just over the limit whose hub.callback straddles it: read up to the limit
    and parsed, it would be a valid request for a cut-off callback."""
    padding = "x" * (MAX_REQUEST_BYTES - 300)
    form = [
        ("padding", padding),
        ("hub.mode", "subscribe"),
        ("hub.topic", BASE + TOPICS[0]),
        ("hub.callback", "http://127.0.0.1:9/too-large/" + "a" * 1000),
    ]
    body = urlencode(form).encode()
    assert len(body) > MAX_REQUEST_BYTES
    return body


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_over_the_limit_gets_413(hub, http, framing):
    """Whatever the framing. A chunked body has no Content-Length to refuse it by, and must
    still be refused, not read up to the limit and the cut-off form acted on."""
    body = _oversized()
    data = body
    if framing == "chunked":  # a generator: requests sends Transfer-Encoding: chunked
        data = (body[i : i + 4096] for i in range(0, len(body), 4096))
    answer = http.post(hub.url + "/hub", data=data, headers={"Content-Type": FORM}, timeout=10)
    stored = [row[0] for row in hub.publisher.conn.execute("SELECT callback FROM intents")]
    assert answer.status_code == 413, (answer.status_code, answer.text, stored)
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert stored == []


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "multipart/form-data; boundary=b", None]
)
def test_a_body_that_is_not_a_form_gets_415(hub, http, content_type):
    form = urlencode(
        {
            "hub.mode": "subscribe",
            "hub.callback": "http://127.0.0.1:9/not-a-form",
            "hub.topic": BASE + TOPICS[0],
        }
    )
    headers = {"Content-Type": content_type} if content_type else {}
    answer = http.post(hub.url + "/hub", data=form.encode(), headers=headers, timeout=10)
    assert answer.status_code == 415, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert "application/x-www-form-urlencoded" in answer.text


def test_too_many_intents_from_one_host_get_429(make_app, serve, http):
    server = serve(
        make_app(hub_allow_private_callbacks=True, worker=False, hub_max_pending_per_host=5)
    )

    def ask(callback: str, mode: str = "subscribe") -> requests.Response:
        form = {"hub.mode": mode, "hub.callback": callback, "hub.topic": BASE + TOPICS[0]}
        return http.post(
            server.url + "/hub", data=urlencode(form), headers={"Content-Type": FORM}, timeout=10
        )

    for i in range(5):
        mode = "unsubscribe" if i == 4 else "subscribe"
        assert ask(f"http://127.0.0.1:9/cb/{i}", mode).status_code == 202
    refused = ask("http://127.0.0.1:9/cb/5")
    assert refused.status_code == 429, refused.text
    assert refused.headers["Content-Type"].startswith("text/plain")
    assert "verification" in refused.text
    assert ask("HTTP://127.0.0.1:9/another-spelling").status_code == 429  # the same host
    assert ask("http://127.0.0.2:9/cb").status_code == 202  # another host is not held up
    assert ask("http://[::1]:9/cb").status_code == 202
    count = server.publisher.conn.execute("SELECT COUNT(*) FROM intents").fetchone()[0]
    assert count == 7
