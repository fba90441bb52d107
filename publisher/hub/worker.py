"""The delivery worker: verifies intents (W3C WebSub §5.3) and sends deliveries (§7, §8).

It runs inside ``publisher serve`` (a thread with its own asyncio loop and database
connection) or alone as ``publisher worker``; several may run at once. Each round it ends
leases that ran out, claims what is due (with a lease, so no two workers send the same
delivery at once), sends up to WORKER_CONCURRENCY requests at a time, and records the
outcomes in one transaction. A worker killed mid-round loses nothing: its claims run out
and another round sends them again (at least once).

Times come from an injected clock and durations from the settings, so tests move the clock
instead of sleeping.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import secrets
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import urlencode

import aiohttp
from multidict import CIMultiDict

from publisher.config import Settings
from publisher.hub import client, oneoff
from publisher.hub.fanout import PING
from publisher.store import deliveries as queue
from publisher.store import subscriptions
from publisher.store.db import connect

log = logging.getLogger(__name__)
A = TypeVar("A")
B = TypeVar("B")

#: A verification that cannot reach the subscriber is tried this many times in all.
VERIFY_ATTEMPTS = 3
#: Leases that ran out are ended at most this often (and fan-out skips them meanwhile).
EXPIRE_EVERY = timedelta(seconds=1)


async def _each(items: Sequence[A], work: Callable[[A], Awaitable[B]], width: int) -> list[B]:
    """``work`` on every item, ``width`` at a time, results in the items' order: ``width``
    tasks take the next item as they finish, rather than one task per item behind a
    semaphore (a quarter of the time per delivery went to that, measured)."""
    results: list[B | None] = [None] * len(items)
    order = iter(range(len(items)))

    async def take() -> None:
        for n in order:  # shared: each task takes the next index
            results[n] = await work(items[n])

    await asyncio.gather(*(take() for _ in range(min(width, len(items)))))
    return results  # type: ignore[return-value] - every slot is filled


def signature(secret: str, body: bytes) -> str:
    """X-Hub-Signature (§8): the HMAC-SHA256 of the body, keyed with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verification_url(callback: str, params: dict[str, str]) -> str:
    """The callback with the hub's parameters appended, keeping its own query (§5.3)."""
    return callback + ("&" if "?" in callback else "?") + urlencode(params)


