"""Whose subscription requests wait for verification, so that the hub shares its room fairly.

Each client (the address a request comes from) may have HUB_MAX_PENDING_PER_CLIENT requests
waiting; when all clients together fill HUB_MAX_PENDING, a client holding fewer than another
still gets in, in place of the newest request of the client holding the most (max-min
fairness: one client, or a few, cannot stop everyone else subscribing), and a client with
nothing waiting always does.

The client's address is kept in this process's memory only, never logged nor written to
the database, like the access log that records none. An IPv6 client counts by its /64, the
block one host or site is given and can pick addresses from at will. Behind a reverse proxy
the address is the one the proxy forwarded (PUBLISHER_PROXIES); without that setting every
request comes from the proxy, so all its clients share one client's room.

Requests are known by id and callback; those the worker has verified or dropped meanwhile
(perhaps in another process) are forgotten when ``alive`` says they no longer wait.
Callers hold ``lock`` around a check and the recording that follows it.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Mapping

#: Given requests (id: callback), the ids of those still waiting for verification.
Alive = Callable[[Mapping[int, str]], set[int]]


def client_of(remote_addr: str | None) -> str:
    """Who is asking: the address, an IPv4-mapped IPv6 one as IPv4, an IPv6 one by its /64."""
    try:
        ip = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return remote_addr or ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Pending:
    """The requests each client has waiting, in this process: client -> {id: callback}."""

    def __init__(self, per_client: int, everyone: int) -> None:
        self.per_client = per_client
        self.everyone = everyone
        self.lock = threading.Lock()
        self._held: dict[str, dict[int, str]] = {}
        self._tracked = 0

    def has_room(self, client: str, alive: Alive) -> bool:
        """True while ``client`` has fewer than its share waiting."""
        held = self._held.get(client)
        if held and len(held) >= self.per_client:
            self._keep(client, alive(held))
        return len(self._held.get(client, ())) < self.per_client

    def room_for(self, client: str, alive: Alive) -> list[int]:
        """The requests the hub, when full, may drop one of to let ``client`` in: those of
        the client holding the most, if it would still hold as many as ``client`` then, or
        if ``client`` has nothing waiting at all. So a newcomer always gets in: a thousand
        addresses holding one request each could otherwise keep the hub full for as long as
        their callbacks take to time out."""
        self._sweep(alive)
        mine = len(self._held.get(client, ()))
        others = (c for c in self._held if c != client)
        most = max(others, key=lambda c: len(self._held[c]), default=None)
        if most is None or len(self._held[most]) - mine < (1 if mine == 0 else 2):
            return []
        return list(self._held[most])

    def add(
        self, client: str, intent: int, callback: str, dropped: int | None, alive: Alive
    ) -> None:
        """Record ``client``'s new request, and forget the one dropped to make room for it.
        Clients that never come back are forgotten once more requests are known here than
        can wait (twice HUB_MAX_PENDING)."""
        if dropped is not None:
            for other, held in self._held.items():
                if held.pop(dropped, None) is not None:
                    self._tracked -= 1
                    if not held:
                        del self._held[other]
                    break
        self._held.setdefault(client, {})[intent] = callback
        self._tracked += 1
        if self._tracked > 2 * self.everyone:
            self._sweep(alive)

    def _keep(self, client: str, ids: set[int]) -> None:
        """Keep only ``ids`` of ``client``'s requests (a client with none is forgotten)."""
        held = self._held.pop(client)
        kept = {i: cb for i, cb in held.items() if i in ids}
        self._tracked -= len(held) - len(kept)
        if kept:
            self._held[client] = kept

    def _sweep(self, alive: Alive) -> None:
        """Forget every request no longer waiting: one look-up for all clients."""
        everything = {i: cb for held in self._held.values() for i, cb in held.items()}
        waiting = alive(everything) if everything else set()
        for client in list(self._held):
            self._keep(client, waiting)
