"""The hub scenarios of websub.rocks (100 to 106), run on loopback against our own hub.

websub.rocks tests a hub by acting as its subscriber and publisher; the site cannot be
reached from here, so each scenario is played by the scripted subscriber of
tests/subscriber.py on 127.0.0.1, with the publisher's own data edits as the publications.
Settings as in tests/test_hub.py: the worker runs in the app on the test's clock, with no
coalescing, and the clock is moved instead of sleeping.

- 100 typical subscription: hub.mode, hub.topic and hub.callback only; verified (§5.3),
  then the new document is delivered, unsigned, with Link rel=hub and rel=self (§7).
- 101 subscription with a secret: X-Hub-Signature is the HMAC-SHA256 of the body (§8), and
  a subscriber that checks it with its secret accepts it (and would refuse another secret).
- 102 additional parameters: the callback's own query survives verification (the hub adds
  its parameters with ``&``) and delivery (§5.3, §7); unknown request parameters are
  ignored (§5.1).
- 103 re-subscription: one subscription, renewed with the new lease and secret; what is sent
  afterwards is signed with the new secret (§5.1: a re-request overrides the previous state).
- 104 unsubscription: verified with hub.mode=unsubscribe and no lease (§5.3); no delivery
  afterwards, not even one that was waiting to be retried.
- 105 plain-text content and 106 JSON content: the topic is delivered with its own
  Content-Type and byte-identical to a GET (§7: "the hub MUST send ... the full contents of
  the topic URL", with the topic's Content-Type).

105 on websub.rocks publishes ``text/plain``. This service publishes no text/plain topic:
its topics are feeds (XML and JSON) and calendars. The iCalendar topic
``/calendars/<category>.ics`` is its one plain-text topic (``text/calendar; charset=utf-8``,
lines of text, RFC 5545), so it stands in for 105: what the scenario checks is that a
non-XML, non-JSON text body arrives with its own type and charset and unchanged bytes (line
endings included). 106 uses the JSON Feed topic ``/feeds/<category>.json``
(``application/feed+json``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qs

import pytest
import yaml
from icalendar import Calendar

from publisher.store import subscriptions
from tests.subscriber import Received
from tests.test_hub import BASE, subscribe, subscribed, waiting_retries
from tests.test_publication import edit_description

CATEGORY = "community-groups"
ATOM = f"/feeds/{CATEGORY}.atom"
JSON_FEED = f"/feeds/{CATEGORY}.json"
CALENDAR = f"/calendars/{CATEGORY}.ics"


def edit_group(server, text: str = "A new description, for websub.rocks.") -> None:
    """A publication: one community group's description changes (feeds of the category)."""
    edit_description(server.publisher.data, "oor-mad-history", text)
    server.publisher.reload()


def add_meeting(server, time: str = "18:00-20:00") -> None:
    """A publication that changes the category's calendar: the group gets a meeting."""
    path = server.publisher.data / f"{CATEGORY}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    [group] = [g for g in doc["groups"] if g["slug"] == "oor-mad-history"]
    group["meetings"] = {
        "time_zone": "Europe/London",
        "one_off": [{"date": "2026-03-10", "time": time, "title": "History walk"}],
    }
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    server.publisher.reload()


def queued(server) -> int:
    return server.publisher.conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]


def signature_accepted(delivery: Received, secret: str) -> bool:
    """What a subscriber does with X-Hub-Signature (§8): recompute the HMAC of the body with
    its secret, by the method the hub names, and compare in constant time."""
    [header] = delivery.headers.get("x-hub-signature", [""])
    method, _, given = header.partition("=")
    if method not in ("sha1", "sha256", "sha384", "sha512"):
        return False
    expected = hmac.new(secret.encode(), delivery.body, method).hexdigest()
    return hmac.compare_digest(expected, given)


def assert_is_the_topic(server, delivery: Received, topic: str) -> None:
    """§7: the whole document at the topic URL, its Content-Type, rel=hub and rel=self."""
    current = server.get(topic)
    assert delivery.body == current.content
    assert delivery.headers["content-type"] == [current.headers["Content-Type"]]
    assert f'<{BASE}/hub>; rel="hub"' in delivery.headers["link"]
    assert f'<{BASE}{topic}>; rel="self"' in delivery.headers["link"]


