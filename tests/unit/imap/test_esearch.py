"""ESEARCH (RFC 4731) answers, bytes out: option parsing and the one response line."""

from __future__ import annotations

import pytest

from swissbox.imap import esearch
from swissbox.imap.parser import ParseError, tokenize


def options(text: bytes) -> frozenset[str]:
    return esearch.parse_return(tokenize([text])[0])


def test_return_options() -> None:
    assert options(b"()") == {"ALL"}
    assert options(b"(min MAX count)") == {"MIN", "MAX", "COUNT"}
    for bad in (b"(SAVE)", b"(PARTIAL 1:5)", b"MIN"):
        with pytest.raises(ParseError):
            options(bad)


def test_response_lines() -> None:
    ids = [1, 2, 3, 5, 6]
    assert esearch.response(b"t1", False, ids, frozenset({"ALL"})) == (
        b'ESEARCH (TAG "t1") ALL 1:3,5:6'
    )
    assert esearch.response(b"t2", True, ids, frozenset(esearch.OPTIONS)) == (
        b'ESEARCH (TAG "t2") UID MIN 1 MAX 6 ALL 1:3,5:6 COUNT 5'
    )
    assert esearch.response(b"t3", False, [], frozenset(esearch.OPTIONS)) == (
        b'ESEARCH (TAG "t3") COUNT 0'
    )
    assert esearch.response(b"t4", True, [], frozenset({"MIN"})) == b'ESEARCH (TAG "t4") UID'


def test_modseq_is_the_highest_of_what_is_reported() -> None:
    modseqs = {1: 10, 2: 40, 3: 20}

    def top(ids: list[int]) -> int:
        return max(modseqs[i] for i in ids)

    ids = [1, 2, 3]
    assert esearch.response(b"a", False, ids, frozenset({"MIN"}), top).endswith(b"MODSEQ 10")
    assert esearch.response(b"a", False, ids, frozenset({"MAX"}), top).endswith(b"MODSEQ 20")
    both = esearch.response(b"a", False, ids, frozenset({"MIN", "MAX"}), top)
    assert both == b'ESEARCH (TAG "a") MIN 1 MAX 3 MODSEQ 20'
    assert esearch.response(b"a", False, ids, frozenset({"COUNT"}), top).endswith(b"MODSEQ 40")
    assert b"MODSEQ" not in esearch.response(b"a", False, [], frozenset({"COUNT"}), top)
