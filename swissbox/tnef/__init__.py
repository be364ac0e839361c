"""Pure TNEF (winmail.dat) decoding and TNEF -> MIME rewriting; imports nothing of swissbox.

``decode(data) -> Message`` (raises ``TnefError``), ``rewrite(message_bytes, mode) ->
(new_bytes, RewriteReport)`` (never raises on bad input; unchanged bytes when nothing changed).
The MIME side (and the stdlib ``email`` package) is imported on first use of its names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .decoder import decode
from .errors import Limits, TnefError
from .model import Attachment, Message, Recipient

if TYPE_CHECKING:
    from .mime import RewriteReport, message_to_mime, rewrite

_FROM_MIME = frozenset({"RewriteReport", "message_to_mime", "rewrite"})


def __getattr__(name: str) -> Any:
    if name in _FROM_MIME:
        from . import mime

        return getattr(mime, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Attachment",
    "Limits",
    "Message",
    "Recipient",
    "RewriteReport",
    "TnefError",
    "decode",
    "message_to_mime",
    "rewrite",
]