def test_100_typical_subscription(hub, subscriber):
    callback = subscriber.callback("/100")
    answer = subscribe(hub, callback, topic=ATOM)
    assert answer.status_code == 202
    subscriber.wait_for(lambda: subscribed(hub) == [(callback, ATOM)])
    [check] = subscriber.verifications()
    assert check.path == "/100"
    assert check.query["hub.mode"] == "subscribe"
    assert check.query["hub.topic"] == BASE + ATOM
    assert int(check.query["hub.lease_seconds"]) == hub.publisher.settings.hub_lease
    assert check.query["hub.challenge"]

    edit_group(hub)
    subscriber.wait_for(lambda: subscriber.deliveries())
    [delivery] = subscriber.deliveries()
    assert delivery.path == "/100"
    assert_is_the_topic(hub, delivery, ATOM)
    assert "x-hub-signature" not in delivery.headers  # no secret, no signature
    subscriber.wait_for(lambda: queued(hub) == 0)  # 2xx: the delivery is done


def test_101_subscription_with_a_secret(hub, subscriber):
    secret = "websub.rocks 101 secret ünïcode"
    subscribe(hub, subscriber.callback("/101"), topic=ATOM, **{"hub.secret": secret})
    subscriber.wait_for(lambda: subscribed(hub))
    edit_group(hub)
    subscriber.wait_for(lambda: subscriber.deliveries())
    [delivery] = subscriber.deliveries()
    assert_is_the_topic(hub, delivery, ATOM)
    expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["x-hub-signature"] == [f"sha256={expected}"]
    assert signature_accepted(delivery, secret)
    assert not signature_accepted(delivery, "another secret")


@pytest.mark.parametrize(
    "query",
    ["?user=7&list=a%20b", "?token=abc", "?empty=&dup=1&dup=2"],
    ids=["two-parameters", "one-parameter", "empty-and-repeated"],
)
def test_102_callback_parameters_are_kept(hub, subscriber, query):
    callback = subscriber.callback("/102") + query
    form = {"hub.secret": "s", "x-websub-rocks": "ignored", "hub.unknown": "ignored too"}
    assert subscribe(hub, callback, topic=ATOM, **form).status_code == 202
    subscriber.wait_for(lambda: subscribed(hub) == [(callback, ATOM)])
    [check] = subscriber.verifications()
    own = {k: v[-1] for k, v in parse_qs(query[1:]).items()}
    # Had the hub appended with a second "?", the last own value would swallow it.
    assert {k: check.query[k] for k in own} == own
    assert check.query["hub.mode"] == "subscribe" and check.query["hub.challenge"]
    assert "x-websub-rocks" not in check.query and "hub.unknown" not in check.query

    edit_group(hub)
    subscriber.wait_for(lambda: subscriber.deliveries())
    [delivery] = subscriber.deliveries()
    assert delivery.path == "/102"
    assert delivery.query == own  # delivered to the callback as given, nothing added


def test_103_resubscription_renews_the_one_subscription(hub, subscriber, clock):
    callback = subscriber.callback("/103")
    subscribe(hub, callback, topic=ATOM, **{"hub.lease_seconds": "3600", "hub.secret": "one"})
    subscriber.wait_for(lambda: subscribed(hub))
    [first] = subscriptions.listing(hub.publisher.conn)

    clock.advance(minutes=30)
    subscribe(hub, callback, topic=ATOM, **{"hub.lease_seconds": "7200", "hub.secret": "two"})
    subscriber.wait_for(lambda: len(subscriber.verifications()) == 2)
    assert subscriber.verifications()[1].query["hub.lease_seconds"] == "7200"
    conn = hub.publisher.conn
    subscriber.wait_for(
        lambda: (
            [tuple(r) for r in conn.execute("SELECT lease_seconds FROM subscriptions")] == [(7200,)]
        )
    )
    [renewed] = subscriptions.listing(conn)
    assert renewed["id"] == first["id"]  # the same subscription, not a second one
    assert renewed["expires"] > first["expires"]

    clock.advance(minutes=60)  # past the first lease, within the renewed one
    edit_group(hub)
    subscriber.wait_for(lambda: subscriber.deliveries())
    subscriber.wait_for(lambda: queued(hub) == 0)
    [delivery] = subscriber.deliveries()  # one subscription: one delivery
    assert signature_accepted(delivery, "two")
    assert not signature_accepted(delivery, "one")


