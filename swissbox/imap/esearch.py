"""ESEARCH (RFC 4731): `SEARCH RETURN (MIN MAX ALL COUNT)` answered with one
`* ESEARCH (TAG "t") [UID] MIN n MAX n ALL set [PARTIAL (r set)] COUNT n [MODSEQ n]` line;
with SAVE (RFC 5182) and PARTIAL/UPDATE/CONTEXT (RFC 5267) among the options; pure.

`RETURN ()` means ALL, and so does a list of only CONTEXT. MIN, MAX and ALL are left out
when nothing matched; COUNT is always there when asked. With a MODSEQ search key (RFC 7162
3.1.5) the line ends with the highest MODSEQ of the messages it reports: of the MIN and/or
MAX message when only those are asked, else of every match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from swissbox.imap.base import compact_set
from swissbox.imap.parser import Atom, ParseError, Token

OPTIONS = ("MIN", "MAX", "ALL", "COUNT")  # also the order they are answered in
RESULT_OPTIONS = frozenset({*OPTIONS, "PARTIAL"})  # those that make an ESEARCH answer


def parse_return(token: Token) -> frozenset[str]:
    """The RETURN option list; ParseError (BAD) for anything but the four RFC 4731 names."""
    if not isinstance(token, list):
        raise ParseError("RETURN needs a parenthesized list")
    names = set()
    for item in token:
        name = item.upper_str() if isinstance(item, Atom) else ""
        if name not in OPTIONS:
            raise ParseError("unknown SEARCH RETURN option")
        names.add(name)
    return frozenset(names or {"ALL"})


@dataclass(frozen=True)
class ReturnOptions:
    """SEARCH RETURN (...) with every extension: `names` among MIN MAX ALL COUNT SAVE
    UPDATE PARTIAL; `partial` the (low, high) positions of PARTIAL."""

    names: frozenset[str]
    partial: tuple[int, int] | None = None

    @property
    def answered(self) -> bool:
        """Whether the SEARCH gets an ESEARCH line (SAVE alone answers nothing, RFC 5182
        2.1; UPDATE alone a line with the tag only)."""
        return bool(self.names - {"SAVE"})


def parse_options(token: Token) -> ReturnOptions:
    """RETURN options of RFC 4731, 5182 and 5267; ParseError (BAD) for an unknown name, a
    repeated UPDATE or PARTIAL, a malformed range, PARTIAL together with ALL."""
    if not isinstance(token, list):
        raise ParseError("RETURN needs a parenthesized list")
    names: set[str] = set()
    partial = None
    items = iter(token)
    for item in items:
        name = item.upper_str() if isinstance(item, Atom) else ""
        if name in ("UPDATE", "PARTIAL") and name in names:
            raise ParseError(f"{name} can be given only once")
        if name == "PARTIAL":
            partial = parse_partial(next(items, None))
        elif name == "CONTEXT":
            continue  # RFC 5267 4.2: a hint that the result will be used again
        elif name not in (*OPTIONS, "SAVE", "UPDATE"):
            raise ParseError("unknown SEARCH RETURN option")
        names.add(name)
    if partial is not None and "ALL" in names:
        raise ParseError("PARTIAL conflicts with ALL")
    return ReturnOptions(frozenset(names or {"ALL"}), partial)


def parse_partial(token: Token | None) -> tuple[int, int]:
    """`low:high` of PARTIAL (RFC 5267 4.4): two positions counted from 1, in either order."""
    if not isinstance(token, Atom):
        raise ParseError("PARTIAL needs a range")
    lo, sep, hi = bytes(token).partition(b":")
    if not sep or not all(p.isdigit() and 0 < len(p) <= 10 for p in (lo, hi)):
        raise ParseError("PARTIAL range broken")
    a, b = int(lo), int(hi)
    if not (0 < a <= 0xFFFFFFFF and 0 < b <= 0xFFFFFFFF):
        raise ParseError("PARTIAL range broken")
    return (a, b) if a <= b else (b, a)


def to_save(options: ReturnOptions, ids: list[int]) -> list[int]:
    """What SAVE keeps of sorted `ids` (RFC 5182 2.1): only the MIN and/or MAX message when
    those are the only result options asked, else every match."""
    asked = options.names & RESULT_OPTIONS
    if not ids or options.partial is not None or not asked or asked - {"MIN", "MAX"}:
        return list(ids)
    kept = [ids[0]] if "MIN" in asked else []
    if "MAX" in asked and ids[-1] not in kept:
        kept.append(ids[-1])
    return kept


def quoted(tag: bytes) -> bytes:
    """A command tag as an IMAP quoted string (ESEARCH's TAG, NOUPDATE's code)."""
    return b'"' + tag.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def head(tag: bytes, uid: bool) -> bytes:
    """`ESEARCH (TAG "t") [UID]`: how every ESEARCH line begins."""
    out = b"ESEARCH (TAG " + quoted(tag) + b")"
    return out + b" UID" if uid else out


def response(
    tag: bytes,
    uid: bool,
    ids: list[int],
    options: frozenset[str],
    modseq_of: Callable[[list[int]], int] | None = None,
    partial: tuple[int, int] | None = None,
) -> bytes:
    """The ESEARCH response (without "* ") for sorted `ids` (UIDs or sequence numbers).
    `modseq_of(ids)`: the highest MODSEQ of those messages, when a MODSEQ key was used;
    `partial`: the PARTIAL (low, high) positions asked (RFC 5267 4.4)."""
    out = head(tag, uid)
    if ids:
        if "MIN" in options:
            out += b" MIN %d" % ids[0]
        if "MAX" in options:
            out += b" MAX %d" % ids[-1]
        if "ALL" in options:
            out += b" ALL " + compact_set(ids)
    if partial is not None:
        window = ids[partial[0] - 1 : partial[1]]
        out += b" PARTIAL (%d:%d %s)" % (*partial, compact_set(window) if window else b"NIL")
    if "COUNT" in options:
        out += b" COUNT %d" % len(ids)
    if modseq_of is not None and ids:
        if options & {"ALL", "COUNT"} or partial is not None:
            reported = ids
        else:
            reported = [ids[0]] if "MIN" in options else []
            reported += [ids[-1]] if "MAX" in options else []
        if reported:
            out += b" MODSEQ %d" % modseq_of(reported)
    return out
