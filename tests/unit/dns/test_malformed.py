"""Malformed queries fed as raw bytes: FORMERR as NSD answers it (header only, the ID and RD
echoed, no question), never an exception, and at most a rate-limited log line."""

from __future__ import annotations

import logging
import struct

import dns.message
import dns.rcode
import pytest

from tests.unit.dns.kit import engine

E = engine()
QUESTION = b"\x03web\x07example\x04test\x00\x00\x01\x00\x01"
OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"


def header(qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0, qid: int = 0x1234) -> bytes:
    return struct.pack("!HHHHHH", qid, 0x0100, qd, an, ns, ar)


def name(*labels: bytes) -> bytes:
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"


def four_63() -> bytes:  # 4 * 64 + 1 = 257 octets
    return name(*[b"a" * 63] * 4)


def answer(packet: bytes, tcp: bool) -> list[bytes]:
    out = E.handle(packet, "192.0.2.9", tcp)
    assert isinstance(out, list)
    return out


def assert_header_only_formerr(out: list[bytes], qid: int = 0x1234) -> None:
    assert len(out) == 1
    msg = out[0]
    assert len(msg) == 12  # header only: nothing of the bad question is echoed
    got_id, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg)
    assert got_id == qid
    assert flags & 0x8000 and flags & 0x0100  # QR, RD echoed
    assert flags & 0xF == dns.rcode.FORMERR
    assert (qd, an, ns, ar) == (0, 0, 0, 0)


@pytest.mark.parametrize("tcp", [False, True])
@pytest.mark.parametrize(
    "qname",
    [
        four_63(),  # 257 octets
        name(b"x" * 62, b"b" * 63, b"c" * 63, b"d" * 63),  # 256 octets
        name(*[b"a"] * 128),  # 257 octets of one-letter labels
        name(*[b"b" * 63] * 3, b"x" * 49, b"example", b"test"),  # 256, in a hosted zone
        b"\x40" + b"a" * 64 + name(b"example", b"test"),  # a 64-octet label
        b"\x7f" + b"a" * 127 + b"\x00",  # length byte with the reserved 01 bits
        name(b"web", b"example", b"test")[:-1] + b"\x80" + b"a" * 3 + b"\x00",  # reserved 10
    ],
    ids=["257", "256", "many-labels", "in-zone-256", "label-64", "label-127", "label-0x80"],
)
def test_over_long_names_get_formerr(qname: bytes, tcp: bool) -> None:
    assert_header_only_formerr(answer(header() + qname + b"\x00\x01\x00\x01", tcp))
    with_edns = header(ar=1) + qname + b"\x00\x01\x00\x01" + OPT
    assert_header_only_formerr(answer(with_edns, tcp))


def test_longest_legal_name_is_answered() -> None:
    legal = name(b"x" * 61, b"b" * 63, b"c" * 63, b"d" * 63)  # 255 octets
    out = answer(header() + legal + b"\x00\x01\x00\x01", False)
    msg = dns.message.from_wire(out[0])
    assert msg.rcode() == dns.rcode.REFUSED  # not ours, but a proper answer with its question
    assert len(msg.question) == 1 and msg.id == 0x1234
    in_zone = name(*[b"b" * 63] * 3, b"x" * 48, b"example", b"test")  # 255 octets
    for tcp in (False, True):
        msg = dns.message.from_wire(answer(header() + in_zone + b"\x00\x01\x00\x01", tcp)[0])
        assert msg.rcode() == dns.rcode.NXDOMAIN and len(msg.question) == 1


@pytest.mark.parametrize("tcp", [False, True])
@pytest.mark.parametrize("section", ["answer", "authority"])
def test_opt_outside_additional_is_formerr(section: str, tcp: bool) -> None:
    counts = {"an": 1} if section == "answer" else {"ns": 1}
    assert_header_only_formerr(answer(header(**counts) + QUESTION + OPT, tcp))
    # the same OPT also in the additional section: still FORMERR
    counts["ar"] = 1
    assert_header_only_formerr(answer(header(**counts) + QUESTION + OPT + OPT, tcp))


def test_formerr_to_opt_without_question_has_no_opt() -> None:
    """RFC 6891 7: the FORMERR to a message we could not use carries no OPT."""
    for packet in (header(qd=0, ar=1) + OPT, header(qd=0, ar=2) + OPT + OPT):
        assert_header_only_formerr(answer(packet, False))
        assert_header_only_formerr(answer(packet, True))


def test_malformed_flood_logs_at_most_a_line(caplog: pytest.LogCaptureFixture) -> None:
    e = engine()
    caplog.set_level(logging.DEBUG, logger="swissbox")
    packet = header() + four_63() + b"\x00\x01\x00\x01"
    for i in range(2000):
        assert_header_only_formerr(answer_with(e, packet, f"192.0.2.{i % 200}"))
    records = [r for r in caplog.records if r.name.startswith("swissbox")]
    assert len(records) <= 1
    assert not any(r.exc_info for r in records)


def answer_with(e: object, packet: bytes, client: str) -> list[bytes]:
    out = e.handle(packet, client, False)  # type: ignore[attr-defined]
    assert isinstance(out, list)
    return out


def test_log_throttle_counts_what_it_held_back(caplog: pytest.LogCaptureFixture) -> None:
    from swissbox.dns.logthrottle import LogThrottle

    now = [0.0]
    throttle = LogThrottle(logging.getLogger("swissbox.test"), interval=60, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="swissbox.test")
    assert throttle.info("bad packet from %s", "a")
    assert not throttle.info("bad packet from %s", "b")
    assert not throttle.info("bad packet from %s", "c")
    now[0] = 61.0
    assert throttle.info("bad packet from %s", "d")
    assert [r.getMessage() for r in caplog.records] == [
        "bad packet from a",
        "bad packet from d (and 2 more like it held back)",
    ]