def test_103_a_delivery_sent_after_the_renewal_is_signed_with_the_new_secret(
    hub, subscriber, clock
):
    """A delivery queued before the renewal but sent after it: §5.1 "each subsequent
    (re-)request ... MUST override the previous subscription state", so it is signed with
    the secret the subscriber now holds, which is the only one it can check."""
    callback = subscriber.callback("/103")
    subscribe(hub, callback, topic=ATOM, **{"hub.secret": "one"})
    subscriber.wait_for(lambda: subscribed(hub))
    subscriber.statuses = [503]  # the first send fails and waits for its retry
    edit_group(hub)
    conn = hub.publisher.conn
    subscriber.wait_for(lambda: waiting_retries(hub) == 1)
    subscribe(hub, callback, topic=ATOM, **{"hub.secret": "two"})
    subscriber.wait_for(
        lambda: [tuple(r) for r in conn.execute("SELECT secret FROM subscriptions")] == [("two",)]
    )
    clock.advance(minutes=2)  # past the retry's backoff (at most 60 s here)
    subscriber.wait_for(lambda: len(subscriber.deliveries()) == 2)
    retried = subscriber.deliveries()[-1]
    assert signature_accepted(retried, "two"), "signed with the secret the renewal replaced"


def test_104_unsubscription(hub, subscriber, clock):
    gone, kept = subscriber.callback("/104/gone"), subscriber.callback("/104/kept")
    subscribe(hub, gone, topic=ATOM)
    subscribe(hub, kept, topic=ATOM)
    subscriber.wait_for(lambda: len(subscribed(hub)) == 2)
    subscriber.statuses = [503, 503]  # the first round of sends fails: a retry waits
    edit_group(hub)
    subscriber.wait_for(lambda: waiting_retries(hub) == 2)
    assert subscribe(hub, gone, topic=ATOM, mode="unsubscribe").status_code == 202
    subscriber.wait_for(lambda: subscribed(hub) == [(kept, ATOM)])
    check = subscriber.verifications()[-1]
    assert check.path == "/104/gone"
    assert check.query["hub.mode"] == "unsubscribe"
    assert check.query["hub.topic"] == BASE + ATOM
    assert "hub.lease_seconds" not in check.query

    clock.advance(minutes=2)  # the retries are due
    edit_group(hub, "Edited after the unsubscription.")
    subscriber.wait_for(lambda: queued(hub) == 0)
    assert len(subscriber.deliveries("/104/gone")) == 1  # only the failed one, before
    kept_got = subscriber.deliveries("/104/kept")
    assert kept_got and kept_got[-1].body == hub.get(ATOM).content


@pytest.mark.parametrize(
    ("scenario", "topic", "media_type", "publish"),
    [
        ("105", CALENDAR, "text/calendar", add_meeting),
        ("106", JSON_FEED, "application/feed+json", edit_group),
    ],
    ids=["105-plain-text-icalendar", "106-json-feed"],
)
def test_105_106_content_is_delivered_with_its_own_type_and_bytes(
    hub, subscriber, scenario, topic, media_type, publish
):
    callback = subscriber.callback(f"/{scenario}")
    subscribe(hub, callback, topic=topic, **{"hub.secret": scenario})
    subscriber.wait_for(lambda: subscribed(hub) == [(callback, topic)])
    before = hub.get(topic).content
    publish(hub)
    subscriber.wait_for(lambda: subscriber.deliveries())
    [delivery] = subscriber.deliveries()
    assert delivery.body != before
    assert_is_the_topic(hub, delivery, topic)
    assert delivery.headers["content-type"] == [f"{media_type}; charset=utf-8"]
    assert signature_accepted(delivery, scenario)
    if scenario == "105":
        assert b"\r\n" in delivery.body  # RFC 5545 line endings arrive as they were
        calendar = Calendar.from_ical(delivery.body.decode("utf-8"))
        [event] = calendar.walk("VEVENT")
        assert "History walk" in str(event["SUMMARY"])
    else:
        feed = json.loads(delivery.body.decode("utf-8"))
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        assert feed["feed_url"] == BASE + topic
        assert any("websub.rocks" in item.get("content_html", "") for item in feed["items"])
