"""The packet dispatcher shared by the UDP and TCP transports: bytes in -> messages out.

- opcode QUERY: the resolver, or a zone transfer (AXFR/IXFR over TCP, policy-checked);
- opcode UPDATE (5): `handlers[5]` when the UPDATE/TSIG module registers one, else NOTIMP;
- any other opcode (NOTIFY included: we are the primary): NOTIMP;
- responses (QR=1) and packets shorter than a header: silence;
- malformed queries: the resolver's FORMERR, noted in the log at most once a minute.

Wire cache: a resolver answer depends only on the query bytes after the ID (question with its
case, flags, EDNS shape) and the transport, so it is kept per transport keyed by `data[2:]`;
a hit costs one dict lookup and the ID is patched in. The cache is cleared whenever a zone
changes (`invalidate`) and when it grows past `CACHE_LIMIT` entries.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable, Iterable, Iterator

from swissbox import metrics
from swissbox.dns.logthrottle import LogThrottle
from swissbox.dns.resolver import (
    NOTIMP,
    OP_QUERY,
    OP_UPDATE,
    REFUSED,
    T_AXFR,
    T_IXFR,
    Answer,
    Query,
    Resolver,
    header_response,
    parse_query,
    rrs,
)
from swissbox.dns.transfer import TransferPolicy, axfr_messages
from swissbox.dns.wire import WireTable
from swissbox.dns.zone import ZoneSet

log = logging.getLogger("swissbox.dns")
_answers = metrics.DNS_ANSWERS  # answers sent over UDP, counted inline (see metrics)

CACHE_LIMIT = 100_000


# a list of messages, or (a zone transfer) an iterator of messages made lazily
Messages = list[bytes] | Iterator[bytes]
# (packet, client address, over tcp) -> response messages
Handler = Callable[[bytes, str, bool], list[bytes]]


class Engine:
    def __init__(self, zones: ZoneSet, policy: TransferPolicy | None = None) -> None:
        self.resolver = Resolver(zones)
        self.policy = policy or TransferPolicy()
        self.handlers: dict[int, Handler] = {}
        self.udp_cache: dict[bytes, bytes] = {}
        self.tcp_cache: dict[bytes, bytes] = {}
        self.wire = WireTable(self.resolver)
        self.warming: list[Iterator[int]] = []
        self.malformed = LogThrottle(log)

    @property
    def zones(self) -> ZoneSet:
        return self.resolver.zones

    def invalidate(self, changed: Iterable[str] | None = None) -> None:
        """Forgets cached answers: of the `changed` zones (all when None); re-warms them."""
        self.udp_cache = {}
        self.tcp_cache = {}
        if changed is None:
            self.wire.clear()
            changed = list(self.zones.zones)
        for origin in changed:
            self.wire.drop(origin)
            zone = self.zones.zones.get(origin)
            if zone is not None:
                self.warming.append(self.wire.warm(zone))

    def warm_step(self, seconds: float = 0.002) -> bool:
        """Precomputes answers for about `seconds`; True while more work is pending."""
        deadline = time.perf_counter() + seconds
        while self.warming and time.perf_counter() < deadline:
            if next(self.warming[0], None) is None:
                self.warming.pop(0)
        return bool(self.warming)

    def handle_udp(self, data: bytes, client: str) -> bytes | None:
        """The UDP hot path: an exact-cache hit costs one dict lookup."""
        hit = self.udp_cache.get(data[2:])
        if hit is not None:
            _answers[hit] = _answers.get(hit, 0) + 1
            return data[:2] + hit
        out = self.handle(data, client, False)
        answer = out[0] if isinstance(out, list) and out else None
        metrics.dns_udp_answer(answer)
        return answer

    def handle(self, data: bytes, client: str, tcp: bool) -> Messages:
        """Every response message for one request packet (empty list: stay silent); a zone
        transfer comes as an iterator, which the TCP transport drains at the client's pace."""
        cache = self.tcp_cache if tcp else self.udp_cache
        hit = cache.get(data[2:])
        if hit is not None:
            return [data[:2] + hit]
        fast = self.wire.answer(data, tcp)
        if fast is not None:
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            cache[data[2:]] = fast[2:]
            return [fast]
        out, cacheable = self._dispatch(data, client, tcp)
        if cacheable and isinstance(out, list) and out:
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            cache[data[2:]] = out[0][2:]
        return out

    def _dispatch(self, data: bytes, client: str, tcp: bool) -> tuple[Messages, bool]:
        if len(data) < 12:
            return [], False
        flags = struct.unpack_from("!H", data, 2)[0]
        if flags & 0x8000:
            return [], False
        opcode = (flags >> 11) & 0xF
        if opcode != OP_QUERY:
            handler = self.handlers.get(opcode)
            if handler is not None and opcode == OP_UPDATE:
                return handler(data, client, tcp), False
            resp = header_response(data, NOTIMP)
            return ([resp] if resp else []), False
        query = parse_query(data)
        if query is None:
            return [], False
        if isinstance(query, bytes):
            self.malformed.info("dns: malformed query from %s answered with FORMERR", client)
            return [query], False
        if query.qtype in (T_AXFR, T_IXFR):
            return self.transfer(query, client, tcp), False
        resp = self.resolver.respond_query(query, tcp=tcp)
        return ([resp] if resp else []), True

    def transfer(self, query: Query, client: str, tcp: bool) -> Messages:
        """AXFR (and IXFR, answered as AXFR) for allowed clients; REFUSED otherwise."""
        zone = self.zones.zones.get(query.key)
        if zone is None or not self.policy.allows(client, zone.origin):
            log.info("transfer of %s refused for %s", query.key, client)
            return [self.resolver.error(query, REFUSED)]
        if not tcp:
            if query.qtype == T_IXFR:  # RFC 1995 4: the SOA alone says "ask over TCP"
                found = Answer(answer=rrs(query.question.qname, zone.soa))
                return [self.resolver.pack(query, found)]
            return [self.resolver.error(query, REFUSED)]
        log.info("transfer of %s (serial %s) to %s", zone.origin, zone.serial, client)
        return axfr_messages(query, zone)
