"""`[` is an ATOM-CHAR (RFC 3501 9, only `]` is a resp-special): outside a BODY[...] section an
atom may hold it with no `]` to close it (issue 12, 7). Bytes in -> tokens out."""

from __future__ import annotations

import pytest

from swissbox.imap.fetchspec import parse_fetch
from swissbox.imap.parser import Atom, ParseError, tokenize

ODD = b"!#$&'+,-.0123456789:;<=>?@^_`|[}"


def test_atom_with_an_unclosed_bracket() -> None:
    assert tokenize([b"a SELECT " + ODD]) == [Atom(b"a"), Atom(b"SELECT"), Atom(ODD)]
    assert tokenize([b'a LIST "" ' + ODD + b"%*"])[3] == Atom(ODD + b"%*")
    assert tokenize([b"a SELECT x[ y"]) == [Atom(b"a"), Atom(b"SELECT"), Atom(b"x["), Atom(b"y")]
    assert tokenize([b"a SELECT [(x)"])[2:] == [Atom(b"["), [Atom(b"x")]]


def test_sections_keep_their_brackets_and_blanks() -> None:
    tokens = tokenize([b"a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To)]<0.10> UID)"])
    assert tokens[3] == [Atom(b"BODY.PEEK[HEADER.FIELDS (From To)]<0.10>"), Atom(b"UID")]
    assert tokenize([b"a FETCH 1 BODY[]"])[3] == Atom(b"BODY[]")


def test_still_malformed() -> None:
    with pytest.raises(ParseError):
        tokenize([b'a SELECT "unterminated'])
    tokens = tokenize([b"a FETCH 1 (BODY[)"])
    assert tokens[3] == [Atom(b"BODY[")]
    with pytest.raises(ParseError):
        parse_fetch(tokens[3])
