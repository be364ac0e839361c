"""BINARY (RFC 3516), bytes in -> bytes out: content-transfer decoding, the BINARY fetch
items, literal8 `~{n}` on input, and what a literal8 APPEND stores."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swissbox.imap import binary
from swissbox.imap.binary import UnknownCte, decode, needs_storable, part_data, storable
from swissbox.imap.fetchspec import parse_fetch
from swissbox.imap.parser import (
    LITERAL8_ONLY_IN_APPEND,
    Assembler,
    CommandReady,
    Literal,
    NeedContinuation,
    ParseError,
    Refused,
    tokenize,
)
from swissbox.imap.sections import Entity
from swissbox.mailstore.spool import Spool

MIXED = (
    b"From: a@example.org\r\nMime-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"preamble\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"  aGVs\r\nbG8g d29y\r\nbGQ=\r\n"
    b"--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"caf=C3=A9  \r\nsoft=\r\nbreak\r\n"
    b"--b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n"
    b"--b\r\nContent-Type: message/rfc822\r\n\r\n"
    b"Subject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n"
    b"--b--\r\nepilogue\r\n"
)


def test_base64_is_decoded_leniently() -> None:
    assert decode(b"  aGVs\r\nbG8g d29y\r\nbGQ=\r\n", "base64") == b"hello world"
    assert decode(b"aGVsbG8=garbage after padding", "BASE64") == b"hello"
    assert decode(b"aGVsbG8", "base64") == b"hello"  # missing padding
    assert decode(b"aGVsbG8gx", "base64") == b"hello "  # a dangling character dropped
    assert decode(b"AA==", "base64") == b"\0"


def test_quoted_printable_soft_breaks_and_trailing_space() -> None:
    assert decode(b"caf=C3=A9  \r\nsoft=\r\nbreak\r\n", "quoted-printable") == (
        "café\r\nsoftbreak\r\n".encode()
    )
    assert decode(b"foo\t \t= \r\n=62", "quoted-printable") == b"foo\t \tb"
    assert decode(b"a=ZZ=\n", "quoted-printable") == b"a=ZZ"  # malformed escape kept


def test_identity_encodings_and_unknown_cte() -> None:
    for cte in ("", "7bit", "8BIT", " binary "):
        assert decode(b"\0\xff\r\n", cte) == b"\0\xff\r\n"
    with pytest.raises(UnknownCte):
        decode(b"begin 644 x", "x-uuencode")


def test_part_data_decodes_leaves_and_keeps_containers() -> None:
    assert part_data(MIXED, ()) == MIXED  # BINARY[]: the message as stored
    assert part_data(MIXED, (1,)) == b"hello world"
    assert part_data(MIXED, (2,)) == "café\r\nsoftbreak".encode()  # its CRLF: the delimiter's
    assert part_data(MIXED, (4,)).startswith(b"Subject: inner")  # message/rfc822 as stored
    assert part_data(MIXED, (4, 1)) == b"\0\x01\x02"  # the inner message's body, decoded
    assert part_data(MIXED, (9,)) == b""
    with pytest.raises(UnknownCte):
        part_data(MIXED, (3,))


def test_binary_fetch_items_parse() -> None:
    req = parse_fetch(tokenize([b"(BINARY[1.2]<0.5> BINARY.PEEK[] BINARY.SIZE[3])"])[0])
    got = [(i.name, i.section and i.section.part, i.peek, i.partial) for i in req.items]
    assert got == [
        ("BINARY", (1, 2), False, (0, 5)),
        ("BINARY", (), True, None),
        ("BINARY.SIZE", (3,), True, None),
    ]
    assert req.items[0].sets_seen and not req.items[1].sets_seen
    assert not req.items[2].sets_seen
    for bad in (b"BINARY[1.MIME]", b"BINARY[HEADER]", b"BINARY.SIZE[1]<0.2>", b"BINARY[0]"):
        with pytest.raises(ParseError):
            parse_fetch(tokenize([bad])[0])


def feed(asm: Assembler, data: bytes) -> list[object]:
    asm.feed(data)
    out = []
    while (ev := asm.next_event()) is not None:
        out.append(ev)
    return out


def test_literal8_in_append_is_read_and_marked_binary() -> None:
    asm = Assembler()
    assert feed(asm, b"a APPEND box ~{3}\r\n") == [NeedContinuation()]
    (ready,) = feed(asm, b"\0x\0 ~{2+}\r\n\0\0\r\n")
    assert isinstance(ready, CommandReady)
    tokens = tokenize(ready.segments)
    assert tokens[3] == b"\0x\0" and isinstance(tokens[3], Literal) and tokens[3].binary
    assert tokens[4] == b"\0\0" and tokens[4].binary
    (plain,) = feed(asm, b"b APPEND box {1+}\r\nx\r\n")
    assert isinstance(plain, CommandReady)
    assert not tokenize(plain.segments)[3].binary


def test_literal8_outside_append_is_bad_and_the_stream_stays_in_step() -> None:
    asm = Assembler()
    refused = feed(asm, b"a LOGIN ~{3}\r\n")  # synchronizing: the client sends nothing
    assert refused == [Refused(b"a", b"BAD", LITERAL8_ONLY_IN_APPEND)]
    out = feed(asm, b"b SEARCH TEXT ~{3+}\r\nabc extra\r\nc NOOP\r\n")  # sent anyway: dropped
    assert out[0] == Refused(b"b", b"BAD", LITERAL8_ONLY_IN_APPEND)
    assert isinstance(out[1], CommandReady) and out[1].segments == [b"c NOOP"]


def test_storable_reencodes_binary_leaves_as_base64() -> None:
    raw = (
        b"From: a@example.org\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n\0-\xe4\n\r\n\n"
    )
    stored = storable(raw)
    assert b"\0" not in stored
    head = Entity(stored)
    assert head.cte == "base64" and head.ctype == "application/octet-stream"
    assert stored.count(b"Content-Transfer-Encoding") == 1
    assert part_data(stored, (1,)) == b"\0-\xe4\n\r\n\n"  # nothing lost


def test_storable_walks_multiparts_and_keeps_text_parts() -> None:
    blob = bytes(range(256)) * 3
    raw = (
        b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n--zz\r\n'
        b"Content-Type: text/plain\r\n\r\nkept as is\r\n--zz\r\n"
        b"Content-Type: image/png\r\n\r\n" + blob + b"\r\n--zz--\r\n"
    )
    stored = storable(raw)
    assert b"\0" not in stored
    assert b"kept as is" in stored  # a part without NUL is left alone
    assert part_data(stored, (1,)) == b"kept as is"
    assert part_data(stored, (2,)) == blob
    assert max(len(line) for line in stored.split(b"\r\n")) == 76  # RFC 2045 6.8
    assert base64.b64encode(blob[:57]) + b"\r\n" in stored


def test_storable_leaves_text_messages_alone() -> None:
    raw = b"Subject: plain\r\n\r\nno binary here \xc3\xa9\r\n"
    assert storable(raw) is raw


@pytest.mark.parametrize(
    "raw",
    [
        b"Subject: a\0b\r\n\r\nbody\r\n",  # NUL in a header
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\npre\0\r\n--b\r\n\r\nx\r\n--b--\r\n',
        b"Content-Transfer-Encoding: base64\r\n\r\nAA\0==\r\n",  # NUL inside base64 text
    ],
)
def test_binary_data_no_encoding_can_hold_is_unknown_cte(raw: bytes) -> None:
    with pytest.raises(UnknownCte):
        storable(raw)


def test_set_cte_replaces_or_adds_the_field() -> None:
    assert binary.set_cte(b"A: 1\r\nContent-Transfer-Encoding: binary\r\n\r\n", "base64") == (
        b"A: 1\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    assert binary.set_cte(b"A: 1\n\n", "base64") == (
        b"A: 1\nContent-Transfer-Encoding: base64\r\n\n"
    )


def test_only_messages_with_nul_or_binary_parts_are_rewritten(tmp_path: Path) -> None:
    assert not needs_storable(b"Subject: a\r\n\r\n8bit \xc3\xa9 text\r\n")
    assert needs_storable(b"Subject: a\r\n\r\nnul \0\r\n")
    assert needs_storable(b"Subject: a\r\ncontent-transfer-encoding:  BINARY\r\n\r\nx\r\n")
    assert not needs_storable(b"Subject: binary\r\nX-Note: Content-Transfer-Encoding: binary\r\n")
    spool = Spool(tmp_path, threshold=1024)
    head = b"x" * ((1 << 20) - 10)  # the field straddles the spool's 1 MiB read chunks
    spool.write(head + b"\r\nContent-Transfer-Encoding: binary\r\n\r\nbody")
    assert spool.on_disk and needs_storable(spool)
    spool.close()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["base64", "quoted-printable", "8bit"]))
def test_decoding_never_fails_on_garbage(body: bytes, cte: str) -> None:
    assert isinstance(decode(body, cte), bytes)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_storable_output_holds_no_nul_and_loses_nothing(body: bytes) -> None:
    raw = b"Subject: fuzz\r\nContent-Type: application/octet-stream\r\n\r\n" + body
    try:
        stored = storable(raw)
    except UnknownCte:
        return
    assert b"\0" not in stored
    assert part_data(stored, (1,)) == Entity(raw).body
