"""What IMAP needs from a message without opening its file, computed once at delivery.

`summarize(raw)` -> `Summary`: the raw header block (for HEADER/SUBJECT/FROM searches), the
ENVELOPE fields (RFC 3501 order, raw header text as sent) and a BODYSTRUCTURE tree as plain
JSON-able dicts. Pure; never raises for malformed mail (it degrades to text/plain).

`summarize_chunks(chunks, size)` gives the same summary for a message read in pieces (a large
file) without holding it: the parser sees a skeleton in which long runs of body lines are one
marker line carrying their byte and line counts (`skeleton`), so every header block and
boundary is parsed as usual while the megabytes in between are only counted.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from typing import Any

from swissbox.mailstore import addresses

ENVELOPE_FIELDS = (
    "date",
    "subject",
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "in-reply-to",
    "message-id",
)
_ADDRESS_FIELDS = {"from", "sender", "reply-to", "to", "cc", "bcc"}
_BLANK = re.compile(rb"\r?\n\r?\n")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def unfold_value(value: str) -> str:
    """RFC 5322 2.2.3: a folded header value without its line breaks (the blank stays)."""
    return _FOLD.sub("", value)


class _Message(Message):
    """A message whose boundary parameter is unfolded: `boundary="foo<CRLF> bar"` splits on
    `--foo bar`, as Dovecot and other MUAs read it (the stdlib parser kept the CRLF, found no
    delimiter, and made the multipart one leaf)."""

    def get_boundary(self, failobj: Any = None) -> Any:
        boundary = super().get_boundary(failobj)
        return unfold_value(boundary) if isinstance(boundary, str) else boundary


_parser = email.parser.BytesParser(_class=_Message, policy=email.policy.compat32)


@dataclass(frozen=True)
class Summary:
    size: int
    headers: bytes  # the header block, up to and including the blank line
    envelope: list[Any]  # 10 entries: str | None, or address lists [[name, adl, mailbox, host]]
    bodystructure: dict[str, Any]


def header_block(raw: bytes) -> bytes:
    m = _BLANK.search(raw)
    return raw[: m.end()] if m else raw


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value)
    return re.sub(r"\r?\n[ \t]", " ", s).strip() or None


def _addresses(values: list[str]) -> list[list[str | None]] | None:
    """IMAP address entries of every occurrence of one header (groups kept, addresses.py)."""
    out: list[list[str | None]] = []
    for value in values:
        out += addresses.parse(_text(value))
    return out or None


def envelope(msg: Message) -> list[Any]:
    env: list[Any] = []
    for name in ENVELOPE_FIELDS:
        if name in _ADDRESS_FIELDS:
            env.append(_addresses(msg.get_all(name, [])))
        else:
            env.append(_text(msg.get(name)))
    # RFC 3501: sender and reply-to default to from.
    if env[3] is None:
        env[3] = env[2]
    if env[4] is None:
        env[4] = env[2]
    return env


def _params(msg: Message, header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in msg.get_params(header=header, failobj=[])[1:]:
        if isinstance(value, tuple):
            value = email.utils.collapse_rfc2231_value(value)
        out[str(key).lower()] = unfold_value(str(value))
    return out


# A run of collapsed body lines: NUL-delimited with a per-process nonce, so no message text
# can pass for one; it holds the run's bytes and "\n" count minus its final line end.
_NONCE = secrets.token_hex(4).encode()
_MARK = b"\x00swissbox-skip-" + _NONCE + b":%d:%d\x00"
_MARK_RE = re.compile(rb"\x00swissbox-skip-" + _NONCE + rb":(\d+):(\d+)\x00")
_MARK_PREFIX = b"\x00swissbox-skip-" + _NONCE
KEEP_LINES = 256  # body lines after a blank line kept as they are (an attached message's header)


def measure(body: bytes) -> tuple[int, int]:
    """(bytes, "\\n" count) of a body as received, collapsed runs counted in full."""
    size, lines = len(body), body.count(b"\n")
    if _MARK_PREFIX in body:
        for m in _MARK_RE.finditer(body):
            size += int(m[1]) - len(m[0])
            lines += int(m[2])
    return size, lines


def _eol(data: bytes | bytearray) -> bytes:
    if data.endswith(b"\r\n"):
        return b"\r\n"
    return bytes(data[-1:]) if data[-1:] in (b"\n", b"\r") else b""


def skeleton(chunks: Iterable[bytes], keep: int = KEEP_LINES) -> bytes:
    """The message with every run of body lines that cannot start a header block or a
    boundary (past the first `keep` lines after a blank line) replaced by a marker line.

    Header state: at the start and after any line beginning with "--" (a possible
    boundary), until a blank line; nothing is collapsed there. A run ends before any line
    that begins with "--", a line end being CRLF, LF or a lone CR as the email parser
    splits them."""
    out = bytearray()
    buf = bytearray()
    header = True
    kept = 0
    run_bytes = run_newlines = 0
    run_eol = b""

    def flush() -> None:
        nonlocal run_bytes, run_newlines, run_eol
        if run_bytes:
            out.extend(_MARK % (run_bytes - len(run_eol), run_newlines - run_eol.count(b"\n")))
            out.extend(run_eol)
            run_bytes = run_newlines = 0
            run_eol = b""

    def take_line(pos: int, final: bool) -> int:
        """Copies the line at `pos` as it is; returns where the next starts (-1: need more)."""
        nonlocal header, kept
        nl = buf.find(b"\n", pos)
        if nl < 0:
            if not final:
                return -1
            nl = len(buf) - 1
        line = buf[pos : nl + 1]
        flush()
        out.extend(line)
        if line.startswith(b"--"):
            header, kept = True, 0
        elif header:
            if line in (b"\r\n", b"\n"):
                header = False
        else:
            kept += 1
        return nl + 1

    def collapse(region: bytes | bytearray) -> None:
        nonlocal run_bytes, run_newlines, run_eol
        run_bytes += len(region)
        run_newlines += region.count(b"\n")
        run_eol = _eol(region)

    def consume(final: bool) -> None:
        pos = 0
        while pos < len(buf):
            if header or kept < keep or buf.startswith(b"--", pos) or len(buf) - pos < 2:
                if not final and len(buf) - pos < 2 and not header and kept >= keep:
                    break  # "-" then the chunk ended: maybe a boundary
                nxt = take_line(pos, final)
                if nxt < 0:
                    break
                pos = nxt
                continue
            # bulk: complete lines up to the next one that starts with "--"
            cut = -1
            for sep in (b"\n--", b"\r--"):
                i = buf.find(sep, pos)
                if i >= 0 and (cut < 0 or i < cut):
                    cut = i
            if cut >= 0:
                end = cut + 1
            else:
                end = buf.rfind(b"\n", pos) + 1
                if end <= 0:
                    if not final:
                        break
                    end = len(buf)
            collapse(buf[pos:end])
            pos = end
        del buf[:pos]

    for chunk in chunks:
        buf.extend(chunk)
        consume(False)
    consume(True)
    flush()
    return bytes(out)


def _payload_bytes(msg: Message) -> bytes:
    """The part's body bytes as received. (`get_payload()` re-decodes 8-bit text with the
    charset, which loses the byte count; the stored payload keeps the bytes as surrogates.)"""
    payload = getattr(msg, "_payload", None)
    if isinstance(payload, str):
        return payload.encode("ascii", "surrogateescape")
    return b""


def bodystructure(msg: Message, depth: int = 0) -> dict[str, Any]:
    ctype = msg.get_content_type()
    maintype, _, subtype = ctype.partition("/")
    disposition = msg.get("content-disposition")
    disp = None
    if disposition:
        disp = [str(disposition).split(";")[0].strip().lower(), _params(msg, "content-disposition")]
    node: dict[str, Any] = {
        "type": maintype,
        "subtype": subtype,
        "params": _params(msg, "content-type"),
        "disposition": disp,
        "language": _text(msg.get("content-language")),
        "location": _text(msg.get("content-location")),
    }
    if ctype == "message/rfc822" and isinstance(msg.get_payload(), list) and depth < 50:
        return _encapsulated(msg, node, depth)
    if msg.is_multipart() and depth < 50:
        parts = msg.get_payload()
        node["parts"] = [bodystructure(p, depth + 1) for p in parts if isinstance(p, Message)]
        return node
    body = _payload_bytes(msg)
    size, lines = measure(body)
    node.update(
        id=_text(msg.get("content-id")),
        description=_text(msg.get("content-description")),
        encoding=(_text(msg.get("content-transfer-encoding")) or "7bit").lower(),
        size=size,
        md5=None,
    )
    if maintype == "text":
        node["lines"] = lines
    elif ctype == "message/rfc822" and depth < 50:
        inner = _parser.parsebytes(body)
        node["envelope"] = envelope(inner)
        node["body"] = bodystructure(inner, depth + 1)
        node["lines"] = lines
    return node


def _encapsulated(msg: Message, node: dict[str, Any], depth: int) -> dict[str, Any]:
    """message/rfc822 as the parser gives it (a one-message payload list): the IMAP fields
    (size and lines of the re-serialised inner message, its envelope and body structure)."""
    payload: Any = msg.get_payload()
    inner: Message = payload[0]
    try:
        body = inner.as_bytes(policy=email.policy.compat32.clone(linesep="\r\n"))
    except Exception:  # unserialisable inner message: sizes unknown
        body = b""
    size, lines = measure(body)
    node.update(
        id=_text(msg.get("content-id")),
        description=_text(msg.get("content-description")),
        encoding=(_text(msg.get("content-transfer-encoding")) or "7bit").lower(),
        size=size,
        md5=None,
        envelope=envelope(inner),
        body=bodystructure(inner, depth + 1),
        lines=lines,
    )
    return node


def summarize_chunks(chunks: Iterable[bytes], size: int) -> Summary:
    """`summarize` of the message whose bytes are `chunks` (`size` in all), holding only
    its skeleton."""
    return summarize(skeleton(chunks), size)


def summarize(raw: bytes, size: int | None = None) -> Summary:
    """`size`: the message's real size when `raw` is its skeleton."""
    if size is None:
        size = len(raw)
    try:
        head = header_block(raw)
        msg = _parser.parsebytes(head, headersonly=True)
        if msg.get_content_maintype() not in ("multipart", "message"):
            # a single part: its body is the rest of the bytes, no need to parse it (2x faster)
            msg.set_payload(raw[len(head) :].decode("ascii", "surrogateescape"))
        else:
            msg = _parser.parsebytes(raw)
        return Summary(size, head, envelope(msg), bodystructure(msg))
    except Exception:  # malformed beyond the parser's tolerance: still deliverable
        body_size, body_lines = measure(raw[len(header_block(raw)) :])
        plain = {
            "type": "text",
            "subtype": "plain",
            "params": {"charset": "us-ascii"},
            "disposition": None,
            "language": None,
            "location": None,
            "id": None,
            "description": None,
            "encoding": "7bit",
            "size": body_size,
            "md5": None,
            "lines": body_lines,
        }
        return Summary(size, header_block(raw), [None] * 10, plain)
