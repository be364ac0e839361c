"""swissbox.mailauth.canon answers exactly as dkimpy's regular-expression versions do."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from swissbox.mailauth import canon

# the bytes that matter to the rules (whitespace, line ends, header syntax) and a few others
PIECES = st.lists(
    st.sampled_from(
        [b" ", b"\t", b"\r", b"\n", b"\r\n", b"a", b"Z", b":", b"From", b"\x0b", b"\xff", b"  "]
    ),
    max_size=60,
).map(b"".join)


@settings(max_examples=1000)
@given(PIECES)
def test_relaxed_body_is_dkimpys(body: bytes) -> None:
    assert canon.relaxed_body(body) == canon._ORIGINAL_BODY(body)


@settings(max_examples=1000)
@given(st.lists(st.tuples(PIECES, PIECES), max_size=4))
def test_relaxed_headers_are_dkimpys(headers: list[tuple[bytes, bytes]]) -> None:
    assert canon.relaxed_headers(headers) == canon._ORIGINAL_HEADERS(headers)


@settings(max_examples=1000)
@given(PIECES, PIECES)
def test_message_split_is_dkimpys(head: bytes, body: bytes) -> None:
    for message in (head + b"\r\n\r\n" + body, head + body, b"X: " + head + b"\r\n\r\n" + body):
        try:
            want = canon._ORIGINAL_PARSE(message)
        except Exception as exc:  # the same error, raised by dkimpy's own parser
            try:
                canon.rfc822_parse(message)
            except Exception as ours:
                assert type(ours) is type(exc)
            else:
                raise AssertionError(f"no error for {message!r}") from None
            continue
        assert canon.rfc822_parse(message) == want


def test_a_mail_shaped_message_takes_the_fast_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """dkimpy's own parser sees only the header lines, never the body."""
    body = b"line one  with\t tabs \r\n\r\nlast\r\n\r\n"
    message = b"From: a@b.test\r\nSubject: x\r\n folded\r\n\r\n" + body
    parsed: list[bytes] = []
    original = canon._ORIGINAL_PARSE
    monkeypatch.setattr(canon, "_ORIGINAL_PARSE", lambda m: parsed.append(m) or original(m))
    headers, got = canon.rfc822_parse(message)
    assert got == body and parsed == [b"From: a@b.test\r\nSubject: x\r\n folded\r\n\r\n"]
    assert headers == [[b"From", b" a@b.test\r\n"], [b"Subject", b" x\r\n folded\r\n"]]
    assert canon.relaxed_body(got) == b"line one with tabs\r\n\r\nlast\r\n"


SIGNATURE_PIECES = st.lists(
    st.sampled_from(
        [
            b" ",
            b"\t",
            b"\r",
            b"\n",
            b"\r\n",
            b";",
            b"b",
            b"=",
            b"bh=",
            b"b=",
            b"A",
            b"+/",
            b"-",
            b":",
        ]
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=1000)
@given(SIGNATURE_PIECES)
def test_b_tag_removal_is_dkimpys(value: bytes) -> None:
    assert canon.BTAG.sub(rb"\1", value) == canon._ORIGINAL_BTAG.sub(rb"\1", value)
