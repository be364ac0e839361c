"""Comparison keys for SORT and THREAD (RFC 5256 section 7: strings collate with
i;unicode-casemap, RFC 5051), and RFC 2047 encoded words decoded to text; pure.

`casemap(text)` is the RFC 5051 titlecased, fully decomposed form; comparing two keys as
strings (code point order, the same as UTF-8 octet order) is the collation's ordering and
equality. For ASCII text it is upper-casing: i;ascii-casemap and i;unicode-casemap agree there.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t\r\n]+(?==\?)")


def casemap(text: str) -> str:
    """The i;unicode-casemap key: each character by its simple titlecase mapping, then fully
    decomposed (compatibility mappings too), titlecased again."""
    if text.isascii():
        return text.upper()
    return _titlecase(unicodedata.normalize("NFKD", _titlecase(text)))


def _titlecase(text: str) -> str:
    out = []
    for ch in text:
        t = ch.title()
        out.append(t if len(t) == 1 else ch)  # simple mappings only (UnicodeData field 14)
    return "".join(out)


def decode_words(text: str) -> str:
    """`=?charset?Q|B?...?=` words as text (blanks between two words dropped, RFC 2047
    6.2); an unknown charset or broken encoding decodes as Latin-1 / is kept as it is."""
    if "=?" not in text:
        return text
    text = _BETWEEN_WORDS.sub(r"\1", text)
    return _WORD.sub(_decode_word, text)


def _decode_word(m: re.Match[str]) -> str:
    charset, kind, data = m[1].split("*", 1)[0], m[2].upper(), m[3]  # RFC 2231 *language
    try:
        if kind == "Q":
            raw = _q_decode(data)
        else:
            raw = base64.b64decode(data + "=" * (-len(data) % 4), validate=False)
    except (ValueError, binascii.Error):
        return m[0]
    try:
        return raw.decode(charset, "replace")
    except LookupError:
        return raw.decode("latin-1")


def _q_decode(data: str) -> bytes:
    out = bytearray()
    i = 0
    raw = data.encode("ascii", "replace")
    while i < len(raw):
        c = raw[i]
        if c == 0x5F:  # "_" is a space in Q encoding
            out.append(0x20)
        elif c == 0x3D and _is_hex(raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 2
        else:
            out.append(c)
        i += 1
    return bytes(out)


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair)
