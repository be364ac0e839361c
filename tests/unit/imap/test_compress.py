"""COMPRESS=DEFLATE (RFC 4978) stream framing, bytes in -> bytes out: bounded inflation,
corrupt streams, sync-flushed output a client can decode after every write."""

from __future__ import annotations

import zlib

import pytest
from twisted.internet import interfaces
from zope.interface import implementer

from swissbox.imap.compress import CompressError, Deflater, DeflateTransport, Inflater


def deflate(data: bytes, level: int = 6) -> bytes:
    z = zlib.compressobj(level, zlib.DEFLATED, -15)
    return z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)


def test_inflater_never_returns_more_than_asked() -> None:
    bomb = deflate(b"\0" * (8 << 20), 9)
    assert len(bomb) < 16 << 10
    inf = Inflater()
    inf.feed(bomb)
    total = 0
    while chunk := inf.read(4096):
        assert len(chunk) <= 4096
        total += len(chunk)
    assert total == 8 << 20 and inf.pending == 0


def test_inflater_takes_input_in_any_pieces() -> None:
    data = b"a LOGIN x y\r\nb SELECT INBOX\r\n" * 50
    wire = deflate(data)
    inf = Inflater()
    out = b""
    for i in range(len(wire)):
        inf.feed(wire[i : i + 1])
        out += inf.read(7)
    while chunk := inf.read(7):
        out += chunk
    assert out == data


def test_corrupt_or_overlong_streams_are_errors() -> None:
    inf = Inflater()
    inf.feed(b"\xff\xff\xff\xff")
    with pytest.raises(CompressError):
        inf.read()
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    ended = z.compress(b"a NOOP\r\n") + z.flush(zlib.Z_FINISH)
    inf = Inflater()
    inf.feed(ended + b"trailing garbage")
    with pytest.raises(CompressError):
        inf.read()


def test_every_write_is_decodable_on_its_own() -> None:
    d = Deflater()
    client = zlib.decompressobj(-15)
    for response in (b"* OK hello\r\n", b"a OK done\r\n" * 100, b"+ Ready\r\n"):
        # a client that reads only this write decodes the whole response (sync flush)
        assert client.decompress(d.compress(response)) == response


@implementer(interfaces.ITCPTransport)
class FakeTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.paused = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def pauseProducing(self) -> None:  # noqa: N802
        self.paused = True


def test_deflate_transport_compresses_writes_and_delegates_the_rest() -> None:
    inner = FakeTransport()
    t = DeflateTransport(inner)
    t.write(b"* 1 EXISTS\r\n")
    t.writeSequence([b"a OK ", b"done\r\n"])
    t.write(b"")  # nothing to send: nothing written
    client = zlib.decompressobj(-15)
    assert [client.decompress(w) for w in inner.written] == [b"* 1 EXISTS\r\n", b"a OK done\r\n"]
    t.pauseProducing()
    assert inner.paused
    assert interfaces.ITCPTransport.providedBy(t)
