"""RTF bodies: de-encapsulate HTML or text ([MS-OXRTFEX]) or derive plain text from RTF.

``deencapsulate_html(rtf)`` returns the original HTML (str) when the RTF says ``\\fromhtml1``;
``rtf_to_text(rtf)`` returns readable text from any RTF (de-encapsulated when ``\\fromtext``).
Both are linear in the input and never raise on malformed RTF.
"""

from __future__ import annotations

import re

from .codepages import codec_for

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?[0-9]{1,10})? ?"  # control word
    rb"|\\'([0-9a-fA-F]{2})"  # hex-escaped byte
    rb"|\\([^a-zA-Z'])"  # control symbol (including \ + newline)
    rb"|([{}])"  # group
    rb"|[\r\n]+"  # ignored line breaks
    rb"|([^\\{}\r\n]+)"  # text run
    rb"|(\\)",  # lone backslash at the end
    re.DOTALL,
)

# RTF \fcharset values -> Windows code pages.
_CHARSETS = {
    77: 10000,
    128: 932,
    129: 949,
    130: 1361,
    134: 936,
    136: 950,
    161: 1253,
    162: 1254,
    163: 1258,
    177: 1255,
    178: 1256,
    186: 1257,
    204: 1251,
    222: 874,
    238: 1250,
    254: 437,
    255: 850,
}

# Destinations whose content is never text.
_SKIP_DESTINATIONS = frozenset(
    {
        b"fonttbl",
        b"colortbl",
        b"stylesheet",
        b"info",
        b"pict",
        b"object",
        b"header",
        b"footer",
        b"headerl",
        b"headerr",
        b"footerl",
        b"footerr",
        b"fldinst",
        b"listtable",
        b"listoverridetable",
        b"revtbl",
        b"rsidtbl",
        b"generator",
        b"xmlnstbl",
        b"themedata",
        b"colorschememapping",
        b"latentstyles",
        b"datastore",
        b"filetbl",
        b"pntext",
        b"pntxta",
        b"pntxtb",
    }
)

_SYMBOLS = {
    b"\\": "\\",
    b"{": "{",
    b"}": "}",
    b"~": "\u00a0",
    b"_": "\u2011",
    b"\n": "\n",
    b"\r": "\n",
}
_WORD_TEXT = {
    b"par": "\n",
    b"line": "\n",
    b"sect": "\n",
    b"page": "\n",
    b"row": "\n",
    b"tab": "\t",
    b"cell": "\t",
    b"emdash": "\u2014",
    b"endash": "\u2013",
    b"lquote": "\u2018",
    b"rquote": "\u2019",
    b"ldblquote": "\u201c",
    b"rdblquote": "\u201d",
    b"bullet": "\u2022",
    b"emspace": "\u2003",
    b"enspace": "\u2002",
}


def is_html_encapsulated(rtf: bytes) -> bool:
    """True when the RTF header carries ``\\fromhtml1`` (HTML encapsulated in RTF)."""
    return re.search(rb"\\fromhtml1?(?![a-zA-Z0-9])", rtf[:4096]) is not None


def is_text_encapsulated(rtf: bytes) -> bool:
    """True when the RTF header carries ``\\fromtext`` (plain text encapsulated in RTF)."""
    return re.search(rb"\\fromtext(?![a-zA-Z])", rtf[:4096]) is not None


_BRACE = re.compile(rb"[{}]")


def _group_end(rtf: bytes, pos: int) -> int:
    """Position just after the "}" closing the group we are in (or the end of the data)."""
    depth = 1
    for match in _BRACE.finditer(rtf, pos):
        at = match.start()
        slashes = 0
        while at - slashes > 0 and rtf[at - slashes - 1] == 0x5C:
            slashes += 1
        if slashes % 2:
            continue  # an escaped brace is text
        depth += 1 if rtf[at] == 0x7B else -1
        if depth == 0:
            return at + 1
    return len(rtf)


class _Out:
    """Collects bytes (decoded with the current code page) and ready-made text."""

    __slots__ = ("parts", "pending", "codec", "high")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pending = bytearray()
        self.codec = "cp1252"
        self.high = 0

    def flush(self) -> None:
        if self.pending:
            self.parts.append(self.pending.decode(self.codec, errors="replace"))
            self.pending.clear()

    def raw(self, data: bytes, codec: str) -> None:
        if codec != self.codec:
            self.flush()
            self.codec = codec
        self.pending += data

    def text(self, text: str) -> None:
        self.flush()
        self.parts.append(text)

    def unicode(self, code: int) -> None:
        if 0xD800 <= code < 0xDC00:
            self.high = code
            return
        if 0xDC00 <= code < 0xE000 and self.high:
            code = 0x10000 + ((self.high - 0xD800) << 10) + (code - 0xDC00)
        self.high = 0
        if 0xD800 <= code < 0xE000:
            code = 0xFFFD
        self.text(chr(code))

    def result(self) -> str:
        self.flush()
        return "".join(self.parts)


