"""summarize_chunks() (a large message read in pieces, parsed as a skeleton) gives exactly
what summarize() gives on the whole bytes; the email package's parse is the oracle."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swissbox.mailstore.meta import measure, skeleton, summarize, summarize_chunks


def attachment(n: int, seed: int = 1) -> bytes:
    raw = bytes((i * seed + i // 7) % 256 for i in range(n))
    return base64.encodebytes(raw).replace(b"\n", b"\r\n")


def text_lines(n: int) -> bytes:
    return b"".join(b"line %d of the text, - with a dash\r\n" % i for i in range(n))


INNER = (
    b"From: Inner <in@example.org>\r\nSubject: attached\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="in"\r\n\r\n'
    b"--in\r\nContent-Type: text/plain\r\n\r\n" + text_lines(300) + b"--in\r\n"
    b"Content-Type: text/html\r\n\r\n<p>" + text_lines(50) + b"</p>\r\n--in--\r\n"
)

MESSAGES = {
    "single text": b"From: a@b.c\r\nSubject: big\r\n\r\n" + text_lines(3000),
    "single base64": b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + attachment(50_000),
    "mixed with attachment": (
        b"From: A <a@b.c>\r\nSubject: report\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\npreamble\r\n--b1\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text_lines(500) + b"--b1\r\n"
        b'Content-Type: application/octet-stream; name="x.bin"\r\n'
        b"Content-Disposition: attachment; filename=x.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + attachment(80_000)
        + b"--b1--\r\nepilogue\r\n"
    ),
    "nested with attached message": (
        b"Subject: fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="out"\r\n\r\n--out\r\n'
        b'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n--alt\r\n'
        b"Content-Type: text/plain\r\n\r\n" + text_lines(400) + b"--alt\r\n"
        b"Content-Type: text/html\r\n\r\n" + text_lines(400) + b"--alt--\r\n"
        b"--out\r\nContent-Type: message/rfc822\r\n\r\n" + INNER + b"--out--\r\n"
    ),
    "odd line ends and signatures": (
        b'Content-Type: multipart/mixed; boundary="z"\r\n\r\n--z\r\n\r\n'
        + text_lines(300)
        + b"-- \r\nsignature\r\n"
        + b"bare lf\nline\rwith bare cr\r\n" * 200
        + b"--z  \r\nContent-Type: text/plain\r\n\r\n"
        + text_lines(300)
        + b"\r--z\r\n\r\nafter a bare cr boundary\r\n"
        + b"--z--"
    ),
    "no final boundary": (
        b'Content-Type: multipart/mixed; boundary="q"\r\n\r\n--q\r\n\r\n' + text_lines(2000)
    ),
    "nul and 8bit": b"Subject: x\r\n\r\n" + (b"\x00\xff\xc3\xa9 bytes\r\n" * 2000),
}


def pieces(raw: bytes, size: int) -> list[bytes]:
    return [raw[i : i + size] for i in range(0, len(raw), size)]


@pytest.mark.parametrize("name", MESSAGES)
@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_streamed_summary_equals_the_full_one(name: str, chunk: int) -> None:
    raw = MESSAGES[name]
    if chunk == 1:
        raw = raw[:20_000]  # byte by byte is slow; the first 20 KB says enough
    want = summarize(raw)
    got = summarize_chunks(pieces(raw, chunk), len(raw))
    assert got == want


@pytest.mark.parametrize("name", MESSAGES)
def test_skeleton_is_small_and_measures_in_full(name: str) -> None:
    raw = MESSAGES[name]
    skel = skeleton(pieces(raw, 4096))
    assert measure(skel) == (len(raw), raw.count(b"\n"))
    if name not in ("odd line ends and signatures", "nested with attached message"):
        assert len(skel) < len(raw) // 3  # (the others have runs of few more than KEEP_LINES)


parts = st.lists(
    st.tuples(
        st.sampled_from([b"text/plain", b"application/octet-stream", b"text/html"]),
        st.lists(
            st.sampled_from(
                [
                    b"plain words",
                    b"",
                    b"--not-a-boundary",
                    b"-",
                    b"=3D",
                    b"Header: like",
                    b"\xc3\xa9",
                ]
            ),
            max_size=40,
        ),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(parts, st.integers(1, 64), st.integers(0, 3), st.sampled_from([b"\r\n", b"\n"]))
def test_generated_multiparts(
    spec: list[tuple[bytes, list[bytes]]], chunk: int, keep: int, eol: bytes
) -> None:
    raw = b'Subject: gen\r\nContent-Type: multipart/mixed; boundary="g"\r\n\r\n'
    for ctype, lines in spec:
        raw += b"--g" + eol + b"Content-Type: " + ctype + eol + eol
        raw += b"".join(line + eol for line in lines)
    raw += b"--g--" + eol
    want = summarize(raw)
    assert summarize(skeleton(pieces(raw, chunk), keep=keep), len(raw)) == want
