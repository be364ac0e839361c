"""The message as Sieve tests see it: decoded header values, addresses, body text, dates."""

from __future__ import annotations

import email.utils
import re
from datetime import datetime
from email import message_from_bytes
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32

_FOLD = re.compile(r"\r?\n(?=[ \t])")


class MessageView:
    """Read-only access to one message (bytes as received)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)
        self.message: Message = message_from_bytes(data, policy=compat32)

    def raw_values(self, name: str) -> list[str]:
        """Unfolded values of every ``name`` field, in order, not MIME-decoded."""
        values = self.message.get_all(name) or []
        return [_FOLD.sub("", str(value)).strip() for value in values]

    def values(self, name: str) -> list[str]:
        """Unfolded, RFC 2047-decoded values of every ``name`` field, in order."""
        return [_decode(value) for value in self.raw_values(name)]

    def body_texts(self, transform: str, content_types: tuple[str, ...]) -> list[str]:
        """Body parts for the ``body`` test: ``raw``, ``text`` or ``content`` (RFC 5173)."""
        if transform == "raw":
            head_end = self.data.find(b"\r\n\r\n")
            skip = 4
            if head_end < 0 or 0 <= self.data.find(b"\n\n") < head_end:
                head_end, skip = self.data.find(b"\n\n"), 2
            if head_end < 0:
                return [""]
            return [self.data[head_end + skip :].decode("utf-8", "replace")]
        wanted = ("text",) if transform == "text" else content_types
        texts: list[str] = []
        for part in self.message.walk():
            if part.is_multipart():
                continue
            ctype = part.get_content_type()
            if not any(_type_matches(ctype, want) for want in wanted):
                continue
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            charset = part.get_content_charset() or "us-ascii"
            try:
                texts.append(payload.decode(charset, "replace"))
            except LookupError:
                texts.append(payload.decode("utf-8", "replace"))
        return texts


def _type_matches(ctype: str, want: str) -> bool:
    want = want.lower()
    if want == "":
        return True
    return ctype == want if "/" in want else ctype.split("/")[0] == want


def _decode(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError, HeaderParseError):
        return value


def addresses(values: list[str]) -> list[str]:
    """The address specs in header values (display names and groups dropped)."""
    return [addr for _, addr in email.utils.getaddresses(values) if addr]


def parse_date(value: str, received: bool) -> datetime | None:
    """A header date (for Received, the part after the last ';'); None when unparsable."""
    if received:
        value = value.rsplit(";", 1)[-1]
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed
