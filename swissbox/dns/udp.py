"""UDP transport: a non-blocking socket read in batches straight from the event loop.

No DatagramProtocol: `loop.add_reader` calls `_readable`, which first lets the owner refresh
its zones (`before_batch`), then drains up to BATCH datagrams with recvfrom/sendto. Answers
come from `handle(data, client_ip) -> bytes | None`; a cache hit costs one dict lookup.
Nothing a client sends can raise out of here: the handler is guarded, an unexpected error is
logged at most once a minute (`LogThrottle`) and the packet dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

from swissbox.dns.logthrottle import LogThrottle

log = logging.getLogger("swissbox.dns")

BATCH = 64
RCVBUF = 4 * 1024 * 1024


class UdpListener:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        handle: Callable[[bytes, str], bytes | None],
        before_batch: Callable[[], None] = lambda: None,
    ) -> None:
        self.loop, self.sock, self.handle, self.before_batch = loop, sock, handle, before_batch
        self.failures = LogThrottle(log)
        self.refresh_failures = LogThrottle(log)
        for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, opt, RCVBUF)
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        sock, handle = self.sock, self.handle
        try:
            self.before_batch()
        except Exception:
            self.refresh_failures.exception("dns: zone refresh failed")
        for _ in range(BATCH):
            try:
                data, addr = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # e.g. ICMP errors reported on the socket
            try:
                resp = handle(data, addr[0])
            except Exception:
                self.failures.exception("dns: unexpected error answering %s", addr[0])
                continue
            if resp is not None:
                try:  # noqa: SIM105 (hot path: no context manager)
                    sock.sendto(resp, addr)
                except OSError:
                    pass

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
