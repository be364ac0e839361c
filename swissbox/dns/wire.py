"""Precomputed wire answers: the fast path for plain queries, without dnslib per packet.

`quick_parse(data)` reads the common query shape by hand (one IN question, no compression in
it, no answer/authority records, at most one clean EDNS(0) OPT) and returns None for anything
else, which then takes the full resolver path. For such a query the answer only depends on
(name, type): `WireTable` keeps, per (lower-case name, type), the answer's header bits, section
counts and the bytes after the question (packed against the lower-case question, so any
compression pointer into the question stays valid for every case variant of the name, which is
echoed as the client sent it). EDNS is appended (OPT with our payload, DO echoed); entries are
built without DO, so a referral asked with DO takes the full path (its DS). An answer
that would not fit the client's UDP size falls back to the full path (which truncates).
Negative answers for names that cannot match a wildcard or sit below a delegation reuse one
SOA record per zone. Entries are built lazily or by `warm(zone)`, dropped per zone by `drop`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from dnslib import DNSHeader, DNSLabel, DNSQuestion, DNSRecord

from swissbox.dns.resolver import (
    META_TYPES,
    NOERROR,
    NXDOMAIN,
    OUR_PAYLOAD,
    T_ANY,
    T_AXFR,
    T_IXFR,
    Resolver,
)
from swissbox.dns.zone import T_CNAME, T_DS, T_SOA, ZoneView

# OPT/TKEY/TSIG questions, ANY, transfers and DS (answered by the parent) take the full path
SLOW_TYPES = frozenset({*META_TYPES, T_ANY, T_AXFR, T_IXFR, T_DS})
TABLE_LIMIT = 250_000
_OPT = b"\x00\x00\x29" + struct.pack("!H", OUR_PAYLOAD) + b"\x00\x00\x00\x00\x00\x00"
_OPT_DO = b"\x00\x00\x29" + struct.pack("!H", OUR_PAYLOAD) + b"\x00\x00\x80\x00\x00\x00"
_HH = struct.Struct("!HH")
_H = struct.Struct("!H")

# (flags without RD/CD, counts an/ns/ar, bytes after the question)
Entry = tuple[int, int, int, int, bytes]


def quick_parse(data: bytes) -> tuple[int, str, int, int, int] | None:
    """(end of question, name key, qtype, UDP limit, OPT kind 0/1/2) or None: use the full path.

    OPT kind: 0 no EDNS, 1 EDNS, 2 EDNS with DO.
    """
    n = len(data)
    if n < 17 or data[2] & 0xFE or data[4:10] != b"\x00\x01\x00\x00\x00\x00" or data[10]:
        return None
    arcount = data[11]
    if arcount > 1:
        return None
    pos = 12
    labels = []
    while True:
        length = data[pos]
        if length == 0:
            pos += 1
            break
        if length > 63:
            return None
        pos += 1
        labels.append(data[pos : pos + length])
        pos += length
        if pos >= n - 4 or pos > 266:  # 12 + 255 - 1: the name is over 255 octets
            return None
    if pos + 4 > n:
        return None
    qtype, qclass = _HH.unpack_from(data, pos)
    qend = pos + 4
    if qclass != 1 or qtype in SLOW_TYPES:
        return None
    name = b".".join(labels)
    if not name.isascii() or b"\\" in name or name.count(b".") != len(labels) - 1:
        return None
    key = name.lower().decode("latin-1")
    if not arcount:
        return (qend, key, qtype, 512, 0) if qend == n else None
    # exactly one OPT: root owner, type 41, version 0, options well-formed, nothing after
    if n < qend + 11 or data[qend] or data[qend + 1 : qend + 3] != b"\x00\x29":
        return None
    size = _H.unpack_from(data, qend + 3)[0]
    if data[qend + 5] or data[qend + 6]:  # extended rcode bits, version
        return None
    rdlen = _H.unpack_from(data, qend + 9)[0]
    end = qend + 11 + rdlen
    if end != n:
        return None
    p = qend + 11
    while p < end:
        if p + 4 > end:
            return None
        p += 4 + _H.unpack_from(data, p + 2)[0]
    if p != end:
        return None
    limit = OUR_PAYLOAD if size >= OUR_PAYLOAD else (size if size > 512 else 512)
    return qend, key, qtype, limit, 2 if data[qend + 7] & 0x80 else 1


def wire_name(name: str) -> bytes:
    out = bytearray()
    for label in name.split(".") if name else ():
        raw = label.encode("latin-1")
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


def soa_bytes(zone: ZoneView, ttl: int) -> bytes:
    """The zone's SOA record, uncompressed (valid after any question)."""
    soa = zone.soa.rdatas[0]
    rdata = (
        wire_name(str(soa.mname).rstrip("."))
        + wire_name(str(soa.rname).rstrip("."))
        + struct.pack("!IIIII", *soa.times)
    )
    head = struct.pack("!HHIH", T_SOA, 1, ttl, len(rdata))
    return wire_name(zone.origin) + head + rdata


