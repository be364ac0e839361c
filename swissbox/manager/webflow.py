"""What every group of Manager pages shares: the answer shape, a redirect, a refusal in
words, and the flash message a change leaves for the page it redirects to
(POST-redirect-GET: reloading that page repeats nothing)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from swissbox.manager import csrf
from swissbox.manager.auth import COOKIE as SESSION_COOKIE
from swissbox.manager.endpoint import ApiError

if TYPE_CHECKING:
    from twisted.web.server import Request

    from swissbox.manager.web import WebResource

Answer = tuple[int, bytes, dict[bytes, bytes]]
Handler = Callable[..., Awaitable[Answer]]
Route = tuple[str, list[str], Handler]
FORM_OUTDATED = (
    "This form is out of date or did not come from this site (its security token is missing"
    " or wrong). Reload the page and try again."
)
FLASH = b"swissbox_flash"
FLASH_MAX = 600  # characters of a notice carried to the next page
_NOTICE_ATTR = "swissbox_notice"


class Redirect(Exception):
    """Answer 303 to `to`; `notice` is shown once by the page there."""

    def __init__(self, to: str, headers: dict[bytes, bytes] | None = None, notice: str = ""):
        super().__init__(to)
        self.to, self.headers, self.notice = to, headers or {}, notice


def words(exc: ApiError) -> str:
    """The refusal as a person reads it."""
    if exc.reason in (csrf.MISSING, csrf.WRONG):
        return FORM_OUTDATED
    if exc.status == 403:
        return f"Not allowed: {exc.reason or exc.error}."
    return exc.error[:1].upper() + exc.error[1:] + ("" if exc.error.endswith(".") else ".")


def passes_through(exc: ApiError) -> bool:
    """Refusals a form does not show beside itself: an ended session (the login page) and a
    form without its security token (the error page)."""
    return exc.status == 401 or exc.reason in (csrf.MISSING, csrf.WRONG)


def segment(value: Any) -> str:
    """One path segment of an API path (names with spaces, slashes or '#' stay one)."""
    return quote(str(value), safe="@")


# -- cookies that carry something to the next page ------------------------------------------
# Signed with the session cookie's value (secret, HttpOnly) and a purpose: another site, a
# sibling host, another session or another kind of cookie cannot plant one.


def _signature(session: bytes, purpose: bytes, data: bytes) -> str:
    mac = hmac.new(session, purpose + b":" + data, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def sealed_cookie(name: bytes, purpose: bytes, session: bytes, data: bytes, secure: bool) -> bytes:
    """The Set-Cookie value carrying `data` to the next page of this session (two minutes)."""
    value = base64.urlsafe_b64encode(data).decode().rstrip("=") + "."
    value += _signature(session, purpose, data)
    parts = [name + b"=" + value.encode(), b"Path=/manager", b"HttpOnly", b"SameSite=Strict"]
    parts.append(b"Max-Age=120")
    return b"; ".join(parts + ([b"Secure"] if secure else []))


def open_sealed(purpose: bytes, session: bytes | None, raw: bytes | None) -> bytes | None:
    """The data of a cookie `sealed_cookie` made for this session and purpose, else None."""
    if not session or not raw:
        return None
    encoded, _, signature = raw.decode("ascii", "replace").partition(".")
    try:
        data = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(signature, _signature(session, purpose, data)):
        return None
    return data


def cleared_cookie(name: bytes, secure: bool) -> bytes:
    parts = [name + b"=", b"Path=/manager", b"HttpOnly", b"SameSite=Strict", b"Max-Age=0"]
    return b"; ".join(parts + ([b"Secure"] if secure else []))


def flash_cookie(session: bytes | None, notice: str, secure: bool) -> bytes | None:
    """The Set-Cookie value carrying `notice` to the next page (None without a session)."""
    if not session or not notice:
        return None
    return sealed_cookie(FLASH, b"flash", session, notice[:FLASH_MAX].encode(), secure)


def clear_cookie(secure: bool) -> bytes:
    return cleared_cookie(FLASH, secure)


def read_flash(session: bytes | None, raw: bytes | None) -> str:
    """The notice of a flash cookie made for this session, else ""."""
    text = open_sealed(b"flash", session, raw)
    return "" if text is None else text.decode("utf-8", "replace")[:FLASH_MAX]


def take_flash(request: Request, secure: bool) -> None:
    """Reads (and clears) the request's flash cookie; `flash(request)` then gives it."""
    raw = request.getCookie(FLASH)
    if raw is None:
        return
    request.cookies.append(clear_cookie(secure))
    setattr(request, _NOTICE_ATTR, read_flash(request.getCookie(SESSION_COOKIE), raw))


def flash(request: Request) -> str:
    return str(getattr(request, _NOTICE_ATTR, ""))


def leave_flash(request: Request, notice: str, secure: bool) -> None:
    cookie = flash_cookie(request.getCookie(SESSION_COOKIE), notice, secure)
    if cookie is not None:
        request.cookies.append(cookie)


# -- a group of pages -----------------------------------------------------------------------


class Section:
    """A group of pages in its own module: its routes, and the steps they share."""

    def __init__(self, web: WebResource) -> None:
        self.web = web

    def routes(self) -> list[Route]:
        raise NotImplementedError

    async def org(self, request: Request, oid: int) -> tuple[str, str, dict[str, Any]]:
        """(login, CSRF token, organization with the caller's permissions)."""
        login, token = await self.web.who(request)
        return login, token, await self.web.call(request, "GET", f"/orgs/{oid}")

    async def change(
        self,
        request: Request,
        method: str,
        rest: str,
        body: Any,
        back: str,
        done: str | Callable[[Any], str],
        refused: Callable[[ApiError], Awaitable[Answer]],
    ) -> Answer:
        """One change through the API: success redirects to `back` with `done` as its
        notice; a refusal is shown by `refused` (the form again, with the error)."""
        try:
            answer = await self.web.call(request, method, rest, body)
        except ApiError as exc:
            if passes_through(exc):
                raise
            return await refused(exc)
        raise Redirect(back, notice=done(answer) if callable(done) else done)
