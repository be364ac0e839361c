"""LZFu ([MS-OXRTFCP]): the spec's examples, round trips, and every way to be malformed."""

from __future__ import annotations

import struct

import compressed_rtf
import pytest

from swissbox.tnef import TnefError
from swissbox.tnef.lzfu import PREBUF, crc32, decompress

SPEC_COMPRESSED = bytes.fromhex(
    "2d0000002b0000004c5a4675f1c5c7a703000a007263706731323542320af32068656c"
    "0900206277 05b06c647d0a800fa0".replace(" ", "")
)
SPEC_TEXT = b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"


def test_spec_example() -> None:
    assert decompress(SPEC_COMPRESSED) == SPEC_TEXT


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"{\\rtf1}",
        PREBUF,
        b"{\\rtf1\\ansi " + b"repeat " * 2000 + b"}",
        bytes(range(256)) * 20,
    ],
)
def test_round_trip(text: bytes) -> None:
    assert decompress(bytes(compressed_rtf.compress(text))) == text


def test_uncompressed_mela() -> None:
    body = b"{\\rtf1 plain}"
    data = struct.pack("<IIII", len(body) + 12, len(body), 0x414C454D, 0) + body
    assert decompress(data) == body


def test_crc_is_checked() -> None:
    bad = bytearray(SPEC_COMPRESSED)
    bad[-1] ^= 0xFF
    with pytest.raises(TnefError, match="CRC"):
        decompress(bytes(bad))
    assert crc32(bytes(SPEC_COMPRESSED[16:])) == struct.unpack_from("<I", SPEC_COMPRESSED, 12)[0]


def test_declared_size_over_limit() -> None:
    with pytest.raises(TnefError, match="limit"):
        decompress(SPEC_COMPRESSED, max_size=10)


def test_expansion_past_declared_size() -> None:
    data = bytearray(compressed_rtf.compress(b"x" * 1000))
    struct.pack_into("<I", data, 4, 10)  # claims 10 bytes; the CRC still matches the body
    with pytest.raises(TnefError, match="expands"):
        decompress(bytes(data))


@pytest.mark.parametrize("cut", [0, 8, 15, 20])
def test_truncated(cut: int) -> None:
    with pytest.raises(TnefError):
        decompress(SPEC_COMPRESSED[:cut])


def test_unknown_magic() -> None:
    data = bytearray(SPEC_COMPRESSED)
    data[8:12] = b"ABCD"
    with pytest.raises(TnefError, match="unknown"):
        decompress(bytes(data))
