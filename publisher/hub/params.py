"""Read a subscriber's request to the hub (W3C WebSub §5.1), or say plainly what is wrong.

Pure: no database, no network. The caller passes the topics this service publishes, so a
request for anything else is refused here (§5.1: the hub may decline topics it does not
serve), with a reason that names the parameter.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

MAX_CALLBACK = 2000
#: A host as DNS or an IP literal writes it: labels of letters, digits and hyphens, or an
#: IPv6 literal (urlsplit gives it without brackets).
_HOST = re.compile(
    r"^(?:(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?|[0-9a-f:.]+)$"
)
MAX_SECRET_BYTES = 200  # §5.1: "MUST be less than 200 bytes in length"
MODES = ("subscribe", "unsubscribe")


class HubRequestError(ValueError):
    """A request the hub refuses: the HTTP status and a reason naming the parameter."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class HubRequest:
    mode: str
    callback: str
    #: The callback's host as it will be dialled: its address when numeric, else the name
    #: (without a trailing dot). What the per-host limit counts.
    host: str
    topic: str  # the topic's path, e.g. /feeds/all.atom
    secret: str | None
    lease_seconds: int


@dataclass(frozen=True)
class Leases:
    default: int
    minimum: int
    maximum: int


#: NAT64's well-known prefix (RFC 6052): 64:ff9b::a00:1 reaches 10.0.0.1.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def non_public(address: str) -> bool:
    """True for loopback, private, link-local, multicast, reserved and unspecified
    addresses, also when written inside an IPv6 address (IPv4-mapped, IPv4-compatible,
    6to4, Teredo, NAT64): a hub must not be a way into the network it sits in."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and (ip in NAT64 or int(ip) >> 32 == 0 or int(ip) >> 32 == 0xFFFF):
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)  # NAT64, ::a.b.c.d, ::ffff:0:..
        if inner is not None and non_public(str(inner)):
            return True
        if ip.is_site_local:
            return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved


def _split(url: str) -> SplitResult | None:
    """The parts of ``url``, or None when it cannot be read (a bad port or IPv6 host)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading the port is what checks it
    except ValueError:
        return None
    return parts


#: One part of an IPv4 address as the C library reads it (inet_aton, which getaddrinfo
#: uses): decimal, octal after a 0, hexadecimal after 0x.
_PART = re.compile(r"0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*", re.IGNORECASE)


def _part(text: str) -> int:
    if text[:2].lower() == "0x":
        return int(text[2:], 16)
    return int(text, 8 if text.startswith("0") else 10)


def numeric_address(host: str) -> str | None:
    """The IP address a numeric host stands for, or None for a name.

    The C resolver reads more than dotted quads: one to four parts, each decimal, octal
    (0177) or hexadecimal (0x7f), the last filling the bytes left, so 0177.0.0.1, 0x7f.1,
    127.1 and 2130706433 all connect to 127.0.0.1. One trailing dot (an absolute name) is
    read as the same address. An IPv4-mapped IPv6 address is its IPv4 address.
    """
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        parts = host.removesuffix(".").split(".")
        if not 1 <= len(parts) <= 4 or not all(_PART.fullmatch(p) for p in parts):
            return None
        *leading, last = (_part(p) for p in parts)
        if any(n > 0xFF for n in leading) or last >= 1 << 8 * (4 - len(leading)):
            return None
        value = sum(n << 8 * (3 - i) for i, n in enumerate(leading)) + last
        return str(ipaddress.IPv4Address(value))
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def parse(
    form: Mapping[str, str],
    base: str,
    topics: Collection[str],
    leases: Leases,
    allow_private: bool,
) -> HubRequest:
    """The request in ``form``; HubRequestError (4xx) when it cannot be accepted."""
    mode = form.get("hub.mode")
    if not mode:
        raise HubRequestError(400, "hub.mode is missing: send subscribe or unsubscribe.")
    if mode not in MODES:
        raise HubRequestError(
            400, f"hub.mode {mode[:40]!r} is not known here: send subscribe or unsubscribe."
        )
    callback = form.get("hub.callback", "")
    if not callback:
        raise HubRequestError(400, "hub.callback is missing: send the URL to deliver to.")
    if len(callback) > MAX_CALLBACK:
        raise HubRequestError(400, f"hub.callback is longer than {MAX_CALLBACK} characters.")
    parts = _split(callback)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise HubRequestError(400, "hub.callback must be an http:// or https:// URL.")
    if parts.fragment or any(c.isspace() for c in callback):
        raise HubRequestError(400, "hub.callback must not contain spaces or a #fragment.")
    if not parts.hostname.isascii() or not _HOST.match(parts.hostname):
        # yarl would turn '１２７.０.０.１' into 127.0.0.1 behind the literal check below.
        raise HubRequestError(
            400, "hub.callback must have a plain ASCII host name (IDNA-encode it: xn--...)."
        )
    address = numeric_address(parts.hostname)
    if address is not None and non_public(address) and not allow_private:
        raise HubRequestError(
            400,
            "hub.callback is on a private or local address, which this hub does not call.",
        )
    topic = form.get("hub.topic", "")
    if not topic:
        raise HubRequestError(400, "hub.topic is missing: send the URL of a feed or calendar.")
    path = topic[len(base) :] if topic.startswith(base + "/") else None
    if path is None or path not in topics:
        raise HubRequestError(
            404,
            "hub.topic is not a feed or calendar published here: subscribe to the address "
            "in a feed's or calendar's Link rel=\"self\".",
        )
    secret = form.get("hub.secret") or None
    if secret is not None and len(secret.encode()) >= MAX_SECRET_BYTES:
        raise HubRequestError(400, f"hub.secret must be shorter than {MAX_SECRET_BYTES} bytes.")
    lease_text = form.get("hub.lease_seconds", "")
    if lease_text:
        if not (lease_text.isascii() and lease_text.isdigit()) or len(lease_text) > 12:
            raise HubRequestError(400, "hub.lease_seconds must be a whole number of seconds.")
        lease = min(max(int(lease_text), leases.minimum), leases.maximum)
    else:
        lease = leases.default
    host = address or parts.hostname.removesuffix(".")
    return HubRequest(mode, callback, host, path, secret, lease)
