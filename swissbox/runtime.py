"""What the composition root hands every service, and the service contract itself.

A service is built from a `Context`, then `await start()` opens its listeners and returns
one description per listener ("smtp-mx 127.0.0.1:10025"), `await stop()` closes them.
A port that cannot be bound raises `BindError` naming the address, port and config key.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from swissbox.auth import Authenticator
from swissbox.conf import Config, Settings
from swissbox.directory import Directory
from swissbox.tls import CertPaths, LiveCertificate

# Context events (ctx.emit/ctx.on) that cross protocol packages.
ZONE_CHANGED = "dns.zone_changed"  # a hosted zone's records changed: answer from them now
# From the admin API (called on its worker threads): (org, login, old role, new role), and
# (login, member receiving the data or None to delete it) when a removal deleted the account.
MEMBER_ROLE_CHANGED = "org.member_role_changed"
ACCOUNT_REMOVED = "org.account_removed"


class BindError(Exception):
    """A listener that could not be opened: one line naming address, port and config key."""

    def __init__(self, address: str, port: int, key: str, reason: str) -> None:
        self.address, self.port, self.key, self.reason = address, port, key, reason
        super().__init__(f"cannot listen on {fmt_addr(address, port)} ({key}): {reason}")


def fmt_addr(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@dataclass
class Context:
    """Shared core objects; protocols reach each other only through these."""

    config: Config
    directory: Directory
    authenticator: Authenticator
    tls: CertPaths
    loop: asyncio.AbstractEventLoop
    # Hooks the composition root wires between services, e.g. zone changed -> DNS NOTIFY.
    hooks: dict[str, list[Callable[..., Any]]] = field(default_factory=dict)
    # What the TLS listeners serve; ACME renewal swaps it without a restart.
    certs: LiveCertificate = field(init=False)

    def __post_init__(self) -> None:
        self.certs = LiveCertificate(self.tls)

    @property
    def settings(self) -> Settings:
        return self.config.settings

    def on(self, event: str, callback: Callable[..., Any]) -> None:
        self.hooks.setdefault(event, []).append(callback)

    def emit(self, event: str, *args: Any) -> None:
        for callback in self.hooks.get(event, []):
            callback(*args)


class Service(Protocol):
    name: str

    async def start(self) -> list[str]: ...

    async def stop(self) -> None: ...


class HttpApp(Service, Protocol):
    """A service without listeners of its own: it mounts resources on the shared site."""

    def http_resources(self) -> dict[str, Any]: ...


async def listen_tcp(
    loop: asyncio.AbstractEventLoop,
    factory: Callable[[], asyncio.BaseProtocol],
    addresses: list[str],
    port: int,
    key: str,
    **kwargs: Any,
) -> list[asyncio.Server]:
    """One asyncio server per address; BindError (after closing the others) on failure."""
    servers: list[asyncio.Server] = []
    for address in addresses:
        try:
            servers.append(
                await loop.create_server(factory, address, port, reuse_address=True, **kwargs)
            )
        except OSError as exc:
            for server in servers:
                server.close()
            raise BindError(address, port, key, exc.strerror or str(exc)) from None
    return servers


def stream_socket(address: str, port: int, key: str, backlog: int = 50) -> socket.socket:
    """A bound, listening TCP socket; BindError on failure. IPv6 sockets are IPv6-only (as
    asyncio makes its servers' sockets), so "::" and "0.0.0.0" can both be listed in
    [server] listen: a dual-stack "::" would take the IPv4 port the other one needs."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise BindError(address, port, key, exc.strerror or str(exc)) from None
    sock.setblocking(False)
    return sock


def listen_twisted(
    reactor: Any,
    address: str,
    port: int,
    key: str,
    factory: Any,
    tls_options: Any = None,
    backlog: int = 50,
) -> Any:
    """A Twisted listening port on `stream_socket` (TLS through Twisted's TLSMemoryBIOFactory
    when `tls_options` is given, as listenSSL does); BindError on failure."""
    from twisted.protocols.tls import TLSMemoryBIOFactory

    sock = stream_socket(address, port, key, backlog)
    try:
        if tls_options is not None:
            factory = TLSMemoryBIOFactory(tls_options, False, factory)
        return reactor.adoptStreamPort(sock.fileno(), sock.family, factory)
    finally:
        sock.close()  # the port holds its own duplicate of the descriptor


async def stop_twisted_ports(ports: list[Any], loop: asyncio.AbstractEventLoop) -> None:
    """Stops Twisted listening ports and waits until each is closed; empties `ports`."""
    closing, ports[:] = list(ports), []
    for listener in closing:
        result = listener.stopListening()
        if result is not None:
            await result.asFuture(loop)


def udp_socket(address: str, port: int, key: str) -> socket.socket:
    """A bound, non-blocking UDP socket (for DNS); BindError on failure."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if family == socket.AF_INET6:  # beside "0.0.0.0", as stream_socket says
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        raise BindError(address, port, key, exc.strerror or str(exc)) from None
    sock.setblocking(False)
    return sock