def _walk(rtf: bytes, mode: str, honour_htmlrtf: bool = True) -> str:
    """Shared RTF walker; ``mode`` is "html" (de-encapsulate) or "text"."""
    out = _Out()
    ansi = "cp1252"
    fonts: dict[int, str] = {}
    # Group state: (skip, htmlrtf, in_htmltag, font codec, uc)
    skip = False
    htmlrtf = False
    in_tag = False
    font_codec: str | None = None
    uc = 1
    stack: list[tuple[bool, bool, bool, str | None, int]] = []
    pending_skip = 0  # fallback characters still to skip after \uN
    new_group = False  # the previous token opened a group (for destination detection)
    ignorable = False  # \* seen at the start of this group
    in_fonttbl_depth = -1
    current_font: int | None = None
    pos = 0
    size = len(rtf)
    match = _TOKEN.match
    while pos < size:
        m = match(rtf, pos)
        if m is None:  # pragma: no cover - the pattern matches any byte
            break
        pos = m.end()
        word, param, hexbyte, symbol, brace, text = m.group(1, 2, 3, 4, 5, 6)
        first = new_group
        new_group = False
        if brace is not None:
            if brace == b"{":
                if len(stack) >= 4096:
                    continue  # absurd nesting: keep state, stay linear
                stack.append((skip, htmlrtf, in_tag, font_codec, uc))
                new_group = True
                ignorable = False
            else:
                if stack:
                    skip, htmlrtf, in_tag, font_codec, uc = stack.pop()
                if in_fonttbl_depth > len(stack):
                    in_fonttbl_depth = -1
                ignorable = False
            pending_skip = 0
            continue
        if word is not None:
            if word == b"bin" and param is not None:
                pos += max(0, int(param))
                continue
            if ignorable:
                # The first control word after "{\*" names an ignorable destination.
                ignorable = False
                if word == b"htmltag" and mode == "html" and not skip:
                    in_tag = True
                    continue
                skip_group = True
            else:
                skip_group = first and word in _SKIP_DESTINATIONS and word != b"fonttbl"
            if skip_group:
                # Nothing in this group is text: jump over it (fast for big style sheets).
                pos = _group_end(rtf, pos)
                if stack:
                    skip, htmlrtf, in_tag, font_codec, uc = stack.pop()
                pending_skip = 0
                continue
            if word == b"fonttbl":
                in_fonttbl_depth = len(stack)
                skip = True
                continue
            if in_fonttbl_depth >= 0 and len(stack) >= in_fonttbl_depth:
                if word == b"f" and param is not None:
                    current_font = int(param)
                elif word == b"fcharset" and param is not None and current_font is not None:
                    cp = _CHARSETS.get(int(param))
                    if cp is not None:
                        fonts[current_font] = codec_for(cp)
                elif word == b"cpg" and param is not None and current_font is not None:
                    fonts[current_font] = codec_for(int(param))
                continue
            if first and word in _SKIP_DESTINATIONS:
                skip = True
                continue
            if word == b"ansicpg" and param is not None:
                ansi = codec_for(int(param))
                continue
            if word == b"htmlrtf":
                htmlrtf = honour_htmlrtf and param != b"0"
                continue
            if word in (b"ansi", b"mac", b"pc", b"pca"):
                ansi = {b"ansi": "cp1252", b"mac": "mac-roman", b"pc": "cp437", b"pca": "cp850"}[
                    word
                ]
                continue
            if word == b"f" and param is not None:
                font_codec = fonts.get(int(param))
                continue
            if word == b"uc" and param is not None:
                uc = max(0, min(int(param), 16))
                continue
            if skip or htmlrtf:
                continue
            if word == b"u" and param is not None:
                code = int(param)
                if code < 0:
                    code += 65536
                out.unicode(code & 0xFFFF)
                pending_skip = uc
                continue
            mapped = _WORD_TEXT.get(word)
            if mapped is not None:
                out.text("\r\n" if mapped == "\n" and mode == "html" else mapped)
            continue
        if symbol is not None:
            if symbol == b"*":
                ignorable = first
                continue
            if skip or htmlrtf:
                continue
            if pending_skip:
                pending_skip -= 1
                continue
            mapped = _SYMBOLS.get(symbol)
            if mapped is not None:
                if mapped == "\n" and mode == "html":
                    mapped = "\r\n"
                out.text(mapped)
            continue
        if hexbyte is not None:
            if skip or htmlrtf:
                continue
            if pending_skip:
                pending_skip -= 1
                continue
            codec = ansi if in_tag or font_codec is None else font_codec
            out.raw(bytes((int(hexbyte, 16),)), codec)
            continue
        if text is not None:
            if skip or htmlrtf:
                continue
            if pending_skip:
                drop = min(pending_skip, len(text))
                pending_skip -= drop
                text = text[drop:]
                if not text:
                    continue
            codec = ansi if in_tag or font_codec is None else font_codec
            out.raw(text, codec)
    return out.result()


def deencapsulate_html(rtf: bytes) -> str | None:
    """The HTML encapsulated in an RTF body, or None when the RTF is not ``\\fromhtml``."""
    if not is_html_encapsulated(rtf):
        return None
    return _walk(rtf, "html").replace("\x00", "")


def rtf_to_text(rtf: bytes) -> str:
    """Plain text from RTF: the encapsulated text for ``\\fromtext``, else the visible text."""
    text = _walk(rtf, "text", honour_htmlrtf=is_text_encapsulated(rtf)).replace("\x00", "")
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + ("\n" if lines else "")