class WireTable:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.entries: dict[tuple[str, int], Entry] = {}
        self.by_zone: dict[str, set[tuple[str, int]]] = {}
        self.negative: dict[str, tuple[bytes, bool]] = {}  # origin -> (SOA rr, shortcut ok)

    # -- building ---------------------------------------------------------------------------

    def entry(self, zone: ZoneView, key: str, qtype: int, keep: bool = True) -> Entry | None:
        """Builds (and, with `keep`, stores) the entry for one name and type of `zone`."""
        qname = DNSLabel([label.encode("latin-1") for label in key.split(".")])
        found = self.resolver.lookup(qname, key, qtype)
        if found is None:
            return None
        reply = DNSRecord(
            DNSHeader(id=0, qr=1, aa=int(found.aa), rcode=found.rcode), q=DNSQuestion(qname, qtype)
        )
        reply.rr, reply.auth, reply.ar = found.answer, found.authority, found.additional
        wire = bytes(reply.pack())
        qend = 12 + len(wire_name(key)) + 4
        an, ns, ar = struct.unpack_from("!HHH", wire, 6)
        flags = (0x0400 if found.aa else 0) | found.rcode
        entry = (flags, an, ns, ar, wire[qend:])
        if keep:
            self._store(zone.origin, (key, qtype), entry)
        return entry

    def _store(self, origin: str, k: tuple[str, int], entry: Entry) -> None:
        if len(self.entries) >= TABLE_LIMIT:
            self.entries.clear()
            self.by_zone.clear()
        self.entries[k] = entry
        self.by_zone.setdefault(origin, set()).add(k)

    def drop(self, origin: str) -> None:
        """Forgets every entry of a zone (changed or removed)."""
        for k in self.by_zone.pop(origin, ()):
            self.entries.pop(k, None)
        self.negative.pop(origin, None)

    def clear(self) -> None:
        self.entries.clear()
        self.by_zone.clear()
        self.negative.clear()

    def prepare(self, zone: ZoneView) -> None:
        wildcards = any(name.startswith("*.") for name in zone.nodes)
        self.negative[zone.origin] = (soa_bytes(zone, zone.negative_ttl), not wildcards)

    def warm(self, zone: ZoneView) -> Iterator[int]:
        """Builds the entries of every name and type of the zone; yields after each name."""
        self.prepare(zone)
        for key, node in list(zone.nodes.items()):
            for qtype in node:
                if (key, qtype) not in self.entries:
                    self.entry(zone, key, qtype)
            yield 1

    # -- answering --------------------------------------------------------------------------

    def answer(self, data: bytes, tcp: bool = False) -> bytes | None:
        """The response bytes, or None when the full path must answer."""
        parsed = quick_parse(data)
        if parsed is None:
            return None
        qend, key, qtype, limit, opt = parsed
        if tcp:
            limit = 65535
        entry = self.entries.get((key, qtype))
        if entry is None:
            entry = self._miss(key, qtype)
            if entry is None:
                return None
        flags, an, ns, ar, body = entry
        if opt == 2 and not flags & 0x0400:
            return None  # a referral asked with DO may carry DS: the full path decides
        size = qend + len(body)
        if opt:
            size += 11
            ar += 1
        if size > limit:
            return None
        head = struct.pack(
            "!HHHHH",
            0x8000 | flags | (data[2] & 1) << 8 | (data[3] & 0x10),
            1,
            an,
            ns,
            ar,
        )
        tail = (_OPT_DO if opt == 2 else _OPT) if opt else b""
        return data[:2] + head + data[12:qend] + body + tail

    def _miss(self, key: str, qtype: int) -> Entry | None:
        zone = self.resolver.zones.find(key)
        if zone is None:
            return None  # REFUSED: the full path (and the exact cache) handle it
        neg = self.negative.get(zone.origin)
        if neg is None:
            self.prepare(zone)
            neg = self.negative[zone.origin]
        soa, shortcut = neg
        if shortcut and not zone.cuts:
            node = zone.nodes.get(key)
            if node is None and key not in zone.existing:
                return (0x0400 | NXDOMAIN, 0, 1, 0, soa)
            if node is None or (qtype not in node and T_CNAME not in node):
                return (0x0400 | NOERROR, 0, 1, 0, soa)
        # names that do not exist (wildcard, below a cut) are not kept: they are unbounded
        return self.entry(zone, key, qtype, keep=key in zone.existing)
