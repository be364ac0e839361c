"""Property-based fuzz of the packet path: nothing a client sends may raise, and answers are
well-formed DNS responses to the query that was asked."""

from __future__ import annotations

import struct

from dnslib import DNSRecord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.dns.kit import engine, query

E = engine(["127.0.0.1"])
GOOD = [
    query("web.example.test"),
    query("Chain1.example.test", "A", edns=True, size=512),
    query("big.example.test", "TXT", edns=True, size=4096, do=True),
    query("x.wild.example.test", "TXT"),
    query("host.sub.example.test", "A"),
    query("example.test", "AXFR"),
    query("example.test", "ANY", edns=True),
]
FAST = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


def check(data: bytes, tcp: bool = False) -> None:
    out = E.handle(data, "127.0.0.1", tcp)
    for msg in out:
        assert len(msg) >= 12
        assert msg[:2] == data[:2]  # our ID is the query's
        assert msg[2] & 0x80  # QR set
        assert tcp or len(msg) <= 1232 or len(out) == 1
        DNSRecord.parse(msg)  # what we send is parseable


@FAST
@given(st.binary(max_size=600), st.booleans())
def test_random_bytes(data, tcp):
    check(data, tcp)


@FAST
@given(st.sampled_from(GOOD), st.integers(0, 600), st.booleans())
def test_truncated_queries(packet, cut, tcp):
    check(packet[:cut], tcp)


@FAST
@given(
    st.sampled_from(GOOD),
    st.lists(st.tuples(st.integers(0, 599), st.integers(0, 255)), max_size=8),
)
def test_mutated_queries(packet, flips):
    data = bytearray(packet)
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    check(bytes(data))


@FAST
@given(st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 65535))
def test_huge_counts(qd, an, ns, ar):
    header = struct.pack("!HHHHHH", 77, 0x0100, qd, an, ns, ar)
    check(header + GOOD[0][12:])
    check(header)


def test_compression_pointer_loops():
    header = struct.pack("!HHHHHH", 9, 0x0100, 1, 0, 0, 0)
    for name in (b"\xc0\x0c", b"\x01a\xc0\x0c", b"\x01a\xc0\x0e\x01b\xc0\x0c", b"\xc0\xff"):
        check(header + name + b"\x00\x01\x00\x01")
    # a pointer loop in the additional section
    check(GOOD[0][:10] + b"\x00\x01" + GOOD[0][12:] + b"\xc0\x22\x00\x29\x04\xd0" + b"\x00" * 6)