class Worker:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        width = max(1, settings.worker_concurrency)
        waves = int(settings.worker_lease // (2 * max(settings.hub_timeout, 0.001)))
        self.batch = width * min(16, max(1, waves))
        self._expired_at: datetime | None = None

    def backoff(self, attempts: int) -> timedelta:
        """Exponential, capped, with jitter (half to all of the step), so retries of many
        deliveries to one subscriber do not arrive together."""
        s = self.settings
        step = min(s.hub_backoff * 2 ** min(max(attempts - 1, 0), 40), s.hub_backoff_max)
        return timedelta(seconds=step * (0.5 + self.rng.random() / 2))

    # -- one round ---------------------------------------------------------------------

    async def round(self, conn: sqlite3.Connection, http: aiohttp.ClientSession) -> int:
        """Do what is due now; returns how many intents and deliveries were handled.

        Intents first, and recorded before any delivery is claimed: a renewal's new secret
        then signs the deliveries of this round. Each claim is small enough to be sent
        well within its lease (WORKER_LEASE over twice HUB_TIMEOUT waves of
        WORKER_CONCURRENCY), so no other worker can take it over while it is in flight."""
        now = self.clock()
        lease = now + timedelta(seconds=self.settings.worker_lease)
        if self._expired_at is None or now - self._expired_at >= EXPIRE_EVERY:
            subscriptions.expire(conn, now)  # a scan of every subscription: not every round
            self._expired_at = now
        width = max(1, self.settings.worker_concurrency)
        intents = subscriptions.claim_intents(conn, now, lease, width)
        verified = await _each(intents, lambda i: self.verify(http, i), width)
        done = self.clock()
        for intent, answer in zip(intents, verified, strict=True):
            if answer is True:
                subscriptions.confirmed(conn, intent, done)
            else:
                retry = answer is None and intent.attempts < VERIFY_ATTEMPTS
                at = done + self.backoff(intent.attempts) if retry else None
                subscriptions.not_confirmed(conn, intent, at)
        now = self.clock()
        due = queue.claim(
            conn, now, now + timedelta(seconds=self.settings.worker_lease), self.batch
        )
        if due:
            bodies = queue.payloads(conn, {d.payload for d in due})
            sent = await _each(due, lambda d: self.send(http, d, bodies.get(d.payload)), width)
            queue.record(conn, sent, self.clock())
            if len(due) < self.batch:  # the queue is drained for now
                queue.forget_unused_payloads(conn)
        return len(intents) + len(due)

    async def verify(
        self, http: aiohttp.ClientSession, intent: subscriptions.Intent
    ) -> bool | None:
        """True if the subscriber confirms; False if it answers anything else, or if it
        cannot be connected to at all (refused, unroutable, no such name), which a retry
        would not change; None if it could not be reached otherwise, e.g. in time (tried
        again)."""
        challenge = secrets.token_urlsafe(32)
        params = {
            "hub.mode": intent.mode,
            "hub.topic": self.settings.base + intent.topic,
            "hub.challenge": challenge,
        }
        if intent.mode == "subscribe":
            params["hub.lease_seconds"] = str(intent.lease_seconds)
        url = verification_url(intent.callback, params)
        allow = self.settings.hub_allow_private_callbacks
        where = client.host_of(intent.callback)
        try:
            client.check_literal(url, allow)
            async with http.get(client.as_given(url), allow_redirects=False) as response:
                body = await client.read_capped(response)
                ok = 200 <= response.status < 300 and body == challenge.encode()
        except client.FAILURES as exc:
            if client.refused(exc):
                log.info("Verification refused for a callback on %s: not public", where)
                return False
            if client.unreachable(exc):
                log.info("Verification dropped, %s unreachable: %s", where, client.describe(exc))
                return False
            log.info("Verification of a callback on %s failed: %s", where, client.describe(exc))
            return None
        except Exception as exc:  # a callback aiohttp cannot call at all: not a retry
            log.info("Verification of a callback on %s impossible: %s", where, client.describe(exc))
            return False
        log.info(
            "%s of a callback on %s to %s %s",
            intent.mode.capitalize(),
            where,
            intent.topic,
            "confirmed" if ok else "not confirmed",
        )
        return ok

    async def send(
        self, http: aiohttp.ClientSession, d: queue.Delivery, payload: tuple[str, bytes] | None
    ) -> queue.Outcome:
        """POST the payload; any 2xx is success, 410 ends the subscription, the rest
        (redirects and timeouts included) is retried until HUB_RETRY_FOR has passed. A URL
        that cannot be called at all is given up at once."""
        if payload is None:  # replaced and dropped meanwhile: the newer version follows
            return queue.Outcome(d, ok=False, error="payload replaced", retry_at=self.clock())
        content_type, body = payload
        headers = CIMultiDict([("Content-Type", content_type), *d.headers])
        if d.secret:
            headers["X-Hub-Signature"] = signature(d.secret, body)
        try:
            status = await self._post(http, d, body, headers)
            if 200 <= status < 300:
                return queue.Outcome(d, ok=True)
            if status == 410 and d.subscription is not None:
                return queue.Outcome(d, ok=False, error="410 Gone", gone=True)
            error = f"HTTP {status}"
        except (*client.FAILURES, *oneoff.FAILURES) as exc:
            error = client.describe(exc)
        except Exception as exc:  # e.g. a host aiohttp cannot encode: retrying cannot help
            error = client.describe(exc)
            log.warning("Gave up delivering %s to %s: %s", d.key, client.host_of(d.url), error)
            return queue.Outcome(d, ok=False, error=error)
        now = self.clock()
        if now - d.created >= timedelta(seconds=self.settings.hub_retry_for):
            log.warning("Gave up delivering %s to %s: %s", d.key, client.host_of(d.url), error)
            return queue.Outcome(d, ok=False, error=error)
        return queue.Outcome(d, ok=False, error=error, retry_at=now + self.backoff(d.attempts))

    async def _post(
        self, http: aiohttp.ClientSession, d: queue.Delivery, body: bytes, headers: CIMultiDict
    ) -> int:
        """The answer's status: a ping to an external hub with requests, in a thread (one
        call, not one of many in flight), a delivery to a subscriber on the fan-out's
        session."""
        allow = self.settings.hub_allow_private_callbacks
        if d.key.startswith(PING):
            answer = await asyncio.to_thread(
                oneoff.request,
                "POST",
                d.url,
                timeout=self.settings.hub_timeout,
                allow_private=allow,
                body=body,
                headers=list(headers.items()),
            )
            return answer.status
        client.check_literal(d.url, allow)
        target = client.as_given(d.url)
        async with http.post(target, data=body, headers=headers, allow_redirects=False) as r:
            return r.status

    # -- running ---------------------------------------------------------------------

    def run(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        """Work until ``stop`` is set; ``wake`` cuts the idle wait short (a new change)."""
        asyncio.run(self._main(stop, wake or threading.Event()))

    async def _main(self, stop: threading.Event, wake: threading.Event) -> None:
        s = self.settings
        conn = connect(s.database)
        loop = asyncio.get_running_loop()
        try:
            async with client.session(
                s.hub_allow_private_callbacks, s.hub_timeout, max(1, s.worker_concurrency)
            ) as http:
                while not stop.is_set():
                    try:
                        handled = await self.round(conn, http)
                    except Exception:  # logged; the rows stay claimed until their lease ends
                        log.exception("A delivery round failed")
                        handled = 0
                    if not handled:
                        await loop.run_in_executor(None, wake.wait, s.worker_poll)
                        wake.clear()
        finally:
            conn.close()


def start(
    settings: Settings, clock: Callable[[], datetime], wake: threading.Event
) -> tuple[threading.Event, threading.Thread]:
    """Run a worker in a thread of this process; returns its stop event and thread."""
    stop = threading.Event()
    thread = threading.Thread(
        target=Worker(settings, clock).run, args=(stop, wake), name="publisher-worker", daemon=True
    )
    thread.start()
    return stop, thread
