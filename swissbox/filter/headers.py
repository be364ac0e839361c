"""Header fields the filter adds: our X-Spam-* and unchecked marks go on top, and fields of
those names that arrived with the message are removed first (a sender must not be able to
pre-mark its own mail as checked clean)."""

from __future__ import annotations

from collections.abc import Iterable

from swissbox.filter.base import UNCHECKED_FIELD
from swissbox.mailauth.fields import drop_fields, header_end

OUR_PREFIXES = (b"x-spam", UNCHECKED_FIELD.lower().encode())


def _ours(name: bytes, _field: bytes) -> bool:
    return any(name == p or name.startswith(p + b"-") for p in OUR_PREFIXES)


def strip_ours(message: bytes) -> bytes:
    """`message` without header fields named X-Spam, X-Spam-* or X-Filter-Unchecked (with
    their continuation lines); the body is untouched. Unchanged when none is there."""
    head = message[: header_end(message)].lower()
    if not any(p in head for p in OUR_PREFIXES):
        return message
    return drop_fields(message, _ours)


def add_fields(message: bytes, fields: Iterable[str]) -> bytes:
    """`fields` ("Name: value") on top of `message`, after removing forged ones (also when
    there is nothing to add: mail scanned by clamd alone must not keep a sender's X-Spam: No)."""
    fields = list(fields)
    if not fields:
        return strip_ours(message)
    top = "".join(f"{_single_line(f)}\r\n" for f in fields).encode("utf-8", "replace")
    return top + strip_ours(message)


def _single_line(field: str) -> str:
    return "".join(c if c.isprintable() else " " for c in field)[:998]
