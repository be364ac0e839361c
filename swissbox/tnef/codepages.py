"""Windows code page numbers -> Python codecs, and tolerant decoding of 8-bit strings."""

from __future__ import annotations

import codecs
import functools

_SPECIAL = {
    1200: "utf-16-le",
    1201: "utf-16-be",
    12000: "utf-32-le",
    20127: "ascii",
    20866: "koi8-r",
    21866: "koi8-u",
    20932: "euc-jp",
    28591: "latin-1",
    28592: "iso8859-2",
    28593: "iso8859-3",
    28594: "iso8859-4",
    28595: "iso8859-5",
    28596: "iso8859-6",
    28597: "iso8859-7",
    28598: "iso8859-8",
    28599: "iso8859-9",
    28603: "iso8859-13",
    28605: "iso8859-15",
    50220: "iso2022-jp",
    50221: "iso2022-jp-ext",
    50222: "iso2022-jp",
    50225: "iso2022-kr",
    51932: "euc-jp",
    51936: "gb2312",
    51949: "euc-kr",
    52936: "hz",
    54936: "gb18030",
    65000: "utf-7",
    65001: "utf-8",
    10000: "mac-roman",
    10007: "mac-cyrillic",
    10029: "mac-latin2",
    936: "gbk",
    950: "big5",
    20936: "gb2312",
}

DEFAULT_CODEPAGE = 1252


@functools.lru_cache(maxsize=256)
def codec_for(codepage: int | None) -> str:
    """The Python codec for a Windows code page; cp1252 when unknown."""
    if codepage is None or codepage <= 0:
        return "cp1252"
    name = _SPECIAL.get(codepage, f"cp{codepage}")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "cp1252"


def decode_8bit(raw: bytes, codepage: int | None) -> str:
    """Decode an 8-bit string, dropping the terminating NUL(s); never raises."""
    end = raw.find(b"\0")
    if end >= 0:
        raw = raw[:end]
    return raw.decode(codec_for(codepage), errors="replace")


def decode_utf16(raw: bytes) -> str:
    """Decode a PT_UNICODE value (UTF-16LE, NUL-terminated); never raises."""
    if len(raw) % 2:
        raw = raw[:-1]
    text = raw.decode("utf-16-le", errors="replace")
    end = text.find("\0")
    return text if end < 0 else text[:end]
