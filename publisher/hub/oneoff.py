"""One-off outgoing HTTP calls, with requests: the pings to external hubs (W3C WebSub §6).

requests is the project's HTTP client for calls made one at a time; the fan-out to
subscribers, with many requests in flight, stays on aiohttp (``client``, bench part E).
The hub's rules hold here too:

- the address actually connected to is checked right after connecting, before a byte is
  sent: loopback, private, link-local, multicast or reserved addresses are refused unless
  HUB_ALLOW_PRIVATE_CALLBACKS, whatever the URL holds (a name, an IP literal in any
  spelling, a name that resolves elsewhere the second time);
- redirects are never followed; no proxy or netrc settings from the environment; each call
  has a session of its own, so no cookie is kept;
- one deadline for the whole call: requests' own timeout bounds each read, not their sum,
  so at the deadline a timer shuts the connection down; at most MAX_RESPONSE bytes of the
  answer are read.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from publisher.hub.client import MAX_RESPONSE, USER_AGENT, RefusedAddress
from publisher.hub.params import non_public

#: What a call can fail with: network, refused address, deadline, malformed answer.
FAILURES: tuple[type[BaseException], ...] = (requests.RequestException, OSError)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most MAX_RESPONSE + 1 bytes, so a longer one shows as such


@dataclass
class _Call:
    """The rules of the call in progress, and the connections it opened."""

    allow_private: bool
    opened: list[socket.socket] = field(default_factory=list)
    refused: str | None = None
    expired: bool = False

    def expire(self) -> None:
        """The deadline: shut every connection of the call down, which ends a read in
        progress (through TLS too: each is a duplicate of the connected socket)."""
        self.expired = True
        for handle in list(self.opened):
            with suppress(OSError):
                handle.shutdown(socket.SHUT_RDWR)


_current: ContextVar[_Call] = ContextVar("publisher_oneoff_call")


class _Checked(HTTPConnection):
    """urllib3's connection, checked on the address it connected to: in ``_new_conn``,
    the step between connecting and the first byte, which HTTP and HTTPS both take (the
    tests pin it, since urllib3 names it private)."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        call = _current.get()
        call.opened.append(sock.dup())
        address = sock.getpeername()[0]
        if not call.allow_private and non_public(address):
            sock.close()
            call.refused = f"{self.host} is at {address}, not a public address"
            raise RefusedAddress(call.refused)
        return sock


class _CheckedTLS(HTTPSConnection, _Checked):
    """The same over TLS: the address is checked before the handshake."""


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Checked


class _PoolTLS(HTTPSConnectionPool):
    ConnectionCls = _CheckedTLS


class _Adapter(HTTPAdapter):
    """requests' adapter, with urllib3 pools of checked connections."""

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _PoolTLS}


def _session() -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    http.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    adapter = _Adapter(max_retries=0)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def request(
    method: str,
    url: str,
    *,
    timeout: float,
    allow_private: bool,
    body: bytes | None = None,
    headers: Sequence[tuple[str, str]] = (),
) -> Answer:
    """One call to ``url`` within ``timeout`` seconds in all. Raises RefusedAddress for a
    host that is not public, TimeoutError at the deadline, and requests' errors else."""
    call = _Call(allow_private)
    token = _current.set(call)
    deadline = threading.Timer(timeout, call.expire)
    deadline.start()
    try:
        with (
            _session() as http,
            http.request(
                method,
                url,
                data=body,
                headers=dict(headers),
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            ) as response,
        ):
            read = bytearray()
            for chunk in response.iter_content(16 * 1024):
                read += chunk
                if len(read) > MAX_RESPONSE:
                    break
            return Answer(response.status_code, bytes(read[: MAX_RESPONSE + 1]))
    except FAILURES as exc:
        if call.refused:
            raise RefusedAddress(call.refused) from exc
        if call.expired:
            raise TimeoutError(f"no whole answer within {timeout:g} s") from exc
        raise
    finally:
        deadline.cancel()
        _current.reset(token)
        for handle in call.opened:
            handle.close()
