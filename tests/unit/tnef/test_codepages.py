"""Windows code pages -> Python codecs, and tolerant 8-bit / UTF-16 decoding."""

from __future__ import annotations

import pytest

from swissbox.tnef.codepages import codec_for, decode_8bit, decode_utf16
from swissbox.tnef.rtf import rtf_to_text


@pytest.mark.parametrize(
    ("codepage", "codec"),
    [
        (1252, "cp1252"),
        (1251, "cp1251"),
        (932, "cp932"),
        (936, "gbk"),
        (950, "big5"),
        (65001, "utf-8"),
        (28591, "iso8859-1"),
        (20127, "ascii"),
        (None, "cp1252"),
        (0, "cp1252"),
        (99999, "cp1252"),
    ],
)
def test_codec_for(codepage: int | None, codec: str) -> None:
    assert codec_for(codepage) == codec


def test_decode_8bit_stops_at_nul_and_never_raises() -> None:
    assert decode_8bit(b"caf\xe9\0junk", 1252) == "café"
    assert decode_8bit("日本".encode("cp932") + b"\0", 932) == "日本"
    assert decode_8bit(b"\xff\xfe\x81", 65001) == "\ufffd\ufffd\ufffd"


def test_decode_utf16() -> None:
    assert decode_utf16("Zürich".encode("utf-16-le") + b"\0\0tail") == "Zürich"
    assert decode_utf16(b"a\0b") == "a"  # odd length: the stray byte is dropped


def test_rtf_text_has_no_nul() -> None:
    assert rtf_to_text(b"{\\rtf1 hi\\par}\r\n\0") == "hi\n"
