"""Conditional GET, caching and cross-origin headers for a publication, in one place.

RFC 9110 §13.1.1/§13.1.3 and §13.2.2: If-None-Match (weak comparison) is evaluated first and,
when present, If-Modified-Since is ignored.
"""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime

from flask import Response

from publisher.publication import Publication

CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def not_modified(
    pub: Publication, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """True when the client's copy is current (so the answer is 304)."""
    if if_none_match is not None:
        return _etag_matches(if_none_match, pub.etag)
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return pub.last_modified <= since
    return False


def headers_for(pub: Publication, max_age: int) -> dict[str, str]:
    """Headers shared by the 200 and the 304 of a publication."""
    headers = {
        "ETag": pub.etag,
        "Last-Modified": format_datetime(pub.last_modified, usegmt=True),
        "Cache-Control": f"public, max-age={max_age}",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if pub.is_feed:
        headers["Access-Control-Allow-Origin"] = "*"
        headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified, Link"
    if pub.content_type.startswith("text/html"):
        headers["Content-Security-Policy"] = CSP
        headers["X-Frame-Options"] = "DENY"
    if pub.location:
        headers["Location"] = pub.location
    return headers


def respond(
    pub: Publication, max_age: int, if_none_match: str | None, if_modified_since: str | None
) -> Response:
    """The 200 (or 301/404/410) with the body, or a 304 without one."""
    headers = headers_for(pub, max_age)
    if pub.status == 200 and not_modified(pub, if_none_match, if_modified_since):
        return Response(status=304, headers=headers)
    return Response(pub.body, status=pub.status, headers=headers, content_type=pub.content_type)
