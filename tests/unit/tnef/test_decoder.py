"""The decoder on streams built by the test writer: attributes, attachments, bodies, hostility."""

from __future__ import annotations

import struct
import time
from datetime import UTC, datetime

import pytest

from swissbox.tnef import Limits, TnefError, decode

from . import writer as w

WHEN = datetime(2023, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_message_attributes() -> None:
    sender = b"Jane Doe\0" + b"SMTP:jane@example.org\0"
    triple = struct.pack("<4H", 4, len(sender) + 8, 9, len(sender) - 9) + sender + b"\0" * 8
    data = w.message(
        w.attribute(w.MSG, w.DATE_SENT, w.date(WHEN)),
        w.attribute(w.MSG, w.FROM, triple),
        w.attribute(w.MSG, w.BODY, b"plain body\r\n\0"),
        subject="Hello",
    )
    message = decode(data)
    assert message.key == 0x1234
    assert message.version == 0x00010000
    assert message.message_class == "IPM.Note"
    assert message.subject == "Hello"
    assert message.date_sent == WHEN
    assert message.sender_name == "Jane Doe"
    assert message.sender_email == "jane@example.org"
    assert message.body_text == "plain body\r\n"
    assert message.body_formats == ["text"]


def test_attachment_naming_precedence_and_duplicates() -> None:
    data = w.message(
        attachments=[
            w.file_attachment("LONGNA~1.TXT", b"one", long_name="long name.txt"),
            w.file_attachment("title.txt", b"two"),
            w.file_attachment("title.txt", b"three"),
            [
                w.attribute(w.ATT, w.ATTACH_DATA, b"four"),
                w.attribute(w.ATT, w.ATTACHMENT, w.props(w.string8(0x3001, "Display.pdf"))),
            ],
            [w.attribute(w.ATT, w.ATTACH_DATA, b"\x89PNG five")],
            w.file_attachment("x", b"six", long_name="..\\..\\evil/../../name.bin"),
        ]
    )
    message = decode(data)
    names = [a.name for a in message.attachments]
    assert names == [
        "long name.txt",
        "title.txt",
        "title-2.txt",
        "Display.pdf",
        "attachment-5",
        "name.bin",
    ]
    assert [a.data for a in message.attachments][:5] == [
        b"one",
        b"two",
        b"three",
        b"four",
        b"\x89PNG five",
    ]
    assert message.attachments[0].title == "LONGNA~1.TXT"
    assert message.attachments[3].mime_type == "application/pdf"
    assert message.attachments[4].mime_type == "application/octet-stream"


def test_mime_tag_content_id_and_dates() -> None:
    mapi = [
        w.string8(0x370E, "image/png"),
        w.string8(0x3712, "<img1@example>"),
        w.systime(0x3007, WHEN),
    ]
    data = w.message(
        attachments=[
            [
                *w.file_attachment("pic", b"\x89PNG", mapi=mapi),
                w.attribute(w.ATT, w.ATTACH_MODIFY, w.date(WHEN)),
            ]
        ]
    )
    [attachment] = decode(data).attachments
    assert attachment.mime_type == "image/png"
    assert attachment.content_id == "img1@example"
    assert attachment.inline
    assert attachment.created == WHEN and attachment.modified == WHEN


def test_data_before_name_and_attach_data_bin() -> None:
    data = w.message(
        attachments=[
            [
                w.attribute(w.ATT, w.ATTACH_DATA, b"first"),
                w.attribute(w.ATT, w.ATTACH_TITLE, b"late.txt\0"),
            ],
            [
                w.attribute(
                    w.ATT,
                    w.ATTACHMENT,
                    w.props(w.binary(0x3701, b"bin"), w.unicode(0x3707, "d.bin")),
                )
            ],
        ]
    )
    message = decode(data)
    assert [(a.name, a.data) for a in message.attachments] == [
        ("late.txt", b"first"),
        ("d.bin", b"bin"),
    ]


def _embedded(inner: bytes, name: str = "Inner message") -> list[bytes]:
    obj = w.prop(0x000D, 0x3701, w.var([w.IID_IMESSAGE.bytes_le + inner]))
    mapi = w.props(w.long(0x3705, 5), w.string8(0x3001, name), obj)
    return [w.attribute(w.ATT, w.ATTACHMENT, mapi)]


def test_embedded_message_is_decoded_recursively() -> None:
    inner = w.message(
        subject="inside",
        attachments=[w.file_attachment("deep.txt", b"deep data")],
        msg_props=[w.unicode(0x1000, "inner body")],
    )
    outer = w.message(subject="outside", attachments=[_embedded(inner)])
    [attachment] = decode(outer).attachments
    assert attachment.mime_type == "message/rfc822"
    assert attachment.name == "Inner message.eml"
    assert attachment.embedded is not None
    assert attachment.embedded.subject == "inside"
    assert attachment.embedded.body_text == "inner body"
    assert [a.data for a in attachment.embedded.attachments] == [b"deep data"]


def test_nesting_bomb_is_refused() -> None:
    data = w.message(subject="core")
    for _ in range(12):
        data = w.message(attachments=[_embedded(data)])
    with pytest.raises(TnefError, match="nested deeper"):
        decode(data)
    shallow = decode(data, limits=Limits(max_depth=20))
    assert shallow.attachments[0].embedded is not None


def test_bodies_html_and_rtf() -> None:
    html = b"<html><body><p>Hi</p></body></html>"
    rtf = b"{\\rtf1\\ansi\\ansicpg1252 Hello \\b bold\\b0\\par}"
    data = w.message(
        msg_props=[
            w.binary(0x1013, html),
            w.long(0x3FDE, 28592),
            w.binary(0x1009, w.rtf_compressed(rtf)),
        ]
    )
    message = decode(data)
    assert message.body_html == html
    assert message.html_charset == "iso8859-2"
    assert message.body_rtf == rtf
    assert message.body_text is None  # HTML is there: no text is invented from the RTF
    assert message.body_formats == ["html", "rtf"]


def test_text_derived_from_rtf_when_alone() -> None:
    rtf = b"{\\rtf1\\ansi Only \\'e9t\\'e9 rtf\\par}"
    message = decode(w.message(msg_props=[w.binary(0x1009, w.rtf_compressed(rtf))]))
    assert message.body_text == "Only été rtf\n"
    assert message.text_from_rtf


def test_html_deencapsulated_from_rtf() -> None:
    rtf = b"{\\rtf1\\ansi\\fromhtml1 {\\*\\htmltag1 <b>}\\htmlrtf {\\b \\htmlrtf0 x\\htmlrtf }\\htmlrtf0 {\\*\\htmltag1 </b>}}"
    message = decode(w.message(msg_props=[w.binary(0x1009, w.rtf_compressed(rtf))]))
    assert message.body_html == b"<b>x</b>"
    assert message.html_from_rtf


def test_bad_rtf_is_a_warning_not_a_failure() -> None:
    broken = bytearray(w.rtf_compressed(b"{\\rtf1 x}"))
    broken[-1] ^= 0x55
    message = decode(
        w.message(
            msg_props=[w.binary(0x1009, bytes(broken))],
            attachments=[w.file_attachment("a.txt", b"a")],
        )
    )
    assert message.body_rtf is None
    assert any("CRC" in warning for warning in message.warnings)
    assert len(message.attachments) == 1


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", "too short"),
        (b"\x78\x9f\x3e\x22", "too short"),
        (b"\x00\x00\x00\x00\x00\x00", "bad TNEF signature"),
        (w.stream(w.attribute(w.MSG, w.SUBJECT, b"abc\0"))[:-3], "runs past the end"),
        (w.stream(w.attribute(w.MSG, w.SUBJECT, b"abc\0", checksum=1)), "checksum mismatch"),
        (w.stream(w.attribute(7, w.SUBJECT, b"abc\0")), "bad attribute level"),
        (w.stream(struct.pack("<BII", 1, w.SUBJECT, 0xFFFFFFF0) + b"abc"), "runs past the end"),
    ],
)
def test_hostile_input_errors_say_what_and_where(data: bytes, pattern: str) -> None:
    with pytest.raises(TnefError, match=pattern) as info:
        decode(data)
    assert "offset" in str(info.value)


