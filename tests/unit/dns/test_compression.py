"""Name compression inside RDATA only for the RFC 1035 types (RFC 3597 4): every record type
we serve is packed in a real answer, parsed by dnspython from the raw wire, and the RDATA of
every other type must parse on its own (a compression pointer cannot)."""

from __future__ import annotations

import struct

import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from dnslib import DNSBuffer, DNSLabel

from swissbox.directory.model import Record
from swissbox.dns.records import RD_CLASSES, SUPPORTED, parse_record, rdata_to_rd
from swissbox.dns.resolver import Resolver, parse_query
from swissbox.dns.transfer import axfr_messages
from swissbox.dns.zone import ZoneSet, ZoneView
from tests.unit.dns.kit import ZONE, domain, engine, query

# RFC 3597 4: only these carry compressible names (NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR,
# MINFO, MX); every later type must be sent uncompressed.
COMPRESSIBLE = {2, 3, 4, 5, 6, 7, 8, 9, 12, 14, 15}

# one record of every type a user may add, targets inside the zone so a pointer is possible
EVERY_TYPE = [
    ("t", "A", "192.0.2.1"),
    ("t", "AAAA", "2001:db8::1"),
    ("t", "CAA", '0 issue "ca.example"'),
    ("c", "CNAME", "t"),
    ("sub", "DS", "12345 8 2 " + "AB" * 32),
    ("t", "HTTPS", "1 t alpn=h2"),
    ("t", "MX", "10 t"),
    ("t", "NAPTR", '100 10 "S" "SIP+D2U" "" _sip._udp'),
    ("sub", "NS", "ns.sub"),
    ("t", "PTR", "t"),
    ("_sip._udp", "SRV", "0 1 5060 t"),
    ("t", "SSHFP", "1 1 " + "AB" * 20),
    ("t", "SVCB", "1 t port=853"),
    ("_443._tcp.t", "TLSA", "3 1 1 " + "AB" * 32),
    ("t", "TXT", '"text"'),
]


def test_every_supported_type_is_covered() -> None:
    assert {t for _, t, _ in EVERY_TYPE} == set(SUPPORTED)


def zone_with_every_type() -> ZoneSet:
    rows = [
        Record(i, *parse_record(ZONE, name, rtype, value, 300))
        for i, (name, rtype, value) in enumerate(EVERY_TYPE)
    ]
    rows.append(Record(99, f"t.{ZONE}", "RP", 300, f"mbox.{ZONE}. t.{ZONE}."))  # dnslib packs RP
    return ZoneSet({ZONE: ZoneView.build(domain(), rows)})


def rdata_spans(wire: bytes) -> list[tuple[int, int, int]]:
    """(type, start, length) of every record's RDATA, walking the raw message."""
    msg = dns.message.from_wire(wire)  # the whole message must parse first
    assert msg is not None
    qd, an, ns, ar = struct.unpack_from("!HHHH", wire, 4)
    pos = 12

    def skip_name(p: int) -> int:
        while True:
            n = wire[p]
            if n & 0xC0 == 0xC0:
                return p + 2
            p += 1 + n
            if n == 0:
                return p

    for _ in range(qd):
        pos = skip_name(pos) + 4
    spans = []
    for _ in range(an + ns + ar):
        pos = skip_name(pos)
        rtype, _cls, _ttl, rdlen = struct.unpack_from("!HHIH", wire, pos)
        pos += 10
        spans.append((rtype, pos, rdlen))
        pos += rdlen
    assert pos == len(wire)
    return spans


def check_no_pointer_in_rdata(wire: bytes) -> int:
    """Parses each non-RFC-1035 RDATA standalone and compares with the in-message parse."""
    checked = 0
    for rtype, start, length in rdata_spans(wire):
        if rtype in COMPRESSIBLE or rtype == 41:
            continue
        in_message = dns.rdata.from_wire(dns.rdataclass.IN, rtype, wire, start, length)
        alone = dns.rdata.from_wire(
            dns.rdataclass.IN, rtype, wire[start : start + length], 0, length
        )
        assert alone == in_message, dns.rdatatype.to_text(rtype)
        checked += 1
    return checked


@pytest.mark.parametrize("rtype", sorted({*SUPPORTED, "RP"} - {"DS", "NS"}))
def test_answers_keep_rdata_uncompressed(rtype: str) -> None:
    owner = {"CNAME": "c", "SRV": "_sip._udp", "TLSA": "_443._tcp.t"}.get(rtype, "t")
    packet = query(f"{owner}.{ZONE}", rtype, edns=True)
    resolver = Resolver(zone_with_every_type())
    full = resolver.respond(packet)
    assert full is not None
    e = engine()
    e.resolver.zones = zone_with_every_type()
    fast = e.handle(packet, "127.0.0.1", False)[0]  # the precomputed-wire path
    for wire in (full, fast):
        assert dns.message.from_wire(wire).answer, rtype
        checked = check_no_pointer_in_rdata(wire)
        assert checked or dns.rdatatype.from_text(rtype) in COMPRESSIBLE


def test_zone_transfer_keeps_rdata_uncompressed() -> None:
    zones = zone_with_every_type()
    parsed = parse_query(query(ZONE, "AXFR"))
    assert parsed is not None and not isinstance(parsed, bytes)
    checked = sum(check_no_pointer_in_rdata(m) for m in axfr_messages(parsed, zones.zones[ZONE]))
    assert checked >= len(EVERY_TYPE) - 5  # every non-RFC-1035 record of the zone


# every dnslib RD class with a domain name in its RDATA, beyond the RFC 1035 ones
NAMED = {
    "NAPTR": '100 10 "S" "SIP+D2U" "" t.example.test.',
    "RP": "t.example.test. t.example.test.",
    "SRV": "0 1 5060 t.example.test.",
    "HTTPS": "1 t.example.test. alpn=h2",
    "SVCB": "1 t.example.test. alpn=h2",
    "NSEC": "t.example.test. A AAAA",
    "RRSIG": "A 8 3 300 20300101000000 20200101000000 12345 t.example.test. " + "AAAA" * 8,
}


def test_named_types_are_all_dnslib_has() -> None:
    without_names = {"A", "AAAA", "TXT", "CAA", "DS", "DNSKEY", "SSHFP", "TLSA", "LOC"}
    rfc1035 = {"CNAME", "MX", "NS", "PTR", "SOA"}
    assert set(RD_CLASSES) == set(NAMED) | without_names | rfc1035


@pytest.mark.parametrize("rtype", sorted(NAMED))
def test_every_dnslib_type_packs_after_a_name_without_pointers(rtype: str) -> None:
    """Each RD class we may hand to dnslib, packed after its own target name was written."""
    rd = rdata_to_rd(rtype, NAMED[rtype])
    buf = DNSBuffer()
    buf.encode_name(DNSLabel("t.example.test."))
    start = len(buf.data)
    rd.pack(buf)
    rdata = bytes(buf.data[start:])
    code = dns.rdatatype.from_text(rtype)
    dns.rdata.from_wire(dns.rdataclass.IN, code, rdata, 0, len(rdata))  # parses on its own
    assert dns.name.from_text("t.example.test.").to_wire() in rdata
