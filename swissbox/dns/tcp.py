"""TCP transport (RFC 7766): 2-byte length framing, several queries per connection, pipelining.

Each complete message is answered in order with `handle(data, client_ip)`: a list of
messages, or an iterable (a zone transfer) that is drained as the client reads, PUMP_BYTES per
loop turn, while later pipelined queries wait their turn. A connection is closed when no complete message
arrived for `idle_timeout` seconds (so slow senders are cut too), when a client does not read
its answers (reading stops while the write buffer is high, and the idle clock runs on), and
beyond `max_connections` connections new ones are closed at once.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable, Iterable, Iterator

log = logging.getLogger("swissbox.dns")

PUMP_BYTES = 64 * 1024  # transfer bytes written per loop turn


class TcpState:
    """Shared by the connections of one service: limits and the live set."""

    def __init__(
        self,
        handle: Callable[[bytes, str], list[bytes] | Iterable[bytes]],
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
        self.stream: Iterator[bytes] | None = None
        self.pump_handle: asyncio.Handle | None = None

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
        self.buf += data
        if len(self.buf) >= 2 and self.stream is None:
            try:
                self.state.before_batch()
            except Exception:
                log.exception("dns: zone refresh failed")
            self._process()

    def _process(self) -> None:
        """Answers every complete message in the buffer, in order; stops at a stream."""
        buf = self.buf
        out: list[bytes] = []
        pos = 0
        while len(buf) - pos >= 2 and self.stream is None:
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
            if isinstance(answers, list):
                for a in answers:
                    out.append(struct.pack("!H", len(a)))
                    out.append(a)
            else:  # a zone transfer: sent as the client reads, later queries wait for it
                self.stream = iter(answers)
        if pos:
            del buf[:pos]
            self._arm()
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))
        if self.stream is not None and self.transport is not None:
            self.transport.pause_reading()
            self._pump()

    def _pump(self) -> None:
        self.pump_handle = None
        transport = self.transport
        if self.stream is None or transport is None or transport.is_closing():
            return
        written = 0
        while not self.paused and written < PUMP_BYTES:
            try:
                msg = next(self.stream, None)
            except Exception:
                log.exception("dns: zone transfer to %s failed", self.client)
                transport.abort()
                return
            if msg is None:
                self.stream = None
                if not self.paused:
                    transport.resume_reading()
                self._process()  # queries pipelined behind the transfer
                return
            transport.write(struct.pack("!H", len(msg)) + msg)
            written += len(msg)
        self._arm()  # progress
        if not self.paused:
            self.pump_handle = asyncio.get_running_loop().call_soon(self._pump)

    def pause_writing(self) -> None:  # the client does not read: stop reading its queries
        if self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and self.paused:
            self.paused = False
            self._arm()
            if self.stream is not None:
                self._pump()
            else:
                self.transport.resume_reading()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort() if self.paused else self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.pump_handle is not None:
            self.pump_handle.cancel()
        self.stream = None
        self.state.connections.discard(self)
        self.buf = bytearray()