def test_lenient_mode_recovers_and_warns() -> None:
    good = w.file_attachment("a.txt", b"aaa")
    bad_checksum = [
        w.attribute(w.ATT, w.ATTACH_TITLE, b"b.txt\0"),
        w.attribute(w.ATT, w.ATTACH_DATA, b"bbb", checksum=0),
    ]
    data = w.message(attachments=[good, bad_checksum])
    with pytest.raises(TnefError):
        decode(data)
    message = decode(data, lenient=True)
    assert [a.data for a in message.attachments] == [b"aaa", b"bbb"]
    assert any("checksum" in warning for warning in message.warnings)
    truncated = decode(data[:-4], lenient=True)
    assert [(a.name, a.data) for a in truncated.attachments] == [("a.txt", b"aaa"), ("b.txt", b"")]
    assert truncated.warnings
    cut = decode(data[:-1], lenient=True)
    assert any("runs past the end" in warning for warning in cut.warnings)


def test_trailing_garbage_is_a_warning() -> None:
    message = decode(w.message(subject="x") + b"\0\0")
    assert message.subject == "x"
    assert message.warnings


def test_limits_bound_work() -> None:
    many = w.message(attachments=[w.file_attachment(f"{i}.txt", b"x") for i in range(30)])
    with pytest.raises(TnefError, match="attachments"):
        decode(many, limits=Limits(max_attachments=10))
    with pytest.raises(TnefError, match="attributes"):
        decode(many, limits=Limits(max_attributes=20))
    with pytest.raises(TnefError, match="limit"):
        decode(many, limits=Limits(max_input=100))
    huge_rtf = w.rtf_compressed(b"{\\rtf1 " + b"a" * 100_000 + b"}")
    message = decode(
        w.message(msg_props=[w.binary(0x1009, huge_rtf)]), limits=Limits(max_rtf_size=1000)
    )
    assert message.body_rtf is None and message.warnings


