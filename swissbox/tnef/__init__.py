"""Pure TNEF (winmail.dat) decoding and TNEF -> MIME rewriting; imports nothing of swissbox."""

from .decoder import decode
from .errors import Limits, TnefError
from .model import Attachment, Message, Recipient

__all__ = ["Attachment", "Limits", "Message", "Recipient", "TnefError", "decode"]
