"""A message's header fields, sans-I/O: the message without the fields a predicate picks
(with their continuation lines), everything else byte for byte. The MX removes forged
Authentication-Results with it, the filter forged X-Spam-* fields."""

from __future__ import annotations

import re
from collections.abc import Callable

_NAME = re.compile(rb"([!-9;-~]+)[ \t]*:")


def header_end(message: bytes) -> int:
    """Where the header block ends: after the line end before the empty line, or the whole
    message when it has no empty line."""
    end = message.find(b"\r\n\r\n")
    return len(message) if end < 0 else end + 2


def split_fields(head: bytes) -> list[bytes]:
    """Each field of a header block with its continuation lines, line ends kept (a
    continuation line before any field stands as a field of its own)."""
    out: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and out:
            out[-1] += line
        else:
            out.append(line)
    return out


def drop_fields(message: bytes, unwanted: Callable[[bytes, bytes], bool]) -> bytes:
    """`message` without the header fields for which `unwanted(name, field)` holds (`name`
    lower case, `field` the whole field as it stands); `message` itself when none does."""
    cut = header_end(message)
    kept: list[bytes] = []
    for field in split_fields(message[:cut]):
        match = _NAME.match(field)
        if match is None or not unwanted(match.group(1).lower(), field):
            kept.append(field)
    if sum(map(len, kept)) == cut:
        return message
    return b"".join(kept) + message[cut:]
