"""MULTIAPPEND (RFC 3502): the messages of one APPEND, each `[flag-list] [date-time] message`
where a message is a literal (parser.Literal) or `CATENATE (...)` (RFC 4469); pure. A
date-time is a quoted string. An APPEND with neither a literal nor CATENATE is read the old
way (its last string is the message), for clients that quote a short message.
"""

from __future__ import annotations

from swissbox.imap.catenate import Catenate, parse_parts
from swissbox.imap.parser import Atom, Literal, ParseError, Str, Token

Group = tuple[list[Token], Str | Catenate]  # (flag list and/or date-time, the message)


def _is_catenate(token: Token) -> bool:
    return isinstance(token, Atom) and token.upper() == b"CATENATE"


def split_messages(tokens: list[Token]) -> list[Group]:
    """The (extras, message) groups of APPEND's arguments after the mailbox name."""
    if not tokens:
        raise ParseError("APPEND needs a message")
    if not any(isinstance(t, Literal) or _is_catenate(t) for t in tokens):
        *before, message = tokens
        if not isinstance(message, Str) or len(before) > 2:
            raise ParseError("APPEND needs a literal message")
        return [(before, message)]
    groups: list[Group] = []
    extras: list[Token] = []
    items = iter(tokens)
    for token in items:
        if isinstance(token, Literal):
            groups.append((extras, token))
            extras = []
            continue
        if _is_catenate(token):
            parts = next(items, None)
            if parts is None:
                raise ParseError("CATENATE needs a list of parts")
            groups.append((extras, parse_parts(parts)))
            extras = []
            continue
        flags_first = isinstance(token, list) and not extras  # then at most one date-time
        one_date = isinstance(token, Str) and not any(isinstance(e, Str) for e in extras)
        if not (flags_first or one_date):
            raise ParseError("bad APPEND argument")
        extras.append(token)
    if extras:
        raise ParseError("APPEND arguments after the last message")
    return groups
