"""MIME corners (issue 12, 2), bytes in -> bytes out through the index summary and the section
extractor: a folded boundary parameter is unfolded (RFC 5322 2.2.3) before the body is split,
and parts of multipart/digest without a Content-Type are message/rfc822 (RFC 2046 5.1.5)."""

from __future__ import annotations

from swissbox.imap import render, sections
from swissbox.imap.fetchspec import parse_section
from swissbox.mailstore import summarize

FOLDED = (
    b"From: user@domain.org\r\n"
    b"Mime-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="foo\r\n bar"\r\n'
    b"\r\n"
    b"Root MIME prologue\r\n"
    b"\r\n"
    b"--foo bar\r\n"
    b"Content-Type: text/x-myown; charset=us-ascii\r\n"
    b"\r\n"
    b"hello\r\n"
    b"\r\n"
    b"--foo bar\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: sub@domain.org\r\n"
    b"Subject: submsg\r\n"
    b"\r\n"
    b"inner body\r\n"
    b"\r\n"
    b"--foo bar--\r\n"
    b"Root MIME epilogue\r\n"
)

DIGEST = (
    b"From: user@domain.org\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: sub@domain.org\r\n"
    b"Subject: submsg\r\n"
    b'Content-Type: multipart/digest; boundary="foo"\r\n'
    b"\r\n"
    b"prologue\r\n"
    b"\r\n"
    b"--foo \r\n"
    b"\r\n"
    b"From: m1@example.com\r\n"
    b"Subject: m1\r\n"
    b"\r\n"
    b"m1 body\r\n"
    b"\r\n"
    b"--foo \r\n"
    b"X-Mime: m2 header\r\n"
    b"\r\n"
    b"From: m2@example.com\r\n"
    b"Subject: m2\r\n"
    b"\r\n"
    b"m2 body\r\n"
    b"\r\n"
    b"--foo--\r\n"
    b"\r\n"
    b"epilogue\r\n"
)


def section(raw: bytes, spec: str) -> bytes:
    return sections.extract(raw, parse_section(spec))


def test_folded_boundary_splits_the_parts() -> None:
    s = summarize(FOLDED)
    body = render.bodystructure(s.bodystructure, extended=False)
    assert body.startswith(b'(("TEXT" "X-MYOWN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 7 1)')
    assert body.endswith(b' "MIXED")')
    full = render.bodystructure(s.bodystructure)
    assert b'("BOUNDARY" "foo bar")' in full
    assert b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" ' in full
    assert section(FOLDED, "1") == b"hello\r\n"
    assert section(FOLDED, "1.MIME") == b"Content-Type: text/x-myown; charset=us-ascii\r\n\r\n"
    assert section(FOLDED, "2.HEADER") == b"From: sub@domain.org\r\nSubject: submsg\r\n\r\n"
    assert section(FOLDED, "2.TEXT") == b"inner body\r\n"


def test_digest_parts_default_to_message_rfc822() -> None:
    assert section(DIGEST, "1.1") == b"From: m1@example.com\r\nSubject: m1\r\n\r\nm1 body\r\n"
    assert section(DIGEST, "1.1.MIME") == b"\r\n"
    assert section(DIGEST, "1.1.HEADER") == b"From: m1@example.com\r\nSubject: m1\r\n\r\n"
    assert section(DIGEST, "1.1.TEXT") == b"m1 body\r\n"
    assert section(DIGEST, "1.2.MIME") == b"X-Mime: m2 header\r\n\r\n"
    assert section(DIGEST, "1.2.HEADER") == b"From: m2@example.com\r\nSubject: m2\r\n\r\n"
    assert section(DIGEST, "1.2.TEXT") == b"m2 body\r\n"
    s = summarize(DIGEST)
    inner = s.bodystructure["body"]
    assert inner["subtype"] == "digest"
    assert [(p["type"], p["subtype"]) for p in inner["parts"]] == [("message", "rfc822")] * 2
    assert inner["parts"][0]["envelope"][1] == "m1"


def test_digest_part_with_its_own_content_type_keeps_it() -> None:
    raw = (
        b'Content-Type: multipart/digest; boundary="d"\r\n\r\n'
        b"--d\r\nContent-Type: text/plain\r\n\r\nplain text\r\n--d--\r\n"
    )
    assert section(raw, "1") == b"plain text"
    assert section(raw, "1.HEADER") == b""  # not a message: no HEADER part
    parts = summarize(raw).bodystructure["parts"]
    assert (parts[0]["type"], parts[0]["subtype"]) == ("text", "plain")
