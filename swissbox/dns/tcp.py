"""TCP transport (RFC 7766): 2-byte length framing, several queries per connection, pipelining.

Each complete message is answered in order with `handle(data, client_ip) -> list[bytes]`
(a zone transfer yields several messages). A connection is closed when no complete message
arrived for `idle_timeout` seconds (so slow senders are cut too), when a client does not read
its answers (reading stops while the write buffer is high, and the idle clock runs on), and
beyond `max_connections` connections new ones are closed at once.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable

log = logging.getLogger("swissbox.dns")


class TcpState:
    """Shared by the connections of one service: limits and the live set."""

    def __init__(
        self,
        handle: Callable[[bytes, str], list[bytes]],
        before_batch: Callable[[], None] = lambda: None,
        idle_timeout: float = 10.0,
        max_connections: int = 256,
    ) -> None:
        self.handle, self.before_batch = handle, before_batch
        self.idle_timeout, self.max_connections = idle_timeout, max_connections
        self.connections: set[DnsTcpProtocol] = set()

    def close_all(self) -> None:
        for conn in list(self.connections):
            conn.close()


class DnsTcpProtocol(asyncio.Protocol):
    def __init__(self, state: TcpState) -> None:
        self.state = state
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.client = ""
        self.timer: asyncio.TimerHandle | None = None
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else ""
        if len(self.state.connections) >= self.state.max_connections:
            transport.abort()
            return
        self.state.connections.add(self)
        transport.set_write_buffer_limits(high=256 * 1024)
        self._arm()

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(self.state.idle_timeout, self.close)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if len(buf) < 2:
            return
        try:
            self.state.before_batch()
        except Exception:
            log.exception("dns: zone refresh failed")
        out: list[bytes] = []
        pos = 0
        while len(buf) - pos >= 2:
            (n,) = struct.unpack_from("!H", buf, pos)
            if len(buf) - pos - 2 < n:
                break
            msg = bytes(buf[pos + 2 : pos + 2 + n])
            pos += 2 + n
            try:
                answers = self.state.handle(msg, self.client)
            except Exception:
                log.exception("dns: unexpected error answering %s over TCP", self.client)
                answers = []
            for a in answers:
                out.append(struct.pack("!H", len(a)))
                out.append(a)
        if pos:
            del buf[:pos]
            self._arm()
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))

    def pause_writing(self) -> None:  # the client does not read: stop reading its queries
        if self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and self.paused:
            self.paused = False
            self.transport.resume_reading()
            self._arm()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort() if self.paused else self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.state.connections.discard(self)
        self.buf = bytearray()
