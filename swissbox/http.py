"""One twisted.web site served over HTTP and HTTPS; ddns, dav and autoconfig mount onto it."""

from __future__ import annotations

import logging
from typing import Any

from twisted.internet.error import CannotListenError
from twisted.web.http import Request as HttpRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request, Site

from swissbox import __version__
from swissbox.runtime import BindError, Context, fmt_addr
from swissbox.tls import twisted_options

log = logging.getLogger("swissbox.http")


class RootPage(Resource):
    """`/`: says what this is; children are mounted by the composition root."""

    def getChild(self, path: bytes, request: Request) -> Resource:  # noqa: N802 (Twisted API)
        if path == b"":
            return self
        return Resource.getChild(self, path, request)

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return f"swissbox {__version__}\n".encode()


class QuietSite(Site):
    """A Site whose access log goes through `logging` (never credentials: no query strings)."""

    def log(self, request: HttpRequest) -> None:
        peer = request.getClientAddress()
        log.debug(
            "%s %s %s",
            getattr(peer, "host", "-"),
            request.method.decode("ascii", "replace"),
            request.path.decode("ascii", "replace")[:200],
        )


class HttpService:
    name = "http"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.root = RootPage()
        self.site = QuietSite(self.root)
        self.site.displayTracebacks = False
        self._ports: list[Any] = []

    def mount(self, path: str, resource: IResource) -> None:
        """Serves `resource` at /<path> (before start); 'a/b' nests under a plain container."""
        *parents, leaf = path.strip("/").split("/")
        node: Resource = self.root
        for name in parents:
            child = node.children.get(name.encode("ascii"))
            if child is None:
                child = Resource()
                node.putChild(name.encode("ascii"), child)
            node = child  # type: ignore[assignment]
        node.putChild(leaf.encode("ascii"), resource)

    async def start(self) -> list[str]:
        from twisted.internet import reactor as _reactor

        reactor: Any = _reactor

        s = self.ctx.settings
        lines = []
        options = twisted_options(self.ctx.tls)
        for address in s.server.listen:
            for port, key, tls in (
                (s.http.port, "http.port", False),
                (s.http.tls_port, "http.tls_port", True),
            ):
                try:
                    if tls:
                        listener = reactor.listenSSL(port, self.site, options, interface=address)
                    else:
                        listener = reactor.listenTCP(port, self.site, interface=address)
                except CannotListenError as exc:
                    await self.stop()
                    reason = getattr(exc.socketError, "strerror", None) or str(exc.socketError)
                    raise BindError(address, port, key, reason) from None
                self._ports.append(listener)
                lines.append(f"{'https' if tls else 'http'} {fmt_addr(address, port)}")
        return lines

    async def stop(self) -> None:
        ports, self._ports = self._ports, []
        for listener in ports:
            result = listener.stopListening()
            if result is not None:
                await result.asFuture(self.ctx.loop)
