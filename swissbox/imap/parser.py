"""Sans-I/O IMAP command input: assembling lines and literals, and tokenizing arguments.

`Assembler` is fed raw bytes and yields events: a complete command (its text segments and
literal payloads), a continuation request to send for a synchronizing literal, or a refusal
(literal over the limit, line too long). It never buffers more than `max_line` bytes of
command text plus one accepted literal; a refused synchronizing literal is never read, a
non-synchronizing (LITERAL+) one over the size limit ends the connection. An APPEND literal
goes to the sink `open_literal(size)` gives (a mail store Spool: memory, then disk), or is
refused as it says (over a budget: a LITERAL+ one is then read and dropped).

`tokenize(segments)` turns a command into `Atom`/`Str` tokens and nested lists; an atom
carrying a bracketed section (`BODY.PEEK[HEADER.FIELDS (From)]<0.10>`) is one token.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from swissbox.mailstore.importer import decode_mutf7 as mailstore_decode_mutf7
from swissbox.mailstore.spool import Spool

MAX_DEPTH = 16  # parenthesis nesting accepted in a command


class ParseError(ValueError):
    """Malformed client input: answered with BAD."""


class Atom(bytes):
    """An unquoted token (also NIL, numbers, flags, sequence sets, fetch items)."""

    def upper_str(self) -> str:
        return self.decode("ascii", "replace").upper()


class Str(bytes):
    """A quoted string or a literal."""


class Literal(Str):
    """A string sent as a literal (MULTIAPPEND tells messages from date-times by it);
    `binary`: sent as a literal8 `~{n}` (RFC 3516: may hold NUL, only in APPEND)."""

    binary = False


class SpooledLiteral(Literal):
    """A literal too large to keep in memory (APPEND's message): its bytes are in `spool`;
    as a string the token is empty."""

    spool: Spool

    @classmethod
    def of(cls, spool: Spool) -> SpooledLiteral:
        token = cls(b"")
        token.spool = spool
        return token


Token = Atom | Str | list  # list: a parenthesized list of tokens
# What an APPEND literal of the given size goes into, or (status, text) refusing it.
OpenLiteral = Callable[[int], "Spool | tuple[bytes, bytes]"]


# -- events ---------------------------------------------------------------------------------


@dataclass
class CommandReady:
    segments: list[bytes | Spool]  # text, literal, text, literal, ..., text (odd count)

    @property
    def head(self) -> bytes:
        head = self.segments[0]
        assert isinstance(head, bytes)
        return head


@dataclass
class NeedContinuation:
    """Send `+ ...`: the client waits before sending a synchronizing literal."""


@dataclass
class Refused:
    """The command cannot be read; answer `tag` with `status` (NO/BAD) and `text`.
    `close`: the stream cannot be resynchronized (the client is sending the data anyway)."""

    tag: bytes
    status: bytes
    text: bytes
    close: bool = False


Event = CommandReady | NeedContinuation | Refused

_LITERAL_AT_END = re.compile(rb"(~?)\{(\d{1,12})(\+?)\}$")
LITERAL8_ONLY_IN_APPEND = b"literal8 (~{n}) is only valid in APPEND"


def _tag_and_name(head: bytes) -> tuple[bytes, bytes]:
    parts = head.split(b" ", 2)
    tag = parts[0] if parts and parts[0] else b"*"
    name = parts[1].upper() if len(parts) > 1 else b""
    if name == b"UID" and len(parts) > 2:
        name = b"UID " + parts[2].split(b" ", 1)[0].upper()
    return tag, name


@dataclass
class Assembler:
    """Bytes in, events out. `max_literal` applies to APPEND; other commands get
    `max_string` (names, search strings, credentials)."""

    max_literal: int = 64 * 1024 * 1024
    max_line: int = 65536
    max_string: int = 65536
    open_literal: OpenLiteral | None = None
    buffer: bytearray = field(default_factory=bytearray)
    _segments: list[bytes | Spool] = field(default_factory=list)
    _literal_left: int = 0  # bytes of the current literal still to come
    _literal: bytearray | Spool | None = None
    _discard: Refused | None = None  # answer once the refused literal's bytes are dropped
    _skip_rest: bool = False  # then drop the rest of that command (more LITERAL+ included)
    _text_size: int = 0
    _closed: bool = False

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def clear(self) -> None:
        """Drops everything buffered (after STARTTLS: pipelined plaintext is discarded)."""
        self.buffer.clear()
        for segment in [*self._segments, self._literal]:
            if isinstance(segment, Spool):
                segment.close()
        self._segments = []
        self._literal = None
        self._discard = None
        self._skip_rest = False
        self._literal_left = 0
        self._text_size = 0

    def next_line(self) -> bytes | None:
        """One raw line (IDLE's DONE, an AUTHENTICATE response), without its line end; None
        when incomplete. Raises ParseError when the line is over `max_line`."""
        end = self.buffer.find(b"\n")
        if end < 0:
            if len(self.buffer) > self.max_line:
                self.buffer.clear()
                raise ParseError("line too long")
            return None
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        if len(line) > self.max_line:
            raise ParseError("line too long")
        return line[:-1] if line.endswith(b"\r") else line

    def next_event(self) -> Event | None:
        if self._closed:
            return None
        while self._skip_rest:  # a refused command's literal, then the rest of its line
            take = min(self._literal_left, len(self.buffer))
            del self.buffer[:take]
            self._literal_left -= take
            if self._literal_left:
                return None
            if self._discard is not None:
                refused, self._discard = self._discard, None
                return refused
            end = self.buffer.find(b"\n")
            if end < 0:
                return self._too_long() if len(self.buffer) > self.max_line else None
            rest = bytes(self.buffer[:end]).rstrip(b"\r")
            del self.buffer[: end + 1]
            m = _LITERAL_AT_END.search(rest)
            if m is not None and m.group(3):  # another LITERAL+: dropped as well
                self._literal_left = int(m.group(2))
            else:
                self._skip_rest = False
        if self._literal is not None:
            take = min(self._literal_left, len(self.buffer))
            if isinstance(self._literal, Spool):
                self._literal.write(memoryview(self.buffer)[:take])
            else:
                self._literal += self.buffer[:take]
            del self.buffer[:take]
            self._literal_left -= take
            if self._literal_left:
                return None
            literal = self._literal
            self._segments.append(literal if isinstance(literal, Spool) else bytes(literal))
            self._literal = None
        end = self.buffer.find(b"\n")
        if end < 0:
            if self._text_size + len(self.buffer) > self.max_line:
                return self._too_long()
            return None
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        if line.endswith(b"\r"):
            line = line[:-1]
        self._text_size += len(line)
        if self._text_size > self.max_line:
            return self._too_long()
        self._segments.append(line)
        m = _LITERAL_AT_END.search(line)
        if m is None:
            segments, self._segments, self._text_size = self._segments, [], 0
            return CommandReady(segments)
        binary, size, nonsync = bool(m.group(1)), int(m.group(2)), bool(m.group(3))
        tag, name = _tag_and_name(self._head())
        limit = self.max_literal if name == b"APPEND" else self.max_string
        if binary and name != b"APPEND":
            self._drop_segments()
            refused = Refused(tag, b"BAD", LITERAL8_ONLY_IN_APPEND)
            if not nonsync:
                return refused  # never sent: the client waits for a continuation
            self._literal_left = size
            self._discard, self._skip_rest = refused, True
            return self.next_event()
        if size > limit:
            self._drop_segments()  # a literal read before (MULTIAPPEND) gives its budget back
            if nonsync:
                self._closed = True
                self.buffer.clear()
                return Refused(tag, b"BAD", b"[TOOBIG] Literal too large", close=True)
            status = b"NO" if name == b"APPEND" else b"BAD"
            return Refused(tag, status, b"[TOOBIG] Literal too large (limit %d)" % limit)
        self._segments[-1] = line[: m.start()] + (b"~{%d}" if binary else b"{%d}") % size
        self._literal_left = size
        sink = self.open_literal(size) if name == b"APPEND" and self.open_literal else None
        if isinstance(sink, tuple):  # refused (over a budget, wrong state)
            self._drop_segments()  # a literal read before (MULTIAPPEND) gives its budget back
            refused = Refused(tag, sink[0], sink[1])
            if not nonsync:
                self._literal_left = 0
                return refused
            self._discard, self._skip_rest = refused, True  # it comes anyway: read and drop it
            return self.next_event()
        self._literal = sink if sink is not None else bytearray()
        if nonsync:
            return self.next_event()
        return NeedContinuation()

    def _drop_segments(self) -> None:
        for segment in self._segments:
            if isinstance(segment, Spool):
                segment.close()
        self._segments, self._text_size = [], 0

    def _head(self) -> bytes:
        head = self._segments[0]
        assert isinstance(head, bytes)
        return head

    def _too_long(self) -> Refused:
        tag, _ = _tag_and_name(self._head() if self._segments else bytes(self.buffer))
        self._closed = True
        self.buffer.clear()
        self._drop_segments()  # a literal read before (MULTIAPPEND) gives its budget back
        return Refused(tag[:64], b"BAD", b"Command line too long", close=True)


# -- tokenizer ------------------------------------------------------------------------------

_SPECIAL = b' ()"{'
_LITERAL = re.compile(rb"~?\{(\d+)\}")


def tokenize(segments: list[bytes | Spool]) -> list[Token]:
    """Tokens of a whole command (tag and name included); ParseError when malformed."""
    stack: list[list[Token]] = [[]]
    literals = iter(segments[1::2])
    for index, text in enumerate(segments[::2]):
        assert isinstance(text, bytes)
        has_literal = index < len(segments) // 2
        i, n = 0, len(text)
        while i < n:
            c = text[i : i + 1]
            if c == b" ":
                i += 1
            elif c == b"(":
                if len(stack) > MAX_DEPTH:
                    raise ParseError("too deeply nested")
                new: list[Token] = []
                stack[-1].append(new)
                stack.append(new)
                i += 1
            elif c == b")":
                if len(stack) == 1:
                    raise ParseError("unbalanced parenthesis")
                stack.pop()
                i += 1
            elif c == b'"':
                value, i = _quoted(text, i)
                stack[-1].append(Str(value))
            elif c == b"{" or (c == b"~" and text[i + 1 : i + 2] == b"{"):
                m = _LITERAL.match(text, i)
                if m is None or m.end() != n or not has_literal:
                    raise ParseError("misplaced literal")
                stack[-1].append(_literal_token(next(literals), binary=c == b"~"))
                i = n
            elif text[i] < 0x20 or text[i] == 0x7F:
                raise ParseError("control character in command")
            else:
                value, i = _atom(text, i)
                stack[-1].append(Atom(value))
    if len(stack) != 1:
        raise ParseError("unbalanced parenthesis")
    return stack[0]


def _literal_token(literal: bytes | Spool, binary: bool = False) -> Literal:
    """A literal as a token: a spool still in memory becomes a plain string (its budget
    share returns now), one on disk a SpooledLiteral."""
    if not isinstance(literal, Spool):
        value = Literal(literal)
    elif literal.on_disk:
        value = SpooledLiteral.of(literal)
    else:
        value = Literal(literal.getvalue())
        literal.close()
    if binary:
        value.binary = True
    return value


def _quoted(text: bytes, i: int) -> tuple[bytes, int]:
    out = bytearray()
    i += 1
    while i < len(text):
        c = text[i]
        if c == 0x5C:  # backslash
            if i + 1 >= len(text) or text[i + 1] not in b'"\\':
                raise ParseError("bad escape in quoted string")
            out.append(text[i + 1])
            i += 2
        elif c == 0x22:
            return bytes(out), i + 1
        elif c in (0x0D, 0x0A, 0):
            raise ParseError("bad character in quoted string")
        else:
            out.append(c)
            i += 1
    raise ParseError("unterminated quoted string")


_PLAIN_ATOM = re.compile(rb'[^\x00-\x20()"{\x7f\[]+')


def _atom(text: bytes, i: int) -> tuple[bytes, int]:
    m = _PLAIN_ATOM.match(text, i)
    if m is not None and text[m.end() : m.end() + 1] != b"[":
        return m.group(), m.end()  # the common case: no bracketed section
    start = i
    n = len(text)
    while i < n:
        c = text[i : i + 1]
        if c in _SPECIAL or text[i] < 0x20:
            break
        if c == b"[":
            depth = 0
            i += 1
            while i < n:
                ch = text[i : i + 1]
                if ch == b'"':
                    _, i = _quoted(text, i)
                    continue
                if ch == b"(":
                    depth += 1
                elif ch == b")":
                    depth -= 1
                elif ch == b"]" and depth == 0:
                    break
                i += 1
            if i >= n:
                # no "]": "[" is a plain ATOM-CHAR here (a mailbox name like "x[y")
                m = _BRACKET_ATOM.match(text, start)
                if m is None:
                    raise ParseError("unterminated [")
                return m.group(), m.end()
        i += 1
    return text[start:i], i


_BRACKET_ATOM = re.compile(rb'[^\x00-\x20()"{\x7f]+')


# -- arguments ------------------------------------------------------------------------------


def is_nil(token: Token) -> bool:
    return isinstance(token, Atom) and token.upper() == b"NIL"


def astring(token: Token) -> bytes:
    if isinstance(token, SpooledLiteral):
        raise ParseError("string too long")
    if isinstance(token, list):
        raise ParseError("expected a string")
    return bytes(token)


def mailbox_name(token: Token) -> str:
    """A mailbox name: UTF-8 (IMAP4rev1 clients send modified UTF-7 only for non-ASCII)."""
    raw = astring(token)
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError("mailbox name is not UTF-8") from None
    if "&" in name:
        name = decode_mutf7(name)
    return name


def decode_mutf7(name: str) -> str:
    """A mailbox name from the wire; bad modified UTF-7 is a ParseError (BAD)."""
    try:
        return mailstore_decode_mutf7(name, strict=True)
    except ValueError:
        raise ParseError("bad modified UTF-7 in mailbox name") from None


def encode_mutf7(name: str) -> str:
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            raw = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def number(token: Token, what: str = "number") -> int:
    if not isinstance(token, Atom) or not token.isdigit() or len(token) > 20:
        raise ParseError(f"expected a {what}")
    return int(token)


SeqRange = tuple[int | None, int | None]  # None stands for "*"


class SavedResult(list[SeqRange]):
    """`$` (RFC 5182 SEARCHRES): the saved search result; `FolderMailbox.resolve` reads it,
    it names no range by itself. `$` alone only: `$,1` or `$:3` stay malformed."""


def parse_seqset(token: Token) -> list[SeqRange]:
    """`1:3,5,7:*` -> [(1, 3), (5, 5), (7, None)]; ranges are normalised low..high;
    `$` -> SavedResult()."""
    if not isinstance(token, Atom) or not token:
        raise ParseError("expected a sequence set")
    if token == b"$":
        return SavedResult()
    out: list[SeqRange] = []
    for part in bytes(token).split(b","):
        lo_s, sep, hi_s = part.partition(b":")
        lo = _seq_number(lo_s)
        hi = _seq_number(hi_s) if sep else lo
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        elif lo is None and hi is not None:
            lo, hi = hi, None
        out.append((lo, hi))
    return out


def _seq_number(text: bytes) -> int | None:
    if text == b"*":
        return None
    if not text.isdigit() or len(text) > 10 or int(text) == 0 or int(text) > 0xFFFFFFFF:
        raise ParseError("bad sequence number")
    return int(text)


def flag_list(token: Token) -> list[str]:
    """Flags a client may set (APPEND, STORE), system flags in canonical case; \\Recent is
    accepted and dropped (only the server sets it)."""
    items = token if isinstance(token, list) else [token]
    out = []
    for item in items:
        if not isinstance(item, Atom) or not item or item.startswith(b"\\\\"):
            raise ParseError("bad flag")
        flag = item.decode("ascii", "replace")
        if flag.startswith("\\"):
            canonical = SYSTEM_FLAGS.get(flag.lower())
            if canonical is None:
                raise ParseError(f"unknown system flag {flag[:40]}")
            if canonical == "\\Recent":
                continue
            flag = canonical
        out.append(flag)
    return out


SYSTEM_FLAGS = {
    f.lower(): f for f in ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "\\Recent")
}
