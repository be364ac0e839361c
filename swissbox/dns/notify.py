"""NOTIFY (RFC 1996) to the configured secondaries, retried until acknowledged.

`notify_message(zone, serial, qid)` builds the packet (pure). `Notifier.notify(zone, serial)`
starts, per secondary, a task that sends it over UDP and waits for the matching response
(same ID, QR=1, opcode NOTIFY); without one it retries with a doubling timeout (1 s, 2 s, ...
capped at 30 s) for at most `max_attempts` sends. A newer serial for the same zone and
secondary replaces the pending task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import struct
from collections.abc import Sequence

from dnslib import QTYPE, RR, SOA, DNSHeader, DNSLabel, DNSQuestion, DNSRecord

from swissbox.conf import parse_hostport
from swissbox.dns.resolver import OP_NOTIFY

log = logging.getLogger("swissbox.dns")


def notify_message(zone: str, qid: int, soa: SOA | None = None, ttl: int = 0) -> bytes:
    msg = DNSRecord(DNSHeader(id=qid, opcode=OP_NOTIFY, aa=1), q=DNSQuestion(zone + ".", QTYPE.SOA))
    if soa is not None:
        msg.add_answer(RR(DNSLabel(zone + "."), QTYPE.SOA, 1, ttl, soa))
    return bytes(msg.pack())


def is_ack(data: bytes, qid: int) -> bool:
    if len(data) < 12:
        return False
    rid, flags = struct.unpack_from("!HH", data)
    return rid == qid and bool(flags & 0x8000) and (flags >> 11) & 0xF == OP_NOTIFY


def parse_targets(entries: list[str], default_port: int = 53) -> list[tuple[str, int]]:
    out = []
    for entry in entries:
        parsed = parse_hostport(entry.strip(), default_port)
        if parsed is None:
            raise ValueError(f"dns.notify: {entry!r} is not ip or ip:port")
        out.append(parsed)
    return out


class _Waiter(asyncio.DatagramProtocol):
    def __init__(self, qid: int) -> None:
        self.qid = qid
        self.acked = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if is_ack(data, self.qid) and not self.acked.done():
            self.acked.set_result(data)

    def error_received(self, exc: Exception) -> None:  # ICMP refused: retry later
        pass


class Notifier:
    def __init__(
        self,
        targets: list[tuple[str, int]],
        *,
        first_timeout: float = 1.0,
        max_timeout: float = 30.0,
        max_attempts: int = 12,
        sources: Sequence[str] = (),
    ) -> None:
        self.targets = targets
        # Send from our own listen address of the target's family (secondaries check it),
        # unless we listen on a wildcard address.
        self.sources: dict[int, str] = {}
        for address in sources:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            if address not in ("0.0.0.0", "::"):
                self.sources.setdefault(family, address)
        self.first_timeout = first_timeout
        self.max_timeout = max_timeout
        self.max_attempts = max_attempts
        self.tasks: dict[tuple[str, tuple[str, int]], asyncio.Task[bool]] = {}
        # (zone, target) -> the last serial it acknowledged (bounded: one entry per pair)
        self.acked: dict[tuple[str, tuple[str, int]], int] = {}

    def notify(self, zone: str, serial: int, soa: SOA | None = None, ttl: int = 0) -> None:
        for target in self.targets:
            key = (zone, target)
            old = self.tasks.get(key)
            if old is not None and not old.done():
                old.cancel()
            self.tasks[key] = asyncio.ensure_future(self._send(zone, serial, target, soa, ttl))

    async def _send(
        self, zone: str, serial: int, target: tuple[str, int], soa: SOA | None, ttl: int
    ) -> bool:
        loop = asyncio.get_running_loop()
        timeout = self.first_timeout
        family = socket.AF_INET6 if ":" in target[0] else socket.AF_INET
        for attempt in range(1, self.max_attempts + 1):
            qid = secrets.randbelow(65536)
            transport = None
            try:
                waiter = _Waiter(qid)
                source = self.sources.get(family)
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: waiter,  # noqa: B023 (called at once, inside this iteration)
                    remote_addr=target,
                    family=family,
                    local_addr=(source, 0) if source else None,
                )
                transport.sendto(notify_message(zone, qid, soa, ttl))
                await asyncio.wait_for(waiter.acked, timeout)
                log.info("NOTIFY %s serial %s acknowledged by %s:%s", zone, serial, *target)
                self.acked[(zone, target)] = serial
                return True
            except (TimeoutError, OSError) as exc:
                log.debug("NOTIFY %s to %s:%s attempt %d: %r", zone, *target, attempt, exc)
                with contextlib.suppress(Exception):
                    if transport is not None:
                        transport.close()
                    transport = None
                await asyncio.sleep(0 if isinstance(exc, TimeoutError) else timeout)
            finally:
                if transport is not None:
                    transport.close()
            timeout = min(timeout * 2, self.max_timeout)
        log.warning("NOTIFY %s serial %s: no answer from %s:%s, giving up", zone, serial, *target)
        return False

    async def close(self) -> None:
        tasks = [t for t in self.tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self.tasks.clear()
