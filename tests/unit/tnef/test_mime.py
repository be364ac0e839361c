"""MIME rewriting: winmail.dat becomes real parts; nothing undecodable is ever touched."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from swissbox.tnef import decode
from swissbox.tnef.mime import HEADER, message_to_mime, rewrite

from . import writer as w

HTML = b'<html><body><p>Hi <img src="cid:logo@x"></p></body></html>'


def _tnef() -> bytes:
    return w.message(
        subject="Report",
        msg_props=[w.unicode(0x1000, "Hi there"), w.binary(0x1013, HTML), w.long(0x3FDE, 65001)],
        attachments=[
            w.file_attachment("report.pdf", b"%PDF-1.4 data"),
            w.file_attachment(
                "LOGO.PNG",
                b"\x89PNG logo",
                mapi=[w.string8(0x3712, "logo@x"), w.string8(0x370E, "image/png")],
            ),
            w.file_attachment("X.TXT", "Grüße".encode(), long_name="Grüße aus Zürich.txt"),
        ],
    )


def _outlook(tnef: bytes, *, body: str = "Hi there", linesep: str = "\r\n") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Sender <sender@example.org>"
    msg["To"] = "rcpt@example.net"
    msg["Subject"] = "Report"
    msg["X-Custom"] = "keep   this  exactly"
    msg.set_content(body)
    msg.add_attachment(tnef, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    return msg.as_bytes(policy=email.policy.SMTP.clone(linesep=linesep))


def _parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_replace_mode() -> None:
    original = _outlook(_tnef())
    new, report = rewrite(original)
    assert report.changed and report.attachments == 3
    assert report.header == "decoded 3 attachments from winmail.dat"
    msg = _parse(new)
    assert msg[HEADER] == report.header
    assert msg["X-Custom"] == "keep   this  exactly"
    assert new.startswith(original.split(b"MIME-Version")[0])  # outer headers untouched
    types = [p.get_content_type() for p in msg.walk()]
    assert "application/ms-tnef" not in types
    assert types == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "application/pdf",
        "text/plain",
    ]
    parts = {p.get_filename(): p for p in msg.walk() if p.get_filename()}
    assert parts["report.pdf"].get_content() == b"%PDF-1.4 data"
    assert parts["LOGO.PNG"]["Content-ID"] == "<logo@x>"
    assert parts["Grüße aus Zürich.txt"].get_content() == "Grüße"
    # Non-ASCII names are RFC 2231 encoded on the wire.
    assert b"filename*=utf-8''Gr%C3%BC%C3%9Fe%20aus%20Z%C3%BCrich.txt" in new
    # The duplicate text/plain twin Outlook puts next to winmail.dat is gone.
    assert sum(1 for p in msg.walk() if p.get_content_type() == "text/plain") == 2


def test_keep_mode_keeps_winmail_dat() -> None:
    tnef = _tnef()
    new, report = rewrite(_outlook(tnef), mode="keep")
    assert report.changed and "original kept" in (report.header or "")
    msg = _parse(new)
    kept = [p for p in msg.walk() if p.get_content_type() == "application/ms-tnef"]
    assert len(kept) == 1 and kept[0].get_content() == tnef


def test_off_mode_and_no_tnef_are_byte_identical() -> None:
    original = _outlook(_tnef())
    assert rewrite(original, mode="off")[0] is original
    plain = b"From: a@b\r\nSubject: x\r\n\r\nhello\r\n"
    out, report = rewrite(plain)
    assert out == plain and not report.changed and not report.parts
    with pytest.raises(ValueError):
        rewrite(plain, mode="bogus")


@pytest.mark.parametrize(
    "payload", [b"not tnef at all", b"\x78\x9f\x3e\x22\x00\x00\x01", b"PK\x03\x04 zip file"]
)
def test_undecodable_part_leaves_message_byte_identical(payload: bytes) -> None:
    original = _outlook(payload)
    out, report = rewrite(original)
    assert out == original
    assert not report.changed
    assert report.parts[0].status in ("failed", "empty")


def test_damaged_tnef_is_recovered_but_original_kept() -> None:
    tnef = bytearray(_tnef())
    tnef[-3] ^= 0x01  # inside the last attribute: its checksum no longer matches
    out, report = rewrite(_outlook(bytes(tnef)))
    assert report.changed
    assert report.parts[0].status == "kept"
    msg = _parse(out)
    assert any(p.get_content_type() == "application/ms-tnef" for p in msg.walk())


def test_lf_messages_stay_lf() -> None:
    original = _outlook(_tnef(), linesep="\n")
    out, _report = rewrite(original)
    assert b"\r\n" not in out


def test_whole_message_is_tnef() -> None:
    tnef = _tnef()
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg["Subject"] = "bare"
    msg.set_content(tnef, maintype="application", subtype="ms-tnef")
    out, report = rewrite(msg.as_bytes(policy=email.policy.SMTP))
    assert report.changed
    parsed = _parse(out)
    assert parsed.get_content_type() == "multipart/mixed"
    assert parsed["Subject"] == "bare"
    assert {p.get_filename() for p in parsed.walk() if p.get_filename()} == {
        "report.pdf",
        "LOGO.PNG",
        "Grüße aus Zürich.txt",
    }


def test_different_text_twin_is_kept() -> None:
    out, _report = rewrite(_outlook(_tnef(), body="Something else entirely"))
    texts = [p.get_content() for p in _parse(out).walk() if p.get_content_type() == "text/plain"]
    assert any("Something else entirely" in t for t in texts)


def test_winmail_dat_by_name_only() -> None:
    msg = EmailMessage()
    msg["Subject"] = "octet"
    msg.set_content("body")
    msg.add_attachment(
        _tnef(), maintype="application", subtype="octet-stream", filename="WINMAIL.DAT"
    )
    out, report = rewrite(msg.as_bytes(policy=email.policy.SMTP))
    assert report.changed and report.attachments == 3


def test_embedded_message_becomes_message_rfc822() -> None:
    inner = w.message(subject="inner", msg_props=[w.unicode(0x1000, "inner text")])
    obj = w.prop(0x000D, 0x3701, w.var([w.IID_IMESSAGE.bytes_le + inner]))
    outer = w.message(
        attachments=[[w.attribute(w.ATT, w.ATTACHMENT, w.props(w.long(0x3705, 5), obj))]]
    )
    out, report = rewrite(_outlook(outer))
    assert report.changed
    parsed = _parse(out)
    [rfc822] = [p for p in parsed.walk() if p.get_content_type() == "message/rfc822"]
    inner_msg = rfc822.get_content()
    assert inner_msg["Subject"] == "inner"


def test_meeting_request_gets_calendar_part() -> None:
    data = w.message(message_class="IPM.Schedule.Meeting.Request", subject="Sync")
    out, report = rewrite(_outlook(data))
    assert report.changed
    [cal] = [p for p in _parse(out).walk() if p.get_content_type() == "text/calendar"]
    assert cal.get_param("method") == "REQUEST"
    assert "BEGIN:VEVENT" in cal.get_content()


def test_corpus_messages_rewrite(corpus_dir: Path) -> None:
    """Every corpus sample wrapped in a message: decoded ones change, others stay identical."""
    for path in sorted((corpus_dir / "tnef").rglob("*")):
        if path.suffix not in (".tnef", ".dat"):
            continue
        original = _outlook(path.read_bytes(), body="")
        out, report = rewrite(original)
        if report.changed:
            parsed = _parse(out)
            names = {p.get_filename() for p in parsed.walk() if p.get_filename()}
            decoded = decode(path.read_bytes(), lenient=True)
            assert {a.name for a in decoded.attachments} <= names
        else:
            assert out == original


def test_to_mime_headers() -> None:
    msg = message_to_mime(decode(_tnef()))
    assert msg["Subject"] == "Report"
    assert msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "multipart/mixed"


def test_spoofed_header_is_replaced() -> None:
    original = _outlook(_tnef()).replace(
        b"Subject: Report", b"Subject: Report\r\nX-Swissbox-TNEF: decoded 99 attachments", 1
    )
    out, report = rewrite(original)
    assert report.changed
    assert _parse(out).get_all(HEADER) == [report.header]


def test_lenient_warnings_are_reported() -> None:
    tnef = bytearray(_tnef())
    tnef[-3] ^= 0x01
    _out, report = rewrite(_outlook(bytes(tnef)))
    assert any("decoded leniently" in w for w in report.parts[0].warnings)
    assert any("checksum" in w for w in report.parts[0].warnings)


def test_winmail_dat_inside_a_forwarded_message() -> None:
    inner = _parse(_outlook(_tnef()))
    outer = EmailMessage()
    outer["From"] = "fwd@example.org"
    outer["Subject"] = "Fwd: Report"
    outer.set_content("see attached")
    outer.add_attachment(inner)
    out, report = rewrite(outer.as_bytes(policy=email.policy.SMTP))
    assert report.changed and report.attachments == 3
    parsed = _parse(out)
    [forwarded] = [p for p in parsed.walk() if p.get_content_type() == "message/rfc822"]
    message = forwarded.get_content()
    assert message["Subject"] == "Report"
    names = {p.get_filename() for p in message.walk() if p.get_filename()}
    assert {"report.pdf", "LOGO.PNG"} <= names
    assert not any(p.get_content_type() == "application/ms-tnef" for p in parsed.walk())


def test_bare_tnef_message_inside_a_forwarded_message() -> None:
    bare = EmailMessage()
    bare["Subject"] = "inner bare"
    bare.set_content(_tnef(), maintype="application", subtype="ms-tnef")
    outer = EmailMessage()
    outer["Subject"] = "Fwd"
    outer.set_content("x")
    outer.add_attachment(_parse(bare.as_bytes(policy=email.policy.SMTP)))
    out, report = rewrite(outer.as_bytes(policy=email.policy.SMTP))
    assert report.changed
    [forwarded] = [p for p in _parse(out).walk() if p.get_content_type() == "message/rfc822"]
    inner = forwarded.get_content()
    assert inner["Subject"] == "inner bare"
    assert inner.get_content_type() == "multipart/mixed"


def test_undecodable_rtf_body_keeps_the_original() -> None:
    broken = bytearray(w.rtf_compressed(b"{\\rtf1 important words}"))
    broken[-1] ^= 0x55  # CRC mismatch
    tnef = w.message(
        msg_props=[w.binary(0x1009, bytes(broken))],
        attachments=[w.file_attachment("a.txt", b"a")],
    )
    out, report = rewrite(_outlook(tnef, body=""))
    assert report.changed and report.parts[0].status == "kept"
    assert any(p.get_content_type() == "application/ms-tnef" for p in _parse(out).walk())
