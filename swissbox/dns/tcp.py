"""TCP transport (RFC 7766): 2-byte length framing, several queries per connection, pipelining.

Each complete message is answered in order with `handle(data, client_ip)`: a list of
messages, or an iterable (a zone transfer) that is drained as the client reads, PUMP_BYTES per
loop turn, while later pipelined queries wait their turn. A connection is closed when no complete message
arrived for `idle_timeout` seconds (so slow senders are cut too), when a client does not read
its answers (reading stops while the write buffer is high, and the idle clock runs on).

Slots (RFC 7766 6.2.3, "under pressure"): one client address holds at most `max_per_client`
connections (more are closed at once); past three quarters of `max_connections` the idle
clock is `busy_idle_timeout`; and a newcomer finding the server full takes the slot of the
longest-idle connection of the address holding the most (one in a zone transfer is never
taken), so one address, or many, holding idle connections cannot stop TCP service.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable, Iterable, Iterator

from swissbox import metrics
from swissbox.dns.logthrottle import LogThrottle

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
        max_per_client: int = 32,
        busy_idle_timeout: float = 2.0,
    ) -> None:
        self.handle, self.before_batch = handle, before_batch
        self.idle_timeout, self.max_connections = idle_timeout, max_connections
        self.max_per_client = max_per_client
        self.busy_idle_timeout = min(busy_idle_timeout, idle_timeout)
        self.connections: set[DnsTcpProtocol] = set()
        self.per_client: dict[str, int] = {}
        self.refusals = LogThrottle(log)
        self.failures = LogThrottle(log)
        self.refresh_failures = LogThrottle(log)

    def admit(self, conn: DnsTcpProtocol) -> bool:
        """Takes a slot for a new connection (evicting an idle one when full), or says no."""
        client = conn.client
        if self.per_client.get(client, 0) >= self.max_per_client:
            self.refusals.info("dns: tcp connection from %s refused: per-address limit", client)
            return False
        if len(self.connections) >= self.max_connections and not self._evict():
            self.refusals.info("dns: tcp connection from %s refused: all slots busy", client)
            return False
        self.connections.add(conn)
        self.per_client[client] = self.per_client.get(client, 0) + 1
        metrics.opened("dns-tcp")
        return True

    def release(self, conn: DnsTcpProtocol) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            metrics.closed("dns-tcp")
            left = self.per_client[conn.client] - 1
            if left:
                self.per_client[conn.client] = left
            else:
                del self.per_client[conn.client]

    def _evict(self) -> bool:
        """Closes the longest-idle connection of the address holding the most; False when
        every connection is busy with a zone transfer."""
        idle = [c for c in self.connections if c.stream is None]
        if not idle:
            return False
        count = self.per_client
        victim = min(idle, key=lambda c: (-count[c.client], c.last_active))
        victim.abort()
        self.release(victim)  # at once: the slot is the newcomer's
        return True

    def timeout(self) -> float:
        """The idle timeout now: shorter while the slots are three quarters taken or more."""
        if len(self.connections) * 4 >= self.max_connections * 3:
            return self.busy_idle_timeout
        return self.idle_timeout

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
        self.last_active = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else ""
        if not self.state.admit(self):
            transport.abort()
            return
        transport.set_write_buffer_limits(high=256 * 1024)
        self._arm()

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        loop = asyncio.get_running_loop()
        self.last_active = loop.time()
        self.timer = loop.call_later(self.state.timeout(), self.close)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) >= 2 and self.stream is None:
            try:
                self.state.before_batch()
            except Exception:
                self.state.refresh_failures.exception("dns: zone refresh failed")
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
                self.state.failures.exception(
                    "dns: unexpected error answering %s over TCP", self.client
                )
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

    def abort(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.pump_handle is not None:
            self.pump_handle.cancel()
        self.stream = None
        self.state.release(self)
        self.buf = bytearray()
