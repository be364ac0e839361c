"""WITHIN (RFC 5032), bytes in -> tree -> verdict: OLDER/YOUNGER n seconds on the internal
date, at one clock per search (`bind`)."""

from __future__ import annotations

import pytest

from swissbox.imap.parser import ParseError, tokenize
from swissbox.imap.search import Candidate, bind, matches, parse_search

NOW = 1_700_000_000


def hits(text: bytes, ages: list[int]) -> list[int]:
    """Which of the messages of these ages (seconds before NOW) match."""
    node = bind(parse_search(tokenize([text])), saved=(), now=NOW)
    out = []
    for i, age in enumerate(ages, 1):
        m = Candidate(i, i, frozenset(), NOW - age, 10, 1, lambda: b"", lambda: b"")
        if matches(node, m, len(ages), len(ages)):
            out.append(age)
    return out


def test_older_and_younger() -> None:
    ages = [0, 59, 60, 61, 86400]
    assert hits(b"OLDER 60", ages) == [60, 61, 86400]
    assert hits(b"YOUNGER 60", ages) == [0, 59, 60]
    assert hits(b"older 60 younger 86400", ages) == [60, 61, 86400]
    assert hits(b"NOT YOUNGER 61", ages) == [86400]
    assert hits(b"OR OLDER 86400 YOUNGER 1", ages) == [0, 86400]


def test_parse_tree() -> None:
    assert parse_search(tokenize([b"OLDER 5"])) == ("WITHIN", "OLDER", 5)
    assert bind(("WITHIN", "YOUNGER", 5), (), NOW) == ("TIME", "YOUNGER", NOW - 5)


@pytest.mark.parametrize(
    "text", [b"OLDER", b"OLDER 0", b"YOUNGER -1", b"YOUNGER x", b'OLDER "5"', b"OLDER (5)"]
)
def test_bad_intervals(text: bytes) -> None:
    with pytest.raises(ParseError):
        parse_search(tokenize([text]))
