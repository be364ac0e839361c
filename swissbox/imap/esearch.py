"""ESEARCH (RFC 4731): `SEARCH RETURN (MIN MAX ALL COUNT)` answered with one
`* ESEARCH (TAG "t") [UID] MIN n MAX n ALL set COUNT n [MODSEQ n]` line; pure.

`RETURN ()` means ALL. MIN, MAX and ALL are left out when nothing matched; COUNT is always
there when asked. With a MODSEQ search key (RFC 7162 3.1.5) the line ends with the highest
MODSEQ of the messages it reports: of the MIN and/or MAX message when only those are asked,
else of every match.
"""

from __future__ import annotations

from collections.abc import Callable

from swissbox.imap.base import compact_set
from swissbox.imap.parser import Atom, ParseError, Token

OPTIONS = ("MIN", "MAX", "ALL", "COUNT")  # also the order they are answered in


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


def response(
    tag: bytes,
    uid: bool,
    ids: list[int],
    options: frozenset[str],
    modseq_of: Callable[[list[int]], int] | None = None,
) -> bytes:
    """The ESEARCH response (without "* ") for sorted `ids` (UIDs or sequence numbers).
    `modseq_of(ids)`: the highest MODSEQ of those messages, when a MODSEQ key was used."""
    out = b'ESEARCH (TAG "' + tag.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'")'
    if uid:
        out += b" UID"
    if ids:
        if "MIN" in options:
            out += b" MIN %d" % ids[0]
        if "MAX" in options:
            out += b" MAX %d" % ids[-1]
        if "ALL" in options:
            out += b" ALL " + compact_set(ids)
    if "COUNT" in options:
        out += b" COUNT %d" % len(ids)
    if modseq_of is not None and ids:
        if options & {"ALL", "COUNT"}:
            reported = ids
        else:
            reported = [ids[0]] if "MIN" in options else []
            reported += [ids[-1]] if "MAX" in options else []
        out += b" MODSEQ %d" % modseq_of(reported)
    return out
