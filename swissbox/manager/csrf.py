"""CSRF protection of cookie sessions: a synchronizer token.

Each session has its own random CSRF token, kept server-side beside the session and handed to
the page (the answer to login and to `GET /api/v1/session`); every state-changing request
made with the session cookie must echo it in the `X-CSRF-Token` header. Chosen over
double-submit cookies because the session is server-side anyway (nothing to gain from a
stateless check), and because a double-submit cookie can be planted by any sibling host name
(this server hosts many domains and their subdomains), which a token that only the
session's own answers reveal cannot. Requests with a Bearer token carry no ambient
credentials and need no CSRF token; SameSite=Strict on the cookie is a second wall.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

HEADER = b"x-csrf-token"
SAFE_METHODS = frozenset({b"GET", b"HEAD", b"OPTIONS"})
MISSING = "this request needs the session's CSRF token in the X-CSRF-Token header"
WRONG = "the X-CSRF-Token header does not match this session"
CROSS_SITE = "a request from another site (Origin) may not change anything here"


def check(method: bytes, expected: str, given: bytes | None) -> str | None:
    """None when the request may go on; else the reason to refuse it (403)."""
    if method.upper() in SAFE_METHODS:
        return None
    if not given:
        return MISSING
    try:
        text = given.decode("ascii")
    except UnicodeDecodeError:
        return WRONG
    if not hmac.compare_digest(text.encode(), expected.encode()):
        return WRONG
    return None


def cross_site(method: bytes, origin: bytes | None, host: bytes | None) -> str | None:
    """A second wall: a state-changing request whose `Origin` (sent by every current browser
    on POST/PUT/PATCH/DELETE) names another host than the one asked is refused. No Origin
    (scripts, old browsers) passes: the token check above still applies."""
    if method.upper() in SAFE_METHODS or not origin:
        return None
    try:
        parts = urlsplit(origin.decode("ascii"))
        asked = (host or b"").decode("ascii").lower()
    except (UnicodeDecodeError, ValueError):
        return CROSS_SITE
    if parts.scheme not in ("http", "https") or (parts.netloc or "").lower() != asked:
        return CROSS_SITE
    return None