def test_zip_bomb_style_rtf_is_fast() -> None:
    """A compressed RTF that claims 4 GB is refused before any work."""
    fake = struct.pack("<IIII", 12, 0xFFFFFFF0, 0x75465A4C, 0)
    start = time.perf_counter()
    message = decode(w.message(msg_props=[w.binary(0x1009, fake)]))
    assert time.perf_counter() - start < 0.5
    assert message.body_rtf is None


def test_attachments_without_rend_data_are_split() -> None:
    data = w.message(
        w.attribute(w.ATT, w.ATTACH_TITLE, b"one.txt\0"),
        w.attribute(w.ATT, w.ATTACH_DATA, b"1"),
        w.attribute(w.ATT, w.ATTACH_TITLE, b"two.txt\0"),
        w.attribute(w.ATT, w.ATTACH_DATA, b"2"),
    )
    message = decode(data)
    assert [(a.name, a.data) for a in message.attachments] == [("one.txt", b"1"), ("two.txt", b"2")]


def test_html_body_as_string8_keeps_its_bytes() -> None:
    html = "<p>Grüße</p>".encode("iso-8859-1")
    data = w.message(
        msg_props=[w.prop(0x001E, 0x1013, w.var([html + b"\0"])), w.long(0x3FDE, 28591)]
    )
    message = decode(data)
    assert message.body_html == html
    assert message.html_charset == "iso8859-1"


def test_attribute_flood_is_bounded_in_time() -> None:
    one = w.attribute(w.ATT, 0x00038012, w.date(WHEN))  # attAttachCreateDate, over and over
    data = w.stream(*([one] * 120_000))
    start = time.perf_counter()
    with pytest.raises(TnefError, match="more than 100000 attributes"):
        decode(data)
    message = decode(data[: 6 + len(one) * 50_000])
    assert message.attachments == []  # dates alone, no data and no name: nothing to deliver
    assert time.perf_counter() - start < 5


def test_embedded_message_in_attach_data() -> None:
    inner = w.message(subject="inside data")
    outer = w.message(
        attachments=[
            [
                w.attribute(w.ATT, w.ATTACH_DATA, inner),
                w.attribute(w.ATT, w.ATTACHMENT, w.props(w.long(0x3705, 5))),
            ]
        ]
    )
    [attachment] = decode(outer).attachments
    assert attachment.embedded is not None
    assert attachment.embedded.subject == "inside data"
    assert attachment.mime_type == "message/rfc822"


def test_broken_embedded_message_stays_an_attachment() -> None:
    obj = w.prop(0x000D, 0x3701, w.var([w.IID_IMESSAGE.bytes_le + b"\x78\x9f\x3e\x22junk"]))
    outer = w.message(
        attachments=[[w.attribute(w.ATT, w.ATTACHMENT, w.props(w.long(0x3705, 5), obj))]]
    )
    message = decode(outer)
    [attachment] = message.attachments
    assert attachment.embedded is None
    assert attachment.data.endswith(b"junk")
    assert any("embedded message not decoded" in warning for warning in message.warnings)


def test_damage_mid_stream_is_an_error_unless_lenient() -> None:
    data = bytearray(
        w.message(
            attachments=[w.file_attachment("a.txt", b"aaa"), w.file_attachment("b.txt", b"bbb")]
        )
    )
    second = data.rfind(b"b.txt") - 9 - 14 - 2 - 9  # level byte of the second attAttachRendData
    assert data[second] == w.ATT
    data[second] = 7
    with pytest.raises(TnefError, match="bad attribute level 7"):
        decode(bytes(data))
    message = decode(bytes(data), lenient=True)
    assert [a.name for a in message.attachments] == ["a.txt"]
    assert any("trailing" in warning for warning in message.warnings)
