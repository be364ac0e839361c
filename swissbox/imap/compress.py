"""COMPRESS=DEFLATE (RFC 4978): after `COMPRESS DEFLATE` both directions are one raw deflate
stream (RFC 1951, no zlib header), inside TLS when TLS is on.

Output: `DeflateTransport` wraps the session's transport; every write is compressed and
sync-flushed, so each response reaches the client whole at once (an interactive client never
waits for bytes held back in the compressor). Input: `Inflater` (sans-I/O) inflates at most a
chunk at a time; the session feeds its assembler one chunk, lets it consume that, then asks for
the next, and inflates nothing while a command runs. What a small compressed input expands to
is therefore never held whole: a decompression bomb is just over-long input (BAD, connection
closed) or a literal over the size limit (refused), never memory.
"""

from __future__ import annotations

import zlib
from typing import Any

from twisted.python.failure import Failure
from zope.interface import directlyProvides, providedBy

from swissbox.imap.base import MAX_PIPELINED, SessionBase, bad, no
from swissbox.imap.parser import Atom, Token

INFLATE_CHUNK = 64 * 1024  # bytes inflated before the assembler consumes them
DEFLATE_ACTIVE = b"DEFLATE active"
ALREADY_ACTIVE = b"[COMPRESSIONACTIVE] DEFLATE is already active"
CORRUPT = b"* BYE corrupt DEFLATE stream"


class CompressError(ValueError):
    """The client's deflate stream is corrupt (or continues after its end)."""


class Inflater:
    """Compressed bytes in (`feed`), at most `n` inflated bytes out per `read`."""

    def __init__(self) -> None:
        self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        self._pending = bytearray()  # received, not yet handed to zlib
        self._tail = b""  # handed to zlib, not consumed (the last read was full)

    @property
    def pending(self) -> int:
        """Compressed bytes waiting."""
        return len(self._pending) + len(self._tail)

    def feed(self, data: bytes) -> None:
        self._pending += data

    def read(self, n: int = INFLATE_CHUNK) -> bytes:
        """Up to `n` inflated bytes; b"" when more input is needed."""
        src = self._tail + bytes(self._pending)
        self._pending.clear()
        try:
            out = self._z.decompress(src, n)
        except zlib.error as exc:
            raise CompressError(str(exc)) from None
        if self._z.eof and self._z.unused_data:
            raise CompressError("data after the end of the deflate stream")
        self._tail = self._z.unconsumed_tail
        return out


class Deflater:
    """One raw deflate stream; `compress` returns whole, sync-flushed output."""

    def __init__(self, level: int = 6) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)


class DeflateTransport:
    """The session's transport with compressed writes; everything else is the wrapped
    transport's (producers, pausing, TLS, peer and host addresses)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._deflater = Deflater()
        directlyProvides(self, providedBy(inner))

    def write(self, data: bytes) -> None:
        if data:
            self._inner.write(self._deflater.compress(data))

    def writeSequence(self, seq: list[bytes]) -> None:  # noqa: N802
        self.write(b"".join(seq))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CompressCommands(SessionBase):
    """COMPRESS, and the input path once it is active."""

    inflater: Inflater | None = None

    def capability_list(self) -> list[bytes]:
        caps = super().capability_list()
        if self.state != "unauth" and self.inflater is None:  # offered once logged in
            caps.append(b"COMPRESS=DEFLATE")
        return caps

    def cmd_compress(self, tag: bytes, args: list[Token]) -> None:
        if len(args) != 1 or not isinstance(args[0], Atom):
            raise bad("COMPRESS needs a mechanism")
        if args[0].upper() != b"DEFLATE":
            raise bad("unknown compression mechanism (DEFLATE is offered)")
        if self.inflater is not None:
            raise no(ALREADY_ACTIVE)
        self.finish(tag, b"OK", DEFLATE_ACTIVE, b"COMPRESS")  # the last uncompressed line
        self.transport = DeflateTransport(self.transport)
        self.inflater = Inflater()
        if self.assembler.buffer:  # sent after the command, so already compressed
            self.inflater.feed(bytes(self.assembler.buffer))
            self.assembler.buffer.clear()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        inflater = self.inflater
        if inflater is None:
            super().dataReceived(data)
            return
        if self.mode == "closed":
            return
        self.resetTimeout()
        inflater.feed(data)
        if self.busy:
            if inflater.pending > MAX_PIPELINED:
                self.transport.pauseProducing()  # resumed when the command finishes
            return
        self.process()

    def process(self) -> None:
        super().process()
        inflater = self.inflater
        while inflater is not None and not self.busy and self.mode != "closed":
            try:
                chunk = inflater.read(INFLATE_CHUNK)
            except CompressError:
                self.write_line(CORRUPT)
                self.close()
                return
            if not chunk:
                return
            self.assembler.feed(chunk)
            super().process()

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802
        self.inflater = None
        super().connectionLost(reason)
