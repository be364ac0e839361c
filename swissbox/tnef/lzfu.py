"""Compressed RTF ([MS-OXRTFCP]): LZFu decompression with CRC check, and uncompressed "MELA".

``decompress(data, max_size)`` returns the RTF bytes or raises ``TnefError``; the declared raw
size is checked against ``max_size`` before any output is produced.
"""

from __future__ import annotations

import struct
import zlib

from .errors import TnefError

COMPRESSED = 0x75465A4C  # "LZFu"
UNCOMPRESSED = 0x414C454D  # "MELA"

PREBUF = (
    b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss "
    b"\\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier"
    b"{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"
)
assert len(PREBUF) == 207


def crc32(data: bytes) -> int:
    """The [MS-OXRTFCP] CRC: CRC-32 (0xEDB88320) with initial value 0 and no final XOR."""
    return zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


def decompress(data: bytes, max_size: int = 64 * 1024 * 1024, *, check_crc: bool = True) -> bytes:
    """Decompress a PR_RTF_COMPRESSED value; raises TnefError on any inconsistency."""
    if len(data) < 16:
        raise TnefError(f"compressed RTF header truncated ({len(data)} bytes)", 0)
    comp_size, raw_size, magic, crc = struct.unpack_from("<IIII", data, 0)
    if raw_size > max_size:
        raise TnefError(f"compressed RTF declares {raw_size} bytes, limit is {max_size}", 4)
    if comp_size < 12:
        raise TnefError(f"compressed RTF size {comp_size} is too small", 0)
    # compSize counts everything after itself; some writers pad, so extra bytes are ignored.
    end = 4 + comp_size
    if end > len(data):
        raise TnefError(f"compressed RTF size {comp_size} runs past its {len(data)} bytes", 0)
    body = data[16:end]
    if magic == UNCOMPRESSED:
        return bytes(body[:raw_size])
    if magic != COMPRESSED:
        raise TnefError(f"unknown compressed RTF type 0x{magic:08X}", 8)
    if check_crc and crc32(body) != crc:
        raise TnefError(f"compressed RTF CRC mismatch (stored 0x{crc:08X})", 12)
    return _lzfu(body, raw_size)


def _lzfu(body: bytes, raw_size: int) -> bytes:
    """Decode LZFu tokens into a linear buffer that starts with the 207-byte preset.

    Linear index ``j`` lives at dictionary slot ``j & 0xFFF``; slots past the preset that were
    never written read as NUL, which the linear form gives as a negative source index.
    """
    buf = bytearray(PREBUF)
    base = len(PREBUF)
    limit = base + raw_size
    pos = 0
    size = len(body)
    while pos < size:
        flags = body[pos]
        pos += 1
        if flags == 0 and pos + 8 <= size:
            buf += body[pos : pos + 8]  # eight literals in a row: the common case
            pos += 8
        else:
            for bit in range(8):
                if pos >= size:
                    break
                if not flags & (1 << bit):
                    buf.append(body[pos])
                    pos += 1
                    continue
                if pos + 1 >= size:
                    raise TnefError("compressed RTF reference truncated", 16 + pos)
                ref = (body[pos] << 8) | body[pos + 1]
                pos += 2
                current = len(buf)
                distance = (current - (ref >> 4)) & 0xFFF
                if distance == 0:
                    return _finish(buf, base, raw_size)
                length = (ref & 0xF) + 2
                source = current - distance
                if source >= 0 and distance >= length:
                    buf += buf[source : source + length]
                else:
                    for index in range(source, source + length):
                        buf.append(buf[index] if index >= 0 else 0)
        if len(buf) > limit:
            raise TnefError(f"compressed RTF expands past its declared size {raw_size}", 16 + pos)
    return _finish(buf, base, raw_size)


def _finish(buf: bytearray, base: int, raw_size: int) -> bytes:
    if len(buf) - base > raw_size:
        raise TnefError(f"compressed RTF expands past its declared size {raw_size}", 0)
    return bytes(buf[base:])
