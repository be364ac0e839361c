"""TNEF at delivery: winmail.dat in over SMTP, normal attachments in the stored Maildir file."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import json
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from swissbox.smtp import delivery
from tests.unit.smtp.harness import TOTO, running

QUICK = ["quick.doc", "quick.html", "quick.pdf", "quick.txt", "quick.xml"]


def with_winmail(dat: bytes) -> bytes:
    b64 = base64.encodebytes(dat).replace(b"\n", b"\r\n")
    return (
        b"From: Outlook User <outlook@corp.example>\r\nTo: <toto@abc.xyz>\r\n"
        b"Subject: quick\r\nMessage-ID: <tnef@corp.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee attached.\r\n"
        b'--b1\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="winmail.dat"\r\n\r\n' + b64 + b"--b1--\r\n"
    )


def send_and_fetch(tmp_path: Path, data: bytes, **kw: Any) -> bytes:
    async def main() -> bytes:
        async with running(tmp_path, **kw) as h:
            async with aiosmtplib.SMTP(hostname="127.0.0.1", port=h.mx, start_tls=False) as c:
                await c.sendmail("outlook@corp.example", [TOTO], data)
            [stored] = h.inbox(TOTO)
            return stored

    return asyncio.run(main())


def attachments(raw: bytes) -> dict[str, bytes]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = {}
    for part in msg.walk():
        name = part.get_filename()
        if name and not part.is_multipart():
            out[name] = part.get_payload(decode=True)
    return out


def test_winmail_dat_becomes_attachments_byte_identical(tmp_path: Path, corpus_dir: Path) -> None:
    base = corpus_dir / "tnef" / "apache-poi-hmef"
    stored = send_and_fetch(tmp_path, with_winmail((base / "quick-winmail.dat").read_bytes()))
    found = attachments(stored)
    for name in QUICK:
        assert found.get(name) == (base / "quick-contents" / name).read_bytes(), name
    assert stored.startswith(b"Return-Path: <outlook@corp.example>\r\nReceived: ")


@pytest.mark.parametrize(
    "sample",
    ["bug52400-winmail-with-attachments.dat", "bug63955-winmail.dat", "winmail-sample1.dat"],
)
def test_corpus_attachments_match_the_reference_decoder(
    tmp_path: Path, corpus_dir: Path, sample: str
) -> None:
    """Attachments stored after delivery have the sha256 the `tnef` tool (1.4.18) extracts."""
    base = corpus_dir / "tnef" / "apache-poi-hmef"
    reference = json.loads((base / "reference-tnef-1.4.18.json").read_text())
    [entry] = [e for e in reference["samples"] if e["file"] == sample]
    expected = {
        f["name"]: f["sha256"]
        for f in entry["tnef_extract"]["files"]
        if not f["name"].startswith("__")
    }
    stored = send_and_fetch(tmp_path, with_winmail((base / sample).read_bytes()))
    found = {name: hashlib.sha256(data).hexdigest() for name, data in attachments(stored).items()}
    for name, digest in expected.items():
        assert found.get(name) == digest, name


def test_delivery_runs_the_rewriter_and_stores_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def fake(data: bytes, mode: str = "replace") -> tuple[bytes, dict[str, str]]:
        calls.append(mode)
        return data.replace(b"See attached.", b"REWRITTEN"), {"attachments": "0"}

    monkeypatch.setattr(delivery, "rewrite", fake)
    stored = send_and_fetch(tmp_path, with_winmail(b"\x78\x9f\x3e\x22junk"), tnef="keep")
    assert calls == ["keep"] and b"REWRITTEN" in stored


def test_mode_off_and_plain_mail_skip_the_rewriter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(data: bytes, mode: str = "replace") -> tuple[bytes, None]:
        raise AssertionError("must not be called")

    monkeypatch.setattr(delivery, "rewrite", boom)
    data = with_winmail(b"\x78\x9f\x3e\x22junk")
    assert send_and_fetch(tmp_path / "a", data, tnef="off").endswith(data)
    plain = b"Subject: no attachments\r\n\r\nhello\r\n"
    assert send_and_fetch(tmp_path / "b", plain).endswith(plain)


def test_a_failing_rewriter_never_loses_mail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(data: bytes, mode: str = "replace") -> tuple[bytes, None]:
        raise RuntimeError("bad TNEF")

    monkeypatch.setattr(delivery, "rewrite", broken)
    data = with_winmail(b"\x78\x9f\x3e\x22junk")
    assert send_and_fetch(tmp_path, data).endswith(data)
