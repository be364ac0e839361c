"""The HTTP side of DAV: `/dav` in front of Radicale's WSGI resource, and the well-known
redirects.

`DavResource` decides what never needs a Radicale worker thread:
- plain HTTP from a peer outside `[http] plain_auth_networks` (403, no challenge: a 401 would
  invite the password in clear), before any password is looked at;
- XML bodies with a DTD (entity-expansion bombs, 400); bodies over `[http] max_body` never
  get here (the site's `LimitedRequest` answers 413 while they arrive); bodies nested too deep
  are refused by `XmlDepthGuard` in the worker thread, before Radicale parses them;
- Basic credentials: checked in the account realm off the loop; a failure is answered 401
  after the rate limiter's delay, waited on the loop (no thread is held);
- the read-only rules of the directory address books (403): writes inside them, and the
  whole-collection GET (Radicale's export).
Everything else goes to Radicale in its own thread pool.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import unquote, urlparse

from radicale import pathutils
from twisted.internet.defer import Deferred
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from swissbox.auth import Authenticator, AuthResult
from swissbox.dav import xmlguard
from swissbox.dav.auth import REALM
from swissbox.dav.collection import parse_directory_name
from swissbox.http import (
    Networks,
    basic_credentials,
    client_address,
    client_gone,
    credentials_allowed,
    send_answer,
)

log = logging.getLogger("swissbox.dav")

XML_METHODS = {m.encode() for m in xmlguard.XML_METHODS}
WRITE_METHODS = {b"PUT", b"DELETE", b"MOVE", b"COPY", b"MKCOL", b"MKCALENDAR", b"POST"}
AUTH_REALM = 'Basic realm="swissbox", charset="UTF-8"'
PLAIN_HTTP_REFUSED = "CalDAV/CardDAV needs HTTPS: passwords are not accepted over plain HTTP"


def dav_path(segments: list[bytes]) -> str:
    """The sanitized path Radicale will see for the request's remaining segments."""
    raw = "/" + "/".join(s.decode("utf-8", "replace") for s in segments)
    return pathutils.sanitize_path(raw)


def directory_parts(path: str) -> list[str] | None:
    """Path components when `path` is a directory collection or inside one, else None."""
    parts = [p for p in pathutils.strip_path(path).split("/") if p]
    if len(parts) >= 2 and parse_directory_name(parts[1]) is not None:
        return parts
    return None


def has_dtd(body: bytes) -> bool:
    head = body.lower()
    return b"<!doctype" in head or b"<!entity" in head


class DavResource(Resource):
    isLeaf = True

    def __init__(
        self,
        wsgi: Any,
        authenticator: Authenticator,
        loop: asyncio.AbstractEventLoop,
        trusted_proxies: Networks = (),
        plain_networks: Networks = (),
    ) -> None:
        super().__init__()
        self.wsgi = wsgi
        self.authenticator = authenticator
        self.loop = loop
        self.trusted_proxies = trusted_proxies
        self.plain_networks = plain_networks

    @staticmethod
    def _answer(request: Request, code: int, text: str) -> bytes:
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return (text + "\n").encode()

    def render(self, request: Request) -> Any:
        if not credentials_allowed(request, self.plain_networks):
            return self._answer(request, 403, PLAIN_HTTP_REFUSED)
        content = request.content
        if request.method in XML_METHODS and content is not None:
            content.seek(0)
            dtd = has_dtd(content.read())
            content.seek(0)
            if dtd:
                return self._answer(request, 400, "XML with a DTD is not accepted")
        header = request.getHeader(b"authorization")
        if header is None:
            return self.wsgi.render(request)  # Radicale answers 401 where it matters
        creds = basic_credentials(header)
        if creds is None:
            return self._unauthorized(request)
        login, password = creds
        address = client_address(request, self.trusted_proxies)
        remembered = self.authenticator.remembered(REALM, login, password, address)
        if remembered is not None and remembered.identifier:
            return self._authorized(request, remembered.identifier)

        def done(result: AuthResult) -> None:
            if client_gone(request):
                return
            if result.ok and result.identifier:
                body = self._authorized(request, result.identifier)
            elif result.busy:
                request.setHeader(b"retry-after", b"5")
                body = self._answer(request, 503, "too many logins at once, try again shortly")
            else:
                body = self._unauthorized(request)
            if body is not NOT_DONE_YET:
                send_answer(request, body)

        def failed(failure: Any) -> None:
            log.error("dav: authentication error: %s", failure.getErrorMessage())
            if not client_gone(request):
                request.setResponseCode(500)
                send_answer(request)

        d = Deferred.fromFuture(
            asyncio.ensure_future(
                self.authenticator.authenticate_async(REALM, login, password, address, apps=True),
                loop=self.loop,
            )
        )
        d.addCallbacks(done, failed)
        return NOT_DONE_YET

    def _unauthorized(self, request: Request) -> bytes:
        request.setHeader(b"www-authenticate", AUTH_REALM.encode())
        return self._answer(request, 401, "authentication failed")

    def _authorized(self, request: Request, user: str) -> Any:
        path = dav_path(request.postpath or [])
        method = request.method
        parts = directory_parts(path)
        if parts is not None:
            if method in WRITE_METHODS:
                return self._answer(request, 403, "the organization directory is read-only")
            if method in (b"GET", b"HEAD") and len(parts) == 2:
                return self._answer(
                    request, 403, "the organization directory cannot be exported in one GET"
                )
        if method in (b"MOVE", b"COPY"):
            destination = request.getHeader(b"destination")
            if destination:
                dest = destination.decode("utf-8", "replace")
                dest_path = unquote(urlparse(dest).path)
                if dest_path.startswith("/dav/") and directory_parts(dest_path[4:]) is not None:
                    return self._answer(request, 403, "the organization directory is read-only")
        return self.wsgi.render(request)


class WellKnown(Resource):
    """`/.well-known/caldav` and `/.well-known/carddav` -> `/dav/` (RFC 6764)."""

    isLeaf = True

    def __init__(self, target: bytes = b"/dav/") -> None:
        super().__init__()
        self.target = target

    def render(self, request: Request) -> bytes:
        request.setResponseCode(301)
        request.setHeader(b"location", self.target)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"see /dav/\n"
