"""Who is calling: a browser session (cookie) or a script (`Authorization: Bearer` API token),
both in the **account** realm only (the accounts that log in to DAV; mailbox and DDNS
secrets open nothing here).

- Login (`POST /api/v1/session`) checks the password through the shared `Authenticator`:
  the same bounded Argon2 pool, failure delays and lockouts as IMAP, SMTP and DAV.
- Every login mints a new random session id (a session id the client brought is never
  adopted, and the one it had is ended: no fixation). The cookie is HttpOnly,
  SameSite=Strict, Secure on HTTPS; the server keeps only its SHA-256 digest.
- An API token that is unknown or revoked counts as a failed login of the account realm in
  the same rate limiter, under an identifier made of the client address (`token_identity`):
  a guesser is locked out per address (and its address counts towards the limiter's
  per-address lockout shared with every protocol), but bad tokens sprayed from many
  addresses can never lock out everyone's tokens.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import Any

from swissbox.auth import Authenticator
from swissbox.directory import Directory
from swissbox.directory.managerdata import SessionRow, TokenRow
from swissbox.manager import csrf
from swissbox.manager.endpoint import ApiError, refuse
from swissbox.manager.tokens import digest, looks_like_api_token, new_secret

REALM = "account"
COOKIE = b"swissbox_session"
SESSION_LIFETIME = 12 * 3600  # seconds a session lasts at most
SESSION_IDLE = 3600  # seconds without a request that end it
NOT_LOGGED_IN = "log in (POST /api/v1/session) or send an API token (Authorization: Bearer)"
BAD_TOKEN = "unknown or revoked API token"
PLAIN_HTTP = "credentials are accepted only over HTTPS"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the account, and the token or session it came with."""

    login: str
    session: SessionRow | None = None
    token: TokenRow | None = None
    session_digest: str = ""  # the session's key in the directory (SHA-256 of the cookie)

    @property
    def via(self) -> str:
        return f"token:{self.token.id}" if self.token is not None else "session"


def bearer(request: Any) -> str | None:
    header = request.getHeader(b"authorization")
    if not header:
        return None
    scheme, _, value = header.strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return value.strip().decode("latin-1")


def session_cookie(request: Any) -> str | None:
    raw = request.getCookie(COOKIE)
    if not raw or len(raw) > 200:
        return None
    return raw.decode("latin-1")


def token_identity(client: str | None) -> str:
    """The rate limiter's identifier for API tokens tried from `client`."""
    return f"api-token@{client or '-'}"


def identify_token(
    directory: Directory, authenticator: Authenticator, token: str, client: str | None
) -> tuple[Principal | None, float]:
    """(principal, 0) for a live token; (None, delay to wait before answering 401) else.
    Blocking (database, limiter)."""
    limiter, identity = authenticator.limiter, token_identity(client)
    if limiter.locked(REALM, identity, client):
        return None, limiter.delay_max
    row = directory.token_by_digest(digest(token)) if looks_like_api_token(token) else None
    if row is None or row.revoked is not None:
        return None, limiter.failure(REALM, identity, client, token)
    directory.token_used(row.id)
    return Principal(row.login, token=row), 0.0


def identify_session(directory: Directory, request: Any) -> Principal:
    """The session of the request's cookie, with the CSRF check of state-changing methods.
    Blocking (database)."""
    sid = session_cookie(request)
    if sid is None:
        raise ApiError(401, NOT_LOGGED_IN)
    key = digest(sid)
    row = directory.session(key, SESSION_IDLE)
    if row is None:
        raise ApiError(401, "the session has ended: log in again")
    problem = csrf.check(request.method, row.csrf, request.getHeader(csrf.HEADER))
    problem = problem or origin_problem(request)
    if problem is not None:
        raise refuse(problem)
    return Principal(row.login, session=row, session_digest=key)


def user_agent(request: Any) -> str:
    """The request's User-Agent header as text (empty when none)."""
    value = request.getHeader(b"user-agent") or b""
    return bytes(value).decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def origin_problem(request: Any) -> str | None:
    """`csrf.cross_site` for this request (its Origin against its Host header)."""
    return csrf.cross_site(request.method, request.getHeader(b"origin"), request.getHeader(b"host"))


def start_session(
    directory: Directory, login: str, old_sid: str | None, client: str = "", agent: str = ""
) -> tuple[str, str, int]:
    """A new session for `login`: (session id, CSRF token, expiry), remembering the client's
    address and User-Agent. The old one, if the browser had one, ends: a planted session id
    never becomes a logged-in one."""
    if old_sid:
        directory.end_session(digest(old_sid))
    sid, token = new_secret(), new_secret()
    directory.create_session(digest(sid), login, token, SESSION_LIFETIME, client, agent)
    return sid, token, int(time.time()) + SESSION_LIFETIME


def is_https(request: Any, trusted: Any) -> bool:
    """Whether the browser spoke HTTPS: this connection, or (from a trusted proxy that
    terminates TLS) `X-Forwarded-Proto: https`; decides the cookie's Secure flag."""
    if request.isSecure():
        return True
    peer = getattr(request.getClientAddress(), "host", None)
    try:
        ip = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    proto = (request.getHeader(b"x-forwarded-proto") or b"").strip().lower()
    return proto == b"https" and any(ip in net for net in trusted)


def cookie_header(sid: str, secure: bool, max_age: int = SESSION_LIFETIME) -> bytes:
    """The Set-Cookie value; an empty `sid` with max_age 0 deletes the cookie."""
    parts = [
        COOKIE + b"=" + sid.encode("ascii"),
        b"Path=/",
        b"HttpOnly",
        b"SameSite=Strict",
        b"Max-Age=%d" % max_age,
    ]
    if secure:
        parts.append(b"Secure")
    return b"; ".join(parts)
