"""One twisted.web site served over HTTP and HTTPS; ddns, dav and autoconfig mount onto it."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
from collections.abc import Sequence
from typing import Any

from twisted.web.http import Request as HttpRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request, Site

from swissbox import __version__, metrics
from swissbox.runtime import BindError, Context, fmt_addr, listen_twisted, stop_twisted_ports

log = logging.getLogger("swissbox.http")

Networks = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]


def trusted_networks(entries: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Addresses or CIDR networks from the settings (validated by conf already) as networks."""
    return [ipaddress.ip_network(e, strict=False) for e in entries]


def client_address(request: Any, trusted: Networks) -> str | None:
    """The caller's address; X-Forwarded-For is honoured only from a trusted proxy, walking
    back from the nearest hop past our own proxies."""
    peer: str | None = getattr(request.getClientAddress(), "host", None)
    if peer is None:
        return None
    try:
        peer_ip = ipaddress.ip_address(peer)
    except ValueError:
        return peer
    if any(peer_ip in net for net in trusted):
        forwarded = request.getHeader(b"x-forwarded-for")
        if forwarded:
            hops = [h.strip() for h in forwarded.decode("latin-1").split(",") if h.strip()]
            for hop in reversed(hops):
                try:
                    hop_ip = ipaddress.ip_address(hop)
                except ValueError:
                    break
                if not any(hop_ip in net for net in trusted):
                    return str(hop_ip)
    return str(peer_ip)


def plain_credentials_allowed(secure: bool, peer: str | None, plain_networks: Networks) -> bool:
    """Whether a request may carry credentials: always over TLS; over plain HTTP only when the
    connection's own peer (not X-Forwarded-For: the hop that carried the password is what
    matters) is in `plain_networks` (`[http] plain_auth_networks`, loopback by default)."""
    if secure:
        return True
    try:
        ip = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # a dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d
    return any(ip in net for net in plain_networks)


def credentials_allowed(request: Any, plain_networks: Networks) -> bool:
    """`plain_credentials_allowed` for this request's listener and peer."""
    peer = getattr(request.getClientAddress(), "host", None)
    return plain_credentials_allowed(bool(request.isSecure()), peer, plain_networks)


def client_gone(request: Any) -> bool:
    """True once the client has hung up (Twisted's documented `_disconnected` flag) or the
    answer is complete: nothing more may be written."""
    return bool(request.finished or getattr(request, "_disconnected", False))


def send_answer(request: Any, body: bytes = b"") -> bool:
    """Writes `body` and finishes `request` unless the client has gone: the one way a late
    (deferred) answer leaves, so none is written to a lost connection. Returns whether sent."""
    if client_gone(request):
        return False
    if body:
        request.write(body)
    request.finish()
    return True


def basic_credentials(header: bytes | None) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic` header (RFC 7617, UTF-8); None when
    absent or malformed: another scheme, bad base64, no colon, an empty user."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep and user else None


class LimitedRequest(Request):
    """A request whose body may not exceed the site's `max_body`: answered 413 as soon as the
    announced length (or the bytes received so far) passes it. The rest of the body is read
    and dropped, so that clients that send it all before reading still see the 413; past
    `DRAIN_LIMIT` more bytes the connection is closed."""

    DRAIN_LIMIT = 64 * 1024 * 1024
    _refused = False
    _received = 0

    def _limit(self) -> int:
        site = getattr(self.channel, "site", None)
        return int(getattr(site, "max_body", 0) or 0)

    def _refuse(self) -> None:
        if self._refused:
            return
        self._refused = True
        log.info("http: request body over %d bytes refused", self._limit())
        transport: Any = self.channel.transport
        transport.write(
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 24\r\nConnection: close\r\n\r\nrequest body too large\r\n"
        )

    def gotLength(self, length: int | None) -> None:  # noqa: N802 (Twisted API)
        limit = self._limit()
        if limit and length is not None and length > limit:
            self._refuse()
            super().gotLength(None)  # an in-memory buffer that will stay empty
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802
        self._received += len(data)
        limit = self._limit()
        if not self._refused and limit and self._received > limit:
            self._refuse()
        if self._refused:
            if self._received > limit + self.DRAIN_LIMIT:
                transport: Any = self.channel.transport
                transport.loseConnection()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:  # noqa: N802
        if self._refused:
            transport: Any = self.channel.transport
            transport.loseConnection()
            return
        super().requestReceived(command, path, version)

    def process(self) -> None:
        hsts = getattr(getattr(self.channel, "site", None), "hsts", None)
        if hsts and self.isSecure():
            self.setHeader(b"strict-transport-security", hsts)
        super().process()


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
    """A Site whose access log goes through `logging` (never credentials: no query strings),
    whose request bodies are bounded (`max_body`, from `[http] max_body`) and whose HTTPS
    answers carry `hsts` as Strict-Transport-Security (from `[http] hsts_max_age`)."""

    requestFactory = LimitedRequest
    max_body = 10 * 1024 * 1024
    hsts: bytes | None = None

    def buildProtocol(self, addr: Any) -> Any:  # noqa: N802 (Twisted API)
        """Counts the connection (HTTP and HTTPS alike) while it is open."""
        channel = super().buildProtocol(addr)
        if channel is not None:
            metrics.opened("http")
            lost = channel.connectionLost

            def connection_lost(reason: Any) -> None:
                metrics.closed("http")
                lost(reason)

            channel.connectionLost = connection_lost
        return channel

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
        self.site.max_body = ctx.settings.http.max_body
        if ctx.settings.http.hsts_max_age:
            self.site.hsts = b"max-age=%d" % ctx.settings.http.hsts_max_age
        self._ports: list[Any] = []

    def mount(self, path: str, resource: IResource) -> None:
        """Serves `resource` at /<path> (before start); 'a/b' nests under a plain container."""
        *parents, leaf = path.strip("/").split("/")
        node: Any = self.root
        for name in parents:
            child = node.children.get(name.encode("ascii"))
            if child is None:
                child = Resource()
                node.putChild(name.encode("ascii"), child)
            node = child
        node.putChild(leaf.encode("ascii"), resource)

    async def start(self) -> list[str]:
        from twisted.internet import reactor as _reactor

        reactor: Any = _reactor

        s = self.ctx.settings
        lines = []
        options = self.ctx.certs.twisted_options()
        for address in s.server.listen:
            for port, key, tls in (
                (s.http.port, "http.port", False),
                (s.http.tls_port, "http.tls_port", True),
            ):
                try:
                    listener = listen_twisted(
                        reactor, address, port, key, self.site, options if tls else None
                    )
                except BindError:
                    await self.stop()
                    raise
                self._ports.append(listener)
                lines.append(f"{'https' if tls else 'http'} {fmt_addr(address, port)}")
        return lines

    async def stop(self) -> None:
        await stop_twisted_ports(self._ports, self.ctx.loop)
