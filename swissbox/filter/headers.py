"""Header fields the filter adds: our X-Spam-* and unchecked marks go on top, and fields of
those names that arrived with the message are removed first (a sender must not be able to
pre-mark its own mail as checked clean)."""

from __future__ import annotations

from collections.abc import Iterable

from swissbox.filter.base import UNCHECKED_FIELD

OUR_PREFIXES = (b"x-spam", UNCHECKED_FIELD.lower().encode())


def _ours(line: bytes) -> bool:
    name = line.split(b":", 1)[0].strip().lower()
    return any(name == p or name.startswith(p + b"-") for p in OUR_PREFIXES)


def strip_ours(message: bytes) -> bytes:
    """`message` without header fields named X-Spam, X-Spam-* or X-Filter-Unchecked (with
    their continuation lines); the body is untouched. Unchanged when none is there."""
    end = message.find(b"\r\n\r\n")
    head_end = len(message) if end < 0 else end + 2
    head = message[:head_end]
    if b"x-spam" not in head.lower() and UNCHECKED_FIELD.lower().encode() not in head.lower():
        return message
    kept: list[bytes] = []
    dropping = False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = _ours(line)
        if not dropping:
            kept.append(line)
    return b"".join(kept) + message[head_end:]


def add_fields(message: bytes, fields: Iterable[str]) -> bytes:
    """`fields` ("Name: value") on top of `message`, after removing forged ones."""
    fields = list(fields)
    if not fields:
        return message
    top = "".join(f"{_single_line(f)}\r\n" for f in fields).encode("utf-8", "replace")
    return top + strip_ours(message)


def _single_line(field: str) -> str:
    return "".join(c if c.isprintable() else " " for c in field)[:998]
