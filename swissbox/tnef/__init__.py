"""Pure TNEF (winmail.dat) decoding and TNEF -> MIME rewriting; imports nothing of swissbox.

``decode(data) -> Message`` (raises ``TnefError``), ``rewrite(message_bytes, mode) ->
(new_bytes, RewriteReport)`` (never raises on bad input; unchanged bytes when nothing changed).
"""

from .decoder import decode
from .errors import Limits, TnefError
from .mime import RewriteReport, message_to_mime, rewrite
from .model import Attachment, Message, Recipient

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
