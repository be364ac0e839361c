"""SEARCH keys (RFC 3501 6.4.4, RFC 7162 MODSEQ): parsed from tokens into a tree, then
evaluated per message against index data; pure.

Nodes are tuples: ("ALL",), ("FLAG", flag, present), ("HEADER", name, needle),
("BODY"|"TEXT", needle), ("DATE", op, day, sent), ("SIZE", op, n), ("UID", ranges),
("SEQ", ranges), ("NOT", node), ("OR", a, b), ("AND", [nodes]), ("MODSEQ", n),
("WITHIN", "OLDER"|"YOUNGER", seconds) (RFC 5032). `$` (RFC 5182) parses to ("UID"|"SEQ",
SavedResult()); `bind` turns it into ("UIDIN", uids) and WITHIN into ("TIME", op, cutoff)
before evaluation.
"""

from __future__ import annotations

import datetime as dt
import email.header
import email.utils
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from swissbox.imap.parser import (
    Atom,
    ParseError,
    SavedResult,
    SeqRange,
    Token,
    astring,
    number,
    parse_seqset,
)
from swissbox.mailstore.addresses import searchable
from swissbox.mailstore.store import unfold

Node = tuple[Any, ...]

_FLAG_KEYS = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True),
    "SEEN": ("\\Seen", True),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNDRAFT": ("\\Draft", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
    "RECENT": ("\\Recent", True),
    "OLD": ("\\Recent", False),
}
_HEADER_KEYS = {"FROM": "From", "TO": "To", "CC": "Cc", "BCC": "Bcc", "SUBJECT": "Subject"}
# Address headers also match in their normal form (mailstore/addresses.py), where comments
# and blanks are gone; the prefilter then looks for the needle's longest plain piece.
_ADDRESS_HEADERS = {b"from", b"to", b"cc", b"bcc", b"sender", b"reply-to"}
_ADDRESS_SPECIALS = re.compile(r'[\s()<>\[\]:;@\\,."]+')
_ADDRESS_SPECIALS_B = re.compile(rb'[\s()<>\[\]:;@\\,."]+')
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}


_DATE = re.compile(rb"(\d{1,2})-([A-Za-z]{3})-(\d{4})")  # RFC 3501 date: 1*2DIGIT-Mon-4DIGIT


def parse_date(token: Token) -> dt.date:
    """`1-Feb-1994` -> date; anything else (other digits, signs, years outside
    0001..9999, days the month lacks) is a ParseError."""
    raw = astring(token)
    m = _DATE.fullmatch(raw)
    try:
        if m is None:
            raise ValueError
        return dt.date(int(m[3]), _MONTHS[m[2].decode().upper()], int(m[1]))
    except (ValueError, KeyError):
        raise ParseError(f"bad date {raw[:20].decode('ascii', 'replace')}") from None


def _internal_day(timestamp: int) -> dt.date:
    """The UTC day of an internal date; dates outside 0001..9999 clamp to the ends."""
    try:
        return dt.datetime.fromtimestamp(timestamp, dt.UTC).date()
    except (ValueError, OverflowError, OSError):
        return dt.date.min if timestamp < 0 else dt.date.max


def _text(token: Token) -> str:
    return astring(token).decode("utf-8", "replace")


def parse_search(tokens: list[Token]) -> Node:
    """All keys ANDed; raises ParseError on a malformed or unknown key."""
    it = iter(tokens)
    nodes = []
    for token in it:
        nodes.append(_key(token, it, 0))
    if not nodes:
        raise ParseError("SEARCH needs a key")
    return ("AND", nodes) if len(nodes) > 1 else nodes[0]


def _next(it: Iterator[Token]) -> Token:
    try:
        return next(it)
    except StopIteration:
        raise ParseError("SEARCH key needs an argument") from None


