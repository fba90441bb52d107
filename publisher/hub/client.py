"""Outgoing HTTP of the fan-out to subscribers: one aiohttp session, safe by default.

aiohttp, chosen by measurement (bench part E): a bare loop of POSTs made about 1,700/s with
requests, 2,400 with httpx and 9,600 with aiohttp at 32 in flight on this machine. Calls
made one at a time (the pings to external hubs) go with requests, in ``oneoff``.

Safety (the hub calls addresses strangers give it):
- callbacks on loopback, private, link-local, multicast or reserved addresses are refused
  unless HUB_ALLOW_PRIVATE_CALLBACKS; the check is on the addresses the resolver returns,
  which are the ones aiohttp connects to, so a name that resolves to a public address for the
  check and a private one for the connection (DNS rebinding) cannot slip through;
- redirects are never followed (a 3xx is a failure, §7: only 2xx is success);
- every request has a total timeout, and at most MAX_RESPONSE bytes of a response are read;
- no proxy settings from the environment, no cookies kept.
"""

from __future__ import annotations

import errno
import socket
from functools import lru_cache
from urllib.parse import urlsplit

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from publisher.hub.params import non_public, numeric_address

#: Bytes of a subscriber's answer read at most (a verification echoes a short challenge).
MAX_RESPONSE = 64 * 1024
USER_AGENT = "publisher-websub-hub/1 (+https://www.w3.org/TR/websub/)"


class RefusedAddress(OSError):
    """The callback's host has no address the hub may call."""


class PublicOnlyResolver(AbstractResolver):
    """Resolves as usual, then keeps only public addresses (unless private ones are allowed)."""

    def __init__(self, allow_private: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return found
        public = [r for r in found if not non_public(r["host"])]
        if not public:
            raise RefusedAddress(f"{host} has no public address")
        return public

    async def close(self) -> None:
        await self._inner.close()


def as_given(url: str) -> yarl.URL:
    """The URL exactly as the subscriber gave it: yarl would otherwise re-encode its
    query (%2F to /, %7E to ~), and a callback may depend on its exact bytes (§5.3)."""
    return yarl.URL(url, encoded=True)


def host_of(url: str) -> str:
    """The host of a URL, for logs: callback paths and queries may carry tokens."""
    return urlsplit(url).hostname or "?"


def check_literal(url: str, allow_private: bool) -> None:
    """aiohttp connects to an IP literal without asking the resolver: check it here, as
    yarl reads the host (it turns '１２７.０.０.１' into 127.0.0.1)."""
    if allow_private:
        return
    netloc = url.split("/", 3)[2] if url.count("/") >= 2 else ""
    if _literal_refused(netloc):
        raise RefusedAddress(f"{netloc} is not a public address")


@lru_cache(maxsize=4096)
def _literal_refused(netloc: str) -> bool:
    """True when the URL's host, as it will be dialled, is a non-public IP address, in any
    spelling the C library reads (0177.0.0.1; a name is the resolver's to check). Cached:
    a fan-out calls the same hosts thousands of times."""
    try:
        address = numeric_address(yarl.URL(f"http://{netloc}/").host or "")
    except ValueError:
        return False
    return address is not None and non_public(address)


def session(allow_private: bool, timeout: float, concurrency: int) -> aiohttp.ClientSession:
    """The worker's session: public addresses only (by default), one total timeout."""
    connector = aiohttp.TCPConnector(
        resolver=PublicOnlyResolver(allow_private), limit=concurrency, ttl_dns_cache=60
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        headers={"User-Agent": USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )


async def read_capped(response: aiohttp.ClientResponse) -> bytes:
    """At most MAX_RESPONSE bytes of the body (one more, so a longer one shows as such)."""
    return await response.content.read(MAX_RESPONSE + 1)


#: What a request can fail with: network, timeout, refused address, malformed answer.
FAILURES: tuple[type[BaseException], ...] = (aiohttp.ClientError, TimeoutError, OSError)


def refused(exc: BaseException) -> bool:
    """True when the failure is a refused address, however aiohttp wrapped it (a resolver's
    error comes back inside a ClientConnectorError): that will not change on a retry."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, RefusedAddress):
            return True
        seen = getattr(seen, "os_error", None) or seen.__cause__ or seen.__context__
    return False


#: Connecting failed at once, and would again: nothing listens there, no route to it, or
#: no such name. (A timeout, a reset or a temporary DNS failure may pass.)
_UNREACHABLE = {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH}
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def unreachable(exc: BaseException) -> bool:
    """True when the callback could not be connected to at once: refused, unroutable, or
    its name does not exist."""
    if not isinstance(exc, aiohttp.ClientConnectorError):
        return False
    cause = exc.os_error
    if isinstance(cause, socket.gaierror):
        return cause.errno in _NO_SUCH_NAME
    return cause.errno in _UNREACHABLE


def describe(exc: BaseException) -> str:
    """A short reason for the records, never with a secret (no headers, no bodies)."""
    return f"{type(exc).__name__}: {exc}"[:300]
