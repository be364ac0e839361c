"""Line-ending rules that close SMTP smuggling (sans-I/O).

RFC 5321 lines end in CRLF. A bare LF or bare CR inside DATA is what lets `\\n.\\n`-style
payloads end a message early on some downstream MTA and start a second one; we refuse such
messages outright (like Postfix's `smtpd_forbid_bare_newline`) rather than normalise them.
"""

from __future__ import annotations

import asyncio


def find_bare_newline(data: bytes | bytearray) -> int:
    """Offset of the first LF not preceded by CR or CR not followed by LF, else -1."""
    lf = data.find(b"\n")
    while lf != -1:
        if lf == 0 or data[lf - 1] != 0x0D:
            return lf
        lf = data.find(b"\n", lf + 1)
    cr = data.find(b"\r")
    while cr != -1:
        if cr + 1 >= len(data) or data[cr + 1] != 0x0A:
            return cr
        cr = data.find(b"\r", cr + 1)
    return -1


def has_bare_newline(data: bytes | bytearray) -> bool:
    """True when `data` (a DATA body after dot-unstuffing, lines ending in CRLF) has a bare
    LF or CR. Fast path: equal counts of CR, LF and CRLF mean every line end is a CRLF."""
    crlf = data.count(b"\r\n")
    if data.count(b"\n") == crlf and data.count(b"\r") == crlf:
        return False
    return find_bare_newline(data) != -1


def command_ends_badly(line: bytes) -> bool:
    """A command line (as read up to and including LF) that does not end in CRLF, or has
    another CR inside."""
    return not line.endswith(b"\r\n") or b"\r" in line[:-2]


class BareNewlineInCommand(Exception):
    """Raised by `StrictLineReader` for a command line ending in a bare LF."""


class StrictLineReader(asyncio.StreamReader):
    """aiosmtpd reads commands with `readuntil(b"\\n")`: refuse lines that end in a bare LF
    (DATA reads up to CRLF and is checked by `has_bare_newline`)."""

    async def readuntil(self, separator: bytes = b"\n") -> bytes:  # type: ignore[override]
        line = await super().readuntil(separator)
        if separator == b"\n" and command_ends_badly(line):
            raise BareNewlineInCommand()
        return line