def _key(token: Token, it: Iterator[Token], depth: int) -> Node:
    if depth > 32:
        raise ParseError("SEARCH nested too deeply")
    if isinstance(token, list):
        inner = iter(token)
        nodes = [_key(t, inner, depth + 1) for t in inner]
        if not nodes:
            raise ParseError("empty SEARCH group")
        return ("AND", nodes)
    if not isinstance(token, Atom):
        raise ParseError("SEARCH key expected")
    key = token.upper_str()
    if key == "ALL":
        return ("ALL",)
    if key == "NEW":
        return ("AND", [("FLAG", "\\Recent", True), ("FLAG", "\\Seen", False)])
    if key in _FLAG_KEYS:
        flag, present = _FLAG_KEYS[key]
        return ("FLAG", flag, present)
    if key in ("KEYWORD", "UNKEYWORD"):
        return ("FLAG", _text(_next(it)), key == "KEYWORD")
    if key in _HEADER_KEYS:
        return ("HEADER", _HEADER_KEYS[key], _text(_next(it)))
    if key == "HEADER":
        name = _text(_next(it))
        return ("HEADER", name, _text(_next(it)))
    if key in ("BODY", "TEXT"):
        return (key, _text(_next(it)))
    if key in ("BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"):
        sent = key.startswith("SENT")
        return ("DATE", key[4:] if sent else key, parse_date(_next(it)), sent)
    if key in ("LARGER", "SMALLER"):
        return ("SIZE", key, number(_next(it)))
    if key == "UID":
        return ("UID", parse_seqset(_next(it)))
    if key == "NOT":
        return ("NOT", _key(_next(it), it, depth + 1))
    if key == "OR":
        a = _key(_next(it), it, depth + 1)
        return ("OR", a, _key(_next(it), it, depth + 1))
    if key == "MODSEQ":
        arg = _next(it)
        if isinstance(arg, Atom) and not arg.isdigit():
            raise ParseError("MODSEQ needs a number")
        if not isinstance(arg, Atom):  # entry name and type: "/flags/\\draft" all
            _next(it)
            arg = _next(it)
        return ("MODSEQ", number(arg, "mod-sequence"))
    if key in ("OLDER", "YOUNGER"):
        seconds = number(_next(it), "interval")
        if seconds == 0:
            raise ParseError(f"{key} needs a positive interval")
        return ("WITHIN", key, seconds)
    if key[:1].isdigit() or key[:1] == "*" or key == "$":
        return ("SEQ", parse_seqset(token))
    raise ParseError(f"unknown SEARCH key {key[:30]}")


def bind(node: Node, saved: Collection[int], now: float | None) -> Node:
    """The tree with `$` replaced by the saved result's UIDs and OLDER/YOUNGER by the
    internal date they ask for at `now` (Unix seconds; None: left as they are), so that one
    search sees one clock."""
    kind = node[0]
    if kind in ("UID", "SEQ") and isinstance(node[1], SavedResult):
        return ("UIDIN", frozenset(saved))
    if kind == "WITHIN" and now is not None:
        return ("TIME", node[1], int(now) - node[2])
    if kind == "AND":
        return ("AND", [bind(n, saved, now) for n in node[1]])
    if kind == "NOT":
        return ("NOT", bind(node[1], saved, now))
    if kind == "OR":
        return ("OR", bind(node[1], saved, now), bind(node[2], saved, now))
    return node


def uses(node: Node, kinds: set[str]) -> bool:
    if node[0] in kinds:
        return True
    if node[0] == "AND":
        return any(uses(n, kinds) for n in node[1])
    if node[0] == "NOT":
        return uses(node[1], kinds)
    if node[0] == "OR":
        return uses(node[1], kinds) or uses(node[2], kinds)
    return False


def header_needles(node: Node) -> list[tuple[str, str]]:
    """(header, needle) pairs that every match must satisfy (for an index prefilter)."""
    if node[0] == "HEADER":
        needle = node[2]
        if node[1].lower().encode() in _ADDRESS_HEADERS:
            needle = max(_ADDRESS_SPECIALS.split(needle), key=len)
        return [(node[1], needle)]
    if node[0] == "AND":
        return [p for n in node[1] for p in header_needles(n)]
    return []


@dataclass
class Candidate:
    """One message as SEARCH sees it; `headers`/`body` are loaded on demand."""

    seq: int
    uid: int
    flags: frozenset[str]
    internaldate: int
    size: int
    modseq: int
    load_headers: Callable[[], bytes]
    load_body: Callable[[], bytes]
    _headers: bytes | None = None
    _raw: bytes | None = None

    @property
    def headers(self) -> bytes:
        if self._headers is None:
            self._headers = self.load_headers()
        return self._headers

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = self.load_body()
        return self._raw


