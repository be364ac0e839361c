"""SORT (RFC 5256 section 3, RFC 5957 DISPLAYFROM/DISPLAYTO): criteria parsed from tokens,
messages ordered by their index data; pure.

`Facts` is what SORT and THREAD read of one message: its ENVELOPE (as the index keeps it),
INTERNALDATE, RFC822.SIZE and, for THREAD=REFERENCES, its References header. Each key is
computed once, on first use (the I/O layer caches Facts per UID: they never change).

Keys (strings compared in i;unicode-casemap, collation.py):
- ARRIVAL: the internal date; DATE: the Date header in UTC, the internal date when it is
  missing or unparsable (section 2.2); SIZE: RFC822.SIZE;
- SUBJECT: the base subject (basesubject.py); FROM, TO, CC: the mailbox (local part) of the
  first address, "" when none (a group's first entry is the group name);
- DISPLAYFROM, DISPLAYTO: the first address's display name with encoded words decoded, or
  its `mailbox@host` when the name is missing or empty.
REVERSE turns one key around; messages equal under every key stay in mailbox order.
"""

from __future__ import annotations

import email.utils
import functools
import re
from collections.abc import Sequence
from typing import Any

from swissbox.imap.basesubject import base_subject
from swissbox.imap.collation import casemap, decode_words
from swissbox.imap.parser import Atom, ParseError, Token
from swissbox.mailstore import addresses
from swissbox.mailstore.store import unfold

KEYS = ("ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO")
Criterion = tuple[str, bool]  # key name, reversed
_MSG_ID = re.compile(r"<([^<>]*)>")
_BLANKS = re.compile(r"\s+")


def parse_criteria(token: Token) -> list[Criterion]:
    """`(REVERSE DATE SUBJECT)` -> [("DATE", True), ("SUBJECT", False)]; ParseError (BAD)
    for no list, an empty one, an unknown key, or a REVERSE not followed by a key."""
    if not isinstance(token, list) or not token:
        raise ParseError("SORT needs a parenthesized list of sort criteria")
    out: list[Criterion] = []
    reverse = False
    for item in token:
        name = item.upper_str() if isinstance(item, Atom) else ""
        if name == "REVERSE" and not reverse:
            reverse = True
            continue
        if name not in KEYS:
            raise ParseError("unknown SORT criterion")
        out.append((name, reverse))
        reverse = False
    if reverse:
        raise ParseError("REVERSE needs a sort criterion after it")
    return out


def message_ids(text: str | None) -> list[str]:
    """The msg-ids of a References or In-Reply-To value, without brackets and blanks."""
    if not text:
        return []
    ids = (_BLANKS.sub("", m) for m in _MSG_ID.findall(text))
    return [i for i in ids if i]


class Facts:
    """One message as SORT and THREAD see it (keys computed on first use)."""

    def __init__(
        self,
        envelope: Sequence[Any],
        internaldate: int,
        size: int,
        references: str | None = None,
    ) -> None:
        self.envelope = envelope
        self.internaldate = internaldate
        self.size = size
        # the raw References value ("" when the message has none); None: not loaded yet
        self.references = references
        self._keys: dict[str, str] = {}

    @functools.cached_property
    def date(self) -> float:
        raw = self.envelope[0]
        if raw:
            parsed = email.utils.parsedate_tz(raw)
            if parsed is not None:
                try:
                    return float(email.utils.mktime_tz(parsed))
                except (OverflowError, ValueError):
                    pass
        return float(self.internaldate)

    @functools.cached_property
    def base(self) -> tuple[str, bool]:
        """(collation key of the base subject, whether it was a reply or forward)."""
        text, reply = base_subject(self.envelope[1])
        return casemap(text), reply

    @functools.cached_property
    def message_id(self) -> str | None:
        raw = self.envelope[9]
        ids = message_ids(raw)
        if ids:
            return ids[0]
        raw = (raw or "").strip()
        return raw if raw and "@" in raw and not _BLANKS.search(raw) else None

    def parent_ids(self) -> list[str]:
        """RFC 5256 THREAD step 1.A: the References ids, else the first In-Reply-To id."""
        ids = message_ids(self.references)
        if not ids:
            ids = message_ids(self.envelope[8])[:1]
        return ids

    def key(self, name: str) -> Any:
        if name == "ARRIVAL":
            return self.internaldate
        if name == "DATE":
            return self.date
        if name == "SIZE":
            return self.size
        if name == "SUBJECT":
            return self.base[0]
        return self._address_key(name)

    def _address_key(self, name: str) -> str:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = self._compute_address_key(name)
        return key

    def _compute_address_key(self, name: str) -> str:
        display = name.startswith("DISPLAY")
        field = {"FROM": 2, "TO": 5, "CC": 6}[name.removeprefix("DISPLAY")]
        addresses = self.envelope[field] or []
        first = addresses[0] if addresses else None
        if first is None:
            return ""
        mailbox, host = first[2] or "", first[3]
        if not display:
            return casemap(mailbox)
        name_text = decode_words(first[0] or "").strip()
        if name_text:
            return casemap(name_text)
        return casemap(f"{mailbox}@{host}" if host else mailbox)


_REPAIRED = {b"subject": 1, b"from": 2, b"to": 5, b"cc": 6}


def repair_8bit(envelope: Sequence[Any], headers: bytes) -> list[Any]:
    """The ENVELOPE with its Subject, From, To and Cc taken again from the raw header block
    when the index kept them with U+FFFD for raw 8-bit text (read here as UTF-8, as
    Dovecot does), so that such names and subjects sort by their letters."""
    env = list(envelope)
    done: set[bytes] = set()
    for line in unfold(headers):
        name, sep, value = line.partition(b":")
        key = name.strip().lower()
        field = _REPAIRED.get(key)
        if not sep or field is None or key in done or value.isascii():
            continue
        done.add(key)
        text = value.decode("utf-8", "replace").strip()
        env[field] = text if field == 1 else addresses.parse(text) or None
    return env


def sort(items: Sequence[tuple[int, Facts]], criteria: list[Criterion]) -> list[int]:
    """The numbers of `items` ((number, facts) in mailbox order) ordered by `criteria`;
    ties keep mailbox order whatever REVERSE says (RFC 5256 section 3)."""
    order = list(items)
    for name, reverse in reversed(criteria):  # stable sorts, least significant key first
        order.sort(key=lambda item: item[1].key(name), reverse=reverse)
    return [n for n, _ in order]
