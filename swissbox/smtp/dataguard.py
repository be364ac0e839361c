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
    (DATA reads up to CRLF and is checked by `has_bare_newline`). Once `stopped` (the server
    closed the session), reading ends the command loop even when lines are still buffered."""

    stopped = False

    async def readuntil(self, separator: bytes = b"\n") -> bytes:  # type: ignore[override]
        if self.stopped:
            raise asyncio.CancelledError()
        line = await super().readuntil(separator)
        if separator == b"\n" and command_ends_badly(line):
            raise BareNewlineInCommand()
        return line


class DataBudget:
    """Bytes of DATA held in memory by all sessions together; past the cap, messages are
    refused with 452 4.3.1 instead of growing the process without bound."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.used = 0

    def take(self, n: int) -> bool:
        if self.used + n > self.cap:
            return False
        self.used += n
        return True

    def give(self, n: int) -> None:
        self.used = max(0, self.used - n)


class DataAssembler:
    """The DATA phase, sans I/O: `feed()` chunks as they arrive until it returns True.

    Ends only at <CRLF>.<CRLF> (or a first line that is "."), never at bare LF or CR.
    Then `body` is the raw (still dot-stuffed) message without the final ".CRLF", `rest`
    the bytes that followed (pipelined commands), `too_big` whether it passed `limit`
    (the excess was dropped as it came), `no_memory` whether the shared budget ran out.
    """

    def __init__(self, limit: int = 0, budget: DataBudget | None = None) -> None:
        self.limit = limit
        self.budget = budget
        self.data = bytearray()
        self.scanned = 0
        self.dropped = 0
        self.held = 0  # bytes charged to the budget
        self.no_memory = False
        self.rest = b""
        self.done = False

    def feed(self, chunk: bytes) -> bool:
        data = self.data
        data += chunk
        if self.budget is not None and not self.no_memory and not self.dropped:
            if self.budget.take(len(chunk)):
                self.held += len(chunk)
            else:
                self.no_memory = True
        if not self.dropped and data[:3] == b".\r\n":  # an empty message
            body_end, rest_start = 0, 3
        else:
            found = data.find(b"\r\n.\r\n", max(0, self.scanned - 4))
            body_end, rest_start = (found + 2, found + 5) if found >= 0 else (-1, -1)
        if body_end >= 0:
            self.rest = bytes(data[rest_start:])
            del data[body_end:]
            self.done = True
            return True
        self.scanned = len(data)
        if self.no_memory or (self.limit and self.dropped + len(data) > self.limit + 5):
            self.dropped += len(data) - 4  # keep 4 bytes: the terminator may straddle chunks
            del data[:-4]
            self.scanned = len(data)
        return False

    @property
    def too_big(self) -> bool:
        """Over the size limit (counting the dropped bytes); final once `feed()` is done."""
        return bool(self.limit) and self.dropped + len(self.data) > self.limit

    @property
    def body(self) -> bytearray:
        return self.data

    def release(self) -> None:
        """Returns the bytes charged to the shared budget (call once the message is stored)."""
        if self.budget is not None and self.held:
            self.budget.give(self.held)
            self.held = 0


def unstuff(body: bytearray) -> bytes:
    """RFC 5321 4.5.2: a line starting with "." loses that dot."""
    if body[:1] == b".":
        del body[:1]
    return bytes(body.replace(b"\r\n.", b"\r\n"))
