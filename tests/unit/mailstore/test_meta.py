"""summarize(): the single-part fast path gives what a full parse gives."""

from __future__ import annotations

import email.parser
import email.policy

import pytest

from swissbox.mailstore.meta import bodystructure, envelope, header_block, summarize

FULL = email.parser.BytesParser(policy=email.policy.compat32)

SAMPLES = [
    b"From: A <a@b.c>\r\nTo: d@e.f, G <g@h.i>\r\nSubject: hi\r\n\r\nline one\r\nline two\r\n",
    b"Subject: no body\r\n\r\n",
    b"Subject: no blank line\r\n",
    b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<p>\xc3\xa9</p>\r\n",
    b"Content-Type: application/pdf; name=x.pdf\r\nContent-Disposition: attachment; filename=x.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n",
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
    b"x\r\n--b--\r\n",
    b"Subject: folded\r\n\tcontinued\r\nFrom: a@b.c\r\n\r\nbody\n",
]


@pytest.mark.parametrize("raw", SAMPLES)
def test_summary_matches_a_full_parse(raw: bytes) -> None:
    s = summarize(raw)
    msg = FULL.parsebytes(raw)
    assert s.size == len(raw)
    assert s.headers == header_block(raw)
    assert s.envelope == envelope(msg)
    assert s.bodystructure == bodystructure(msg)
