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
import json
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
    ids = ("".join(m.split()) for m in _MSG_ID.findall(text))
    return [i for i in ids if i]


class Facts:
    """One message as SORT and THREAD see it. Only the strings the keys need are kept (one
    object per message for the garbage collector to visit, however many are cached); each
    key is computed on first use."""

    __slots__ = (
        "internaldate",
        "size",
        "_references",
        "_parents",
        "message_id",
        "_date_raw",
        "_subject_raw",
        "_in_reply_to",
        "_addresses",
        "_date",
        "_base",
        "_keys",
    )

    def __init__(
        self,
        envelope: Sequence[Any],
        internaldate: int,
        size: int,
        references: str | None = None,
    ) -> None:
        self.internaldate = internaldate
        self.size = size
        self._references = references
        self._parents: tuple[str, ...] | None = None
        self.message_id = _message_id(envelope[9])
        self._date_raw: str | None = envelope[0]
        self._subject_raw: str | None = envelope[1]
        self._in_reply_to: str | None = envelope[8]
        # the first From, To and Cc entries (name, mailbox, host)
        self._addresses = tuple(_first_address(envelope[i]) for i in (2, 5, 6))
        self._date: float | None = None
        self._base: tuple[str, bool] | None = None
        self._keys: tuple[str, ...] | None = None  # FROM TO CC DISPLAYFROM DISPLAYTO

    @property
    def date(self) -> float:
        """The sent date (RFC 5256 2.2): Date in UTC, else the internal date."""
        if self._date is None:
            self._date = _sent_date(self._date_raw, self.internaldate)
        return self._date

    @property
    def base(self) -> tuple[str, bool]:
        """(collation key of the base subject, whether it was a reply or forward)."""
        if self._base is None:
            text, reply = base_subject(self._subject_raw)
            self._base = (casemap(text), reply)
        return self._base

    @property
    def references(self) -> str | None:
        """The raw References value ("" when the message has none); None: not loaded yet."""
        return self._references

    @references.setter
    def references(self, value: str | None) -> None:
        self._references = value
        self._parents = None

    def parent_ids(self) -> tuple[str, ...]:
        """RFC 5256 THREAD step 1.A: the References ids, else the first In-Reply-To id."""
        if self._parents is None:
            ids = message_ids(self._references) or message_ids(self._in_reply_to)[:1]
            self._parents = tuple(ids)
        return self._parents

    def key(self, name: str) -> Any:
        if name == "ARRIVAL":
            return self.internaldate
        if name == "DATE":
            return self.date
        if name == "SIZE":
            return self.size
        if name == "SUBJECT":
            return self.base[0]
        if self._keys is None:
            self._keys = _address_keys(self._addresses)
        return self._keys[_ADDRESS_KEYS[name]]


_ADDRESS_KEYS = {"FROM": 0, "TO": 1, "CC": 2, "DISPLAYFROM": 3, "DISPLAYTO": 4}


def _message_id(raw: str | None) -> str | None:
    ids = message_ids(raw)
    if ids:
        return ids[0]
    raw = (raw or "").strip()
    return raw if raw and "@" in raw and not _BLANKS.search(raw) else None


def _first_address(entries: Any) -> tuple[str | None, str, str | None] | None:
    if not entries or not isinstance(entries[0], list) or len(entries[0]) != 4:
        return None
    name, _adl, mailbox, host = entries[0]
    return (name, mailbox or "", host)


def envelope_of(stored: str) -> list[Any]:
    """The envelope list of an index row's JSON; ten NILs for a row without one."""
    value = json.loads(stored)
    if not isinstance(value, list):
        return [None] * 10
    return (value + [None] * 10)[:10]


def _sent_date(raw: str | None, internaldate: int) -> float:
    if raw:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is not None:
            try:
                return float(email.utils.mktime_tz(parsed))
            except (OverflowError, ValueError):
                pass
    return float(internaldate)


def _address_keys(
    first: tuple[tuple[str | None, str, str | None] | None, ...],
) -> tuple[str, ...]:
    """FROM, TO, CC (the mailbox), DISPLAYFROM, DISPLAYTO (the name, else mailbox@host)."""
    keys = [casemap(a[1]) if a is not None else "" for a in first]
    for a in (first[0], first[1]):
        if a is None:
            keys.append("")
            continue
        name, mailbox, host = a
        text = decode_words(name or "").strip()
        keys.append(casemap(text or (f"{mailbox}@{host}" if host else mailbox)))
    return tuple(keys)


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
        if name == "ARRIVAL":
            order.sort(key=lambda item: item[1].internaldate, reverse=reverse)
        elif name == "SIZE":
            order.sort(key=lambda item: item[1].size, reverse=reverse)
        else:
            order.sort(key=lambda item: item[1].key(name), reverse=reverse)
    return [n for n, _ in order]