def in_ranges(value: int, ranges: list[SeqRange], star: int) -> bool:
    for lo, hi in ranges:
        lo_v = star if lo is None else lo
        hi_v = star if hi is None else hi
        if lo_v > hi_v:
            lo_v, hi_v = hi_v, lo_v
        if lo_v <= value <= hi_v:
            return True
    return False


def header_matches(headers: bytes, name: str, needle: str) -> bool:
    target = name.lower().encode("ascii", "replace") + b":"
    wanted = needle.lower().encode("utf-8")
    address = target[:-1] in _ADDRESS_HEADERS
    for line in unfold(headers):
        if line[: len(target)].lower() == target:
            value = line[len(target) :].lower()
            if wanted in value or wanted in _decoded(value):
                return True
            if address and _pieces_in(wanted, value) and wanted in _address_form(value):
                return True
    return False


def _pieces_in(wanted: bytes, value: bytes) -> bool:
    """Whether every plain piece of the needle is in the raw value: the normal form can
    only hold the needle then (it drops comments and blanks, never adds text)."""
    return all(p in value for p in _ADDRESS_SPECIALS_B.split(wanted))


def _address_form(value: bytes) -> bytes:
    text = searchable(value.decode("utf-8", "surrogateescape"))
    return text.encode("utf-8", "surrogateescape").lower()


def _decoded(value: bytes) -> bytes:
    if b"=?" not in value:
        return value
    try:
        parts = email.header.decode_header(value.decode("ascii", "replace"))
        text = "".join(
            p.decode(c or "utf-8", "replace") if isinstance(p, bytes) else p for p, c in parts
        )
        return text.lower().encode("utf-8")
    except Exception:
        return value


def _sent_date(headers: bytes) -> dt.date | None:
    for line in unfold(headers):
        if line[:5].lower() == b"date:":
            try:
                parsed = email.utils.parsedate_to_datetime(line[5:].decode("ascii", "replace"))
                return parsed.date()
            except (TypeError, ValueError, OverflowError):
                return None
    return None


def matches(node: Node, m: Candidate, max_seq: int, max_uid: int) -> bool:
    kind = node[0]
    if kind == "ALL":
        return True
    if kind == "AND":
        return all(matches(n, m, max_seq, max_uid) for n in node[1])
    if kind == "FLAG":
        return (node[1] in m.flags) == node[2]
    if kind == "HEADER":
        if not node[2]:
            target = node[1].lower().encode() + b":"
            return any(line[: len(target)].lower() == target for line in unfold(m.headers))
        return header_matches(m.headers, node[1], node[2])
    if kind == "UID":
        return in_ranges(m.uid, node[1], max_uid)
    if kind == "SEQ":
        return in_ranges(m.seq, node[1], max_seq)
    if kind == "SIZE":
        return m.size > node[2] if node[1] == "LARGER" else m.size < node[2]
    if kind == "DATE":
        if node[3]:
            day = _sent_date(m.headers)
            if day is None:
                return False
        else:
            day = _internal_day(m.internaldate)
        op, ref = node[1], node[2]
        return day < ref if op == "BEFORE" else day == ref if op == "ON" else day >= ref
    if kind in ("BODY", "TEXT"):
        needle = node[1].lower().encode("utf-8")
        raw = m.raw
        if kind == "BODY":
            raw = raw[len(m.headers) :] if raw.startswith(m.headers) else raw
        return needle in raw.lower()
    if kind == "NOT":
        return not matches(node[1], m, max_seq, max_uid)
    if kind == "OR":
        return matches(node[1], m, max_seq, max_uid) or matches(node[2], m, max_seq, max_uid)
    if kind == "MODSEQ":
        return m.modseq >= node[1]
    if kind == "UIDIN":
        return m.uid in node[1]
    if kind == "TIME":  # RFC 5032: OLDER n is at least n seconds old, YOUNGER n at most
        return m.internaldate <= node[2] if node[1] == "OLDER" else m.internaldate >= node[2]
    raise ValueError(kind)
