"""ManageSieve (RFC 5804) wire format, sans I/O: bytes in -> commands out; responses -> bytes.

A command is a line of atoms, quoted strings and literals (``{N+}``/``{N}`` CRLF N octets),
ended by CRLF. ``CommandParser.feed()`` returns every complete command (or a
``ProtocolError`` for a bad one, after which parsing resumes at the next line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LINE = 8192
MAX_LITERAL = 1 << 20
_LITERAL = re.compile(rb"\{([0-9]{1,10})(\+?)\}$")


@dataclass(frozen=True)
class Command:
    name: str  # upper case
    args: list[str | int]


@dataclass(frozen=True)
class ProtocolError:
    message: str


class CommandParser:
    def __init__(self, max_line: int = MAX_LINE, max_literal: int = MAX_LITERAL) -> None:
        self.buffer = bytearray()
        self.max_line = max_line
        self.max_literal = max_literal
        self.pending: list[bytes | str] = []  # pieces of the command being read
        self.literal = 0  # octets of a literal still to read
        self.skipping = False  # discarding the rest of an over-long line

    def feed(self, data: bytes) -> list[Command | ProtocolError]:
        self.buffer += data
        out: list[Command | ProtocolError] = []
        while True:
            if self.literal:
                if len(self.buffer) < self.literal:
                    return out
                self.pending.append(bytes(self.buffer[: self.literal]).decode("utf-8", "replace"))
                del self.buffer[: self.literal]
                self.literal = 0
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                if len(self.buffer) > self.max_line:
                    self.buffer.clear()
                    self.pending = []
                    self.skipping = True
                return out
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            if self.skipping:
                self.skipping = False
                out.append(ProtocolError("line too long"))
                continue
            match = _LITERAL.search(line)
            if match:
                size = int(match.group(1))
                self.pending.append(line[: match.start()])
                if size > self.max_literal:
                    self.pending = []
                    out.append(ProtocolError(f"literal of {size} octets is too large"))
                    self.skip_literal(size)
                    continue
                self.pending.append(_LiteralMark())
                self.literal = size
                if size == 0:
                    self.pending.append("")
                continue
            self.pending.append(line)
            pieces, self.pending = self.pending, []
            out.append(_command(pieces))

    def skip_literal(self, size: int) -> None:
        drop = min(size, len(self.buffer))
        del self.buffer[:drop]
        self.literal = 0
        # the rest of an oversized literal is read as garbage lines and answered NO
        if drop < size:
            self.skipping = True


class _LiteralMark(str):
    """Stands between a line's text and the literal that follows it."""


_TOKEN = re.compile(
    rb'\s*(?:"((?:[^"\\\r\n]|\\["\\])*)"|([0-9]+)(?![^\s])|([A-Za-z][A-Za-z0-9_.-]*))'
)


def _command(pieces: list[bytes | str]) -> Command | ProtocolError:
    args: list[str | int] = []
    name = ""
    index = 0
    while index < len(pieces):
        piece = pieces[index]
        index += 1
        if isinstance(piece, _LiteralMark):
            value = pieces[index]
            index += 1
            args.append(str(value))
            continue
        if isinstance(piece, str):
            args.append(piece)
            continue
        pos = 0
        text = piece.rstrip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                return ProtocolError("syntax error in command")
            pos = match.end()
            if match.group(1) is not None:
                value = re.sub(rb"\\([\"\\])", rb"\1", match.group(1))
                try:
                    args.append(value.decode("utf-8"))
                except UnicodeDecodeError:
                    return ProtocolError("string is not UTF-8")
            elif match.group(2) is not None:
                args.append(int(match.group(2)))
            else:
                word = match.group(3).decode()
                if not name and not args:
                    name = word.upper()
                else:
                    return ProtocolError(f"unexpected atom {word!r}")
    if not name:
        return ProtocolError("expected a command")
    return Command(name, args)


def quoted(text: str) -> bytes:
    """A string as the server sends it: quoted when short and plain, else a literal."""
    raw = text.encode("utf-8")
    if len(raw) < 1024 and not any(c in raw for c in b'"\\\r\n\0'):
        return b'"' + raw + b'"'
    return b"{%d}\r\n" % len(raw) + raw


def response(kind: str, text: str = "", code: str = "") -> bytes:
    """``OK``/``NO``/``BYE`` with an optional response code and human-readable text."""
    out = kind.encode()
    if code:
        out += b" (" + code.encode() + b")"
    if text:
        out += b" " + quoted(text)
    return out + b"\r\n"
