"""BODY[section] extraction from the raw message bytes (RFC 3501 6.4.5); pure.

Parts are split on the raw bytes (MIME boundaries), never re-serialised, so what a client
gets is byte-for-byte what was stored. Missing parts give empty bytes.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from collections.abc import Iterator

from swissbox.imap.fetchspec import Section
from swissbox.mailstore.meta import unfold_value

_BLANK = re.compile(rb"\r?\n\r?\n")
_header_parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)


class Entity:
    """A MIME entity: its header block (with the blank line) and its body. `default_type` is
    its type when it has no Content-Type: message/rfc822 inside multipart/digest."""

    def __init__(self, raw: bytes, default_type: str = "text/plain") -> None:
        if raw.startswith(b"\r\n") or raw.startswith(b"\n"):
            cut = 2 if raw.startswith(b"\r\n") else 1
            self.headers, self.body = raw[:cut], raw[cut:]
        else:
            m = _BLANK.search(raw)
            self.headers = raw[: m.end()] if m else raw
            self.body = raw[m.end() :] if m else b""
        msg = _header_parser.parsebytes(self.headers)
        msg.set_default_type(default_type)
        self.ctype = msg.get_content_type()
        self.cte = str(msg.get("Content-Transfer-Encoding", ""))
        boundary = msg.get_boundary()
        self.boundary = unfold_value(boundary) if boundary is not None else None

    @property
    def is_multipart(self) -> bool:
        return self.ctype.startswith("multipart/") and bool(self.boundary)

    @property
    def is_message(self) -> bool:
        return self.ctype == "message/rfc822"

    def delimiters(self) -> Iterator[re.Match[bytes]]:
        """The boundary delimiter lines of a multipart body (group 1: `--` of the last),
        each with the line end before it."""
        if not self.is_multipart or self.boundary is None:
            return iter(())
        delim = re.escape(b"--" + self.boundary.encode("utf-8", "replace"))
        pattern = re.compile(rb"(?:^|\r?\n)" + delim + rb"(--)?[ \t]*(?:\r?\n|$)")
        return pattern.finditer(self.body)

    def children(self) -> list[Entity]:
        if not self.is_multipart or self.boundary is None:
            return []
        parts: list[Entity] = []
        pos = None
        kind = "message/rfc822" if self.ctype == "multipart/digest" else "text/plain"
        for m in self.delimiters():
            if pos is not None:
                parts.append(Entity(self.body[pos : m.start()], kind))
            if m.group(1):
                pos = None
                break
            pos = m.end()
        if pos is not None:
            parts.append(Entity(self.body[pos:], kind))
        return parts


def header_lines(headers: bytes) -> list[bytes]:
    """Each field with its continuation lines, line ends kept."""
    fields: list[bytes] = []
    for line in headers.splitlines(keepends=True):
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    return fields


def filter_headers(headers: bytes, names: tuple[str, ...], keep: bool) -> bytes:
    wanted = {n.lower().encode("ascii", "replace") for n in names}
    out = []
    for f in header_lines(headers):
        name = f.split(b":", 1)[0].strip().lower()
        if (name in wanted) == keep:
            out.append(f if f.endswith(b"\n") else f + b"\r\n")
    return b"".join(out) + b"\r\n"


def extract(raw: bytes, section: Section) -> bytes:
    text = section.text
    if not section.part:
        if text == "":
            return raw
        top = Entity(raw)
        return _text_of(top, section)
    part = find_part(raw, section.part)
    if part is None:
        return b""
    if text == "":
        return part.body
    if text == "MIME":
        return part.headers
    if not part.is_message:
        return b"" if text != "TEXT" else part.body
    return _text_of(Entity(part.body), section)


def find_part(raw: bytes, numbers: tuple[int, ...]) -> Entity | None:
    """The entity a section part number names (`1.2`: the second part of the first), or None.
    The body of a single-part message is its part 1 (its MIME header: the message's)."""
    message = Entity(raw)
    part: Entity | None = None
    for n in numbers:
        if part is not None:
            if part.is_message:
                message = Entity(part.body)
            elif part.is_multipart:
                message = part  # multipart child of a multipart: walk into it
            else:
                return None
        if message.is_multipart:
            kids = message.children()
            if n > len(kids):
                return None
            part = kids[n - 1]
        elif n == 1:
            part = message
        else:
            return None
    return part


def _text_of(ent: Entity, section: Section) -> bytes:
    if section.text == "HEADER":
        return ent.headers
    if section.text == "TEXT":
        return ent.body
    if section.text == "HEADER.FIELDS":
        return filter_headers(ent.headers, section.fields, True)
    if section.text == "HEADER.FIELDS.NOT":
        return filter_headers(ent.headers, section.fields, False)
    return b""


def partial(data: bytes, spec: tuple[int, int | None] | None) -> bytes:
    if spec is None:
        return data
    origin, length = spec
    return data[origin:] if length is None else data[origin : origin + length]
