"""The precomputed fast path answers exactly what the full resolver answers."""

from __future__ import annotations

import itertools

import pytest
from dnslib import DNSRecord, EDNSOption
from hypothesis import given, settings
from hypothesis import strategies as st

from swissbox.dns.wire import WireTable, quick_parse
from tests.unit.dns.kit import SAMPLE, ZONE, query, resolver

R = resolver()
NAMES = sorted(
    {(n if n == "@" else n) for n, *_ in SAMPLE}
    | {"b.c", "c", "wild", "x.wild", "a.b.wild", "ent.wild", "x.ent.wild", "host.sub", "nx", "a.nx"}
)
FQDNS = [ZONE if n == "@" else f"{n}.{ZONE}" for n in NAMES] + ["example.org", "test"]
TYPES = ["A", "AAAA", "MX", "TXT", "NS", "SOA", "CNAME", "SRV", "CAA", "HTTPS", "PTR"]
SHAPES = [
    {},
    {"edns": True, "size": 512},
    {"edns": True, "size": 1232, "do": True},
    {"edns": True, "size": 4096, "opts": [EDNSOption(10, b"12345678")]},
    {"rd": False},
]


def summary(packet: bytes) -> tuple:
    m = DNSRecord.parse(packet)
    h = m.header

    def rows(rrs):
        return sorted((str(r.rname).lower(), r.rtype, r.rclass, r.ttl, r.rdata.toZone().lower()
                       if r.rtype != 41 else "") for r in rrs)  # fmt: skip

    return (
        (h.id, h.qr, h.opcode, h.aa, h.tc, h.rd, h.ra, h.cd, h.rcode),
        str(m.q.qname),
        m.q.qtype,
        rows(m.rr),
        rows(m.auth),
        rows(m.ar),
    )


def compare(table: WireTable, packet: bytes) -> bool:
    fast = table.answer(packet)
    slow = R.respond(packet)
    if fast is None:
        return False
    assert slow is not None
    assert summary(fast) == summary(slow)
    return True


@pytest.mark.parametrize("warm", [False, True])
def test_fast_path_equals_full_path(warm):
    table = WireTable(R)
    if warm:
        for _ in table.warm(R.zones.zones[ZONE]):
            pass
        assert len(table.entries) >= len(SAMPLE) - 5
    fast_taken = 0
    for name, qtype, shape in itertools.product(FQDNS, TYPES, SHAPES):
        fast_taken += compare(table, query(name, qtype, **shape))
        fast_taken += compare(table, query(name.upper(), qtype, **shape))
    assert fast_taken > len(FQDNS) * len(TYPES) * len(SHAPES)  # most went the fast way


def test_common_queries_take_the_fast_path():
    table = WireTable(R)
    for packet in (
        query("web.example.test"),
        query("WEB.example.test", "AAAA", edns=True, do=True),
        query("nothere.example.test"),  # NXDOMAIN from the zone's SOA
        query("web.example.test", "MX"),  # NODATA
    ):
        assert table.answer(packet) is not None


def test_unusual_shapes_take_the_full_path():
    table = WireTable(R)
    assert quick_parse(query("web.example.test", "ANY")) is None
    assert quick_parse(query("example.test", "AXFR")) is None
    assert quick_parse(query("web.example.test", edns=True, version=1)) is None
    assert quick_parse(query("web.example.test") + b"\x00") is None
    assert table.answer(query("example.org")) is None  # REFUSED: full path
    big = query("big.example.test", "TXT", edns=True, size=600)
    assert table.answer(big) is None  # would not fit: the full path truncates
    assert table.answer(big, tcp=True) is not None


def test_drop_forgets_a_zone():
    table = WireTable(R)
    for _ in table.warm(R.zones.zones[ZONE]):
        pass
    table.drop(ZONE)
    assert not table.entries and not table.negative


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(FQDNS),
    st.sampled_from(TYPES),
    st.sampled_from(SHAPES),
    st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_case_variants_property(name, qtype, shape, upper):
    mixed = "".join(c.upper() if u else c for c, u in zip(name, upper * 3, strict=False))
    table = WireTable(R)
    packet = query(mixed, qtype, **shape)
    if compare(table, packet):
        assert DNSRecord.parse(table.answer(packet)).q.qname == mixed + "."
        assert str(DNSRecord.parse(table.answer(packet)).q.qname) == mixed + "."
