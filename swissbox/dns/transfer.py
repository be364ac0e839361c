"""Zone transfer (RFC 5936 AXFR; RFC 1995 IXFR answered with a full AXFR-style transfer).

`TransferPolicy` says which client addresses may transfer (the `[dns] allow_transfer` list of
addresses/networks; TSIG keys later). `axfr_messages` turns a ZoneView into the response
messages: SOA, every other record, SOA, packed in messages of at most ~16 KB, produced
lazily (the TCP transport pulls them as the client reads). Pure.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Iterator

from dnslib import RR, DNSBuffer, DNSHeader, DNSLabel, DNSRecord

from swissbox.dns.resolver import NOERROR, Query
from swissbox.dns.zone import T_SOA, ZoneView

MESSAGE_BUDGET = 16000

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TransferPolicy:
    """Client addresses allowed to transfer zones."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.networks: list[IPNetwork] = []
        for entry in allowed:
            try:
                self.networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"dns.allow_transfer: {entry!r} is not an address or network"
                ) from None

    def allows(self, client: str, zone: str) -> bool:
        try:
            addr = ipaddress.ip_address(client.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        return any(addr.version == net.version and addr in net for net in self.networks)


def zone_rrs(zone: ZoneView) -> Iterator[RR]:
    """Every record of the zone except the SOA, apex first, in a stable order (lazily)."""
    for name in sorted(zone.nodes, key=lambda n: (n != zone.origin, n)):
        owner = DNSLabel(name + ".")
        for code, rrset in sorted(zone.nodes[name].items()):
            if code == T_SOA:
                continue
            for rd in rrset.rdatas:
                yield RR(owner, code, 1, rrset.ttl, rd)


def axfr_messages(query: Query, zone: ZoneView) -> Iterator[bytes]:
    """The transfer as DNS messages (each to be framed on TCP), made one at a time so a big
    zone streams without holding the event loop: SOA, every record, SOA."""
    soa_owner = DNSLabel(zone.origin + ".")
    soa = RR(soa_owner, T_SOA, 1, zone.soa.ttl, zone.soa.rdatas[0])
    h = query.record.header
    first = True
    batch: list[RR] = []
    size = 0

    def message(rrs: list[RR], with_question: bool) -> bytes:
        msg = DNSRecord(DNSHeader(id=h.id, qr=1, aa=1, opcode=0, rcode=NOERROR))
        if with_question:
            msg.add_question(query.question)
        msg.rr = rrs
        return bytes(msg.pack())

    for rr in itertools.chain((soa,), zone_rrs(zone), (soa,)):
        buf = DNSBuffer()
        rr.pack(buf)  # uncompressed size: an upper bound of its share of the message
        rr_size = len(buf.data)
        if batch and size + rr_size > MESSAGE_BUDGET:
            yield message(batch, first)
            first = False
            batch, size = [], 0
        batch.append(rr)
        size += rr_size
    if batch:
        yield message(batch, first)
