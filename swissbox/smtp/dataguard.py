"""Line-ending rules that close SMTP smuggling (sans-I/O).

RFC 5321 lines end in CRLF. A bare LF or bare CR inside DATA is what lets `\\n.\\n`-style
payloads end a message early on some downstream MTA and start a second one; we refuse such
messages outright (like Postfix's `smtpd_forbid_bare_newline`) rather than normalise them.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from swissbox.mailstore.spool import InflightBudget, Spool


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


class DataBudget(InflightBudget):
    """Bytes of DATA being received by all sessions together (in memory or spooled to disk,
    until stored); past the cap, or past a client's share, messages are refused with
    452 4.3.1 instead of growing the process and the disk without bound."""

    def __init__(self, cap: int, per_client: int | None = None) -> None:
        """`per_client`: the share of one client address or authenticated user (half the
        cap unless told)."""
        super().__init__(cap, cap // 2 if per_client is None else per_client)


class DataAssembler:
    """The DATA phase, sans I/O: `feed()` chunks as they arrive until it returns True.

    Ends only at <CRLF>.<CRLF> (or a first line that is "."), never at bare LF or CR. The
    body goes to `sink` as it comes, dot-unstuffed (a Spool: memory, then disk), so a client
    that stalls mid-DATA holds little memory. Once done: `content()` is the body without the
    final ".CRLF", `rest` the bytes that followed (pipelined commands), `too_big` whether it
    passed `limit`, `no_memory` whether the budget (in total or for `key`) refused it; in
    both cases the rest was dropped as it came. `release()` when the message is stored.
    """

    def __init__(
        self,
        limit: int = 0,
        budget: InflightBudget | None = None,
        key: str = "",
        sink: Spool | None = None,
    ) -> None:
        self.limit = limit
        self.budget = budget
        self.key = key
        # without a sink (tests): in memory, whatever the size
        self.sink = sink if sink is not None else Spool(Path(tempfile.gettempdir()), sys.maxsize)
        self.pending = bytearray()  # the last bytes, where the terminator may be starting
        self.emitted = 0  # raw (still dot-stuffed) body bytes passed on
        self.line_start = True  # the next emitted byte starts a line
        self.scanned = 0
        self.held = 0  # bytes charged to the budget
        self.no_memory = False
        self.rest = b""
        self.done = False

    @property
    def dropping(self) -> bool:
        return self.no_memory or self.too_big

    def feed(self, chunk: bytes) -> bool:
        pending = self.pending
        pending += chunk
        if self.budget is not None and not self.dropping:
            if self.budget.take(self.key, len(chunk)):
                self.held += len(chunk)
            else:
                self.no_memory = True
        if self.emitted == 0 and pending[:3] == b".\r\n":  # an empty message
            body_end, rest_start = 0, 3
        else:
            found = pending.find(b"\r\n.\r\n", max(0, self.scanned - 4))
            body_end, rest_start = (found + 2, found + 5) if found >= 0 else (-1, -1)
        if body_end >= 0:
            self.rest = bytes(pending[rest_start:])
            self._emit(pending[:body_end])
            pending.clear()
            self.done = True
            return True
        cut = len(pending) - 4  # keep 4 bytes: the terminator may straddle chunks
        if cut > 0 and pending[cut - 1] == 0x0D:
            cut -= 1  # never between CR and LF
        if cut > 0:
            self._emit(pending[:cut])
            del pending[:cut]
        self.scanned = len(pending)
        return False

    def _emit(self, raw: bytearray) -> None:
        """Passes complete body bytes on, dot-unstuffed (RFC 5321 4.5.2: a line starting
        with "." loses that dot)."""
        if not raw:
            return
        self.emitted += len(raw)
        if self.dropping:
            return
        body = bytes(raw)
        if self.line_start and body[:1] == b".":
            body = body[1:]
        self.line_start = raw.endswith(b"\r\n")
        self.sink.write(body.replace(b"\r\n.", b"\r\n"))

    @property
    def too_big(self) -> bool:
        """Over the size limit (counting the dropped bytes); final once `feed()` is done."""
        return bool(self.limit) and self.emitted > self.limit

    def content(self) -> bytes:
        """The unstuffed body (in memory: what the DATA handler reads)."""
        return self.sink.getvalue()

    def release(self) -> None:
        """Drops the body and returns its bytes to the budget (call once it is stored)."""
        self.sink.close()
        if self.budget is not None and self.held:
            self.budget.give(self.key, self.held)
            self.held = 0
