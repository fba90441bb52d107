"""Conditional GET, caching and cross-origin headers for a publication, in one place.

RFC 9110 §13.1.1/§13.1.3 and §13.2.2: If-None-Match (weak comparison) is evaluated first and,
when present, If-Modified-Since is ignored. The headers of each publication are worked out
once (``prepare``), not per request: serving is then a look-up and a comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime

from publisher.hub.discovery import links
from publisher.model.publication import Publication

CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
#: Embed pages: the same, but any site may frame them.
EMBED_CSP = CSP.replace("frame-ancestors 'none'", "frame-ancestors *")


@dataclass(frozen=True)
class Prepared:
    """A publication with its response headers ready: the full answer and the 304."""

    publication: Publication
    status: int
    headers: list[tuple[str, str]]
    not_modified_headers: list[tuple[str, str]]


def prepare(pub: Publication, max_age: int, hubs: tuple[str, ...] = (), base: str = "") -> Prepared:
    """Headers shared by the 200 and the 304 (so a 304 carries the hub links too), plus type
    and length for the full answer."""
    shared = [
        ("ETag", pub.etag),
        ("Last-Modified", format_datetime(pub.last_modified, usegmt=True)),
        ("Cache-Control", f"public, max-age={max_age}"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]
    if pub.is_feed:
        shared.append(("Access-Control-Allow-Origin", "*"))
        shared.append(("Access-Control-Expose-Headers", "ETag, Last-Modified, Link"))
    if pub.frameable:
        shared.append(("Content-Security-Policy", EMBED_CSP))
    elif pub.content_type.startswith("text/html"):
        shared.append(("Content-Security-Policy", CSP))
        shared.append(("X-Frame-Options", "DENY"))
    if pub.location:
        shared.append(("Location", pub.location))
    if pub.is_topic and hubs:
        shared += links(pub, hubs, base)
    full = [
        ("Content-Type", pub.content_type),
        ("Content-Length", str(len(pub.body))),
        *shared,
    ]
    return Prepared(pub, pub.status, full, shared)


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def not_modified(
    pub: Publication, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """True when the client's copy is current (so the answer is 304)."""
    if pub.status != 200:
        return False
    if if_none_match is not None:
        return if_none_match == pub.etag or _etag_matches(if_none_match, pub.etag)
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return pub.last_modified <= since
    return False
