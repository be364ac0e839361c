"""BINARY (RFC 3516) content-transfer decoding, and the conversion that makes an APPENDed
binary message storable; pure (bytes in, bytes out).

`decode(body, cte)` removes a part's content-transfer-encoding (identity for 7bit, 8bit,
binary; base64 and quoted-printable decoded leniently, as mail clients do); an encoding it
cannot undo raises `UnknownCte` (answered `NO [UNKNOWN-CTE]`).

`storable(raw)` is what a literal8 APPEND stores: every leaf part holding NUL (or declared
`binary`) re-encoded as base64, so BODY[] stays a valid IMAP string and BODYSTRUCTURE
describes an encoding RFC 3501 knows, while BINARY[] gives back the exact bytes (RFC 3516
4.4: the server may change the encoding, without loss). NUL outside a leaf body (in a header,
a multipart preamble) cannot be re-encoded: `UnknownCte`.
"""

from __future__ import annotations

import base64
import re

from swissbox.imap import sections
from swissbox.imap.sections import Entity
from swissbox.mailstore.spool import Spool

UNKNOWN_CTE = b"[UNKNOWN-CTE] Cannot decode this part's content-transfer-encoding"
IDENTITY = {"", "7bit", "8bit", "binary"}
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=]+")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_LINE = re.compile(rb"\r?\n")
BASE64_LINE = 57  # input bytes per 76-character base64 line
_DECLARED_BINARY = re.compile(rb"(?im)^content-transfer-encoding:[ \t]*binary\b")
_OVERLAP = 64  # bytes of the previous chunk searched again (a field split across chunks)


class UnknownCte(ValueError):
    """The part's content-transfer-encoding cannot be decoded (or binary data cannot be
    stored where it is)."""


def decode(body: bytes, cte: str) -> bytes:
    """The part's bytes without their content-transfer-encoding (RFC 2045 6)."""
    cte = cte.strip().lower()
    if cte in IDENTITY:
        return body
    if cte == "base64":
        return decode_base64(body)
    if cte == "quoted-printable":
        return decode_qp(body)
    raise UnknownCte(cte)


def decode_base64(body: bytes) -> bytes:
    """Lenient base64: characters outside the alphabet are skipped, decoding stops at the
    padding, a dangling last character is dropped."""
    clean = _NOT_BASE64.sub(b"", body)
    end = clean.find(b"=")
    if end >= 0:
        clean = clean[:end]
    clean = clean[: len(clean) - (len(clean) % 4 == 1)]
    return base64.b64decode(clean + b"=" * (-len(clean) % 4))


def decode_qp(body: bytes) -> bytes:
    """Quoted-printable (RFC 2045 6.7): trailing white space dropped, `=` at a line end (after
    optional white space) joins the lines, `=XX` is an octet; a malformed `=` stays as is."""
    out = bytearray()
    lines = _LINE.split(body)
    ends = _LINE.findall(body)
    for i, line in enumerate(lines):
        line = line.rstrip(b" \t")
        soft = line.endswith(b"=")
        if soft:
            line = line[:-1]
        out += _QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), line)
        if not soft and i < len(ends):
            out += b"\r\n"
    return bytes(out)


def part_data(raw: bytes, part: tuple[int, ...]) -> bytes:
    """BINARY[part]: the part's body decoded (a multipart or message/rfc822 part as stored);
    BINARY[] is the whole message. Missing parts give empty bytes."""
    if not part:
        return raw
    entity = sections.find_part(raw, part)
    if entity is None:
        return b""
    if entity.is_multipart or entity.is_message:
        return entity.body
    return decode(entity.body, entity.cte)


def needs_storable(message: bytes | Spool) -> bool:
    """Whether a literal8 message must be re-encoded: it holds NUL or declares a `binary`
    part (most clients send every APPEND as a literal8 once BINARY is offered: those are
    stored as sent, never read into memory whole)."""
    chunks = message.chunks() if isinstance(message, Spool) else [bytes(message)]
    tail = b""
    for chunk in chunks:
        if b"\0" in chunk or _DECLARED_BINARY.search(tail + chunk):
            return True
        tail = chunk[-_OVERLAP:]
    return False


def storable(raw: bytes, default_type: str = "text/plain") -> bytes:
    """`raw` with its binary leaf parts re-encoded as base64 (see the module docstring)."""
    entity = Entity(raw, default_type)
    if b"\0" in entity.headers:
        raise UnknownCte("NUL in a header")
    if entity.is_multipart:
        return _fix_outer_cte(entity.headers, entity.cte) + _storable_children(entity)
    if entity.is_message:
        return _fix_outer_cte(entity.headers, entity.cte) + storable(entity.body)
    cte = entity.cte.strip().lower()
    if b"\0" not in entity.body and cte != "binary":
        return raw
    if cte not in IDENTITY:
        raise UnknownCte(f"NUL in {cte} data")
    body = entity.body
    lines = [base64.b64encode(body[i : i + BASE64_LINE]) for i in range(0, len(body), BASE64_LINE)]
    return set_cte(entity.headers, "base64") + b"\r\n".join(lines) + b"\r\n"


def _storable_children(entity: Entity) -> bytes:
    kind = "message/rfc822" if entity.ctype == "multipart/digest" else "text/plain"
    body = entity.body
    out = bytearray()
    start: int | None = None  # where the current part begins
    rest = 0  # where the text after the last delimiter begins
    for m in entity.delimiters():
        if start is None:
            _no_nul(body[: m.start()], "multipart preamble")
        else:
            out += storable(body[start : m.start()], kind)
        out += body[m.start() : m.end()]
        rest = m.end()
        if m.group(1):
            start = None
            break
        start = m.end()
    if start is not None:
        out += storable(body[start:], kind)
        return bytes(out)
    _no_nul(body[rest:], "multipart epilogue")
    out += body[rest:]
    return bytes(out)


def _no_nul(data: bytes, where: str) -> None:
    if b"\0" in data:
        raise UnknownCte(f"NUL in a {where}")


def _fix_outer_cte(headers: bytes, cte: str) -> bytes:
    """A multipart or message/rfc822 declared `binary` holds only 7bit/8bit data once its
    parts are converted."""
    return set_cte(headers, "8bit") if cte.strip().lower() == "binary" else headers


def set_cte(headers: bytes, value: str) -> bytes:
    """The header block with its Content-Transfer-Encoding set to `value` (fields kept in
    their order and bytes otherwise)."""
    fields = sections.header_lines(headers)
    blank = headers[sum(len(f) for f in fields) :] or b"\r\n"
    new = b"Content-Transfer-Encoding: " + value.encode("ascii") + b"\r\n"
    out: list[bytes] = []
    for f in fields:
        if f.split(b":", 1)[0].strip().lower() == b"content-transfer-encoding":
            if new:
                out.append(new)
                new = b""
            continue
        out.append(f if f.endswith(b"\n") else f + b"\r\n")
    if new:
        out.append(new)
    return b"".join(out) + blank
