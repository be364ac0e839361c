"""CONTEXT=SEARCH (RFC 5267), bytes in -> bytes out: RETURN options with PARTIAL, UPDATE and
CONTEXT; the PARTIAL answer; the ADDTO/REMOVEFROM update line; CANCELUPDATE's tags."""

from __future__ import annotations

from array import array

import pytest

from swissbox.imap import context, esearch
from swissbox.imap.parser import ParseError, tokenize


def options(text: bytes) -> esearch.ReturnOptions:
    return esearch.parse_options(tokenize([text])[0])


def test_return_options() -> None:
    assert options(b"()") == esearch.ReturnOptions(frozenset({"ALL"}))
    assert options(b"(CONTEXT)").names == {"ALL"}
    assert options(b"(update)").names == {"UPDATE"}
    assert options(b"(UPDATE ALL CONTEXT)").names == {"UPDATE", "ALL"}
    assert options(b"(PARTIAL 4:2 COUNT)") == esearch.ReturnOptions(
        frozenset({"PARTIAL", "COUNT"}), (2, 4)
    )


@pytest.mark.parametrize(
    "text",
    [
        b"(PARTIAL 1)",
        b"(PARTIAL 1:*)",
        b"(PARTIAL *:1)",
        b"(PARTIAL 0:5)",
        b"(PARTIAL 1:99999999999)",
        b"(PARTIAL)",
        b"(PARTIAL (1:2))",
        b"(PARTIAL 1:2 PARTIAL 3:4)",
        b"(PARTIAL 1:2 ALL)",
        b"(UPDATE UPDATE)",
        b"(UPDATE (FLAGS))",
        b"(RELEVANCY)",
        b"ALL",
    ],
)
def test_bad_return_options(text: bytes) -> None:
    with pytest.raises(ParseError):
        options(text)


@pytest.mark.parametrize(
    ("partial", "ids", "answer"),
    [
        ((1, 1), [1, 2, 3, 4, 5], b"PARTIAL (1:1 1)"),
        ((2, 4), [1, 2, 3, 4, 5], b"PARTIAL (2:4 2:4)"),
        ((1, 6), [1, 2, 3, 4, 5], b"PARTIAL (1:6 1:5)"),
        ((6, 6), [1, 2, 3, 4, 5], b"PARTIAL (6:6 NIL)"),
        ((2, 3), [1, 2, 4, 5], b"PARTIAL (2:3 2,4)"),
        ((2, 10), [1, 2, 4, 5], b"PARTIAL (2:10 2,4:5)"),
        ((1, 3), [], b"PARTIAL (1:3 NIL)"),
    ],
)
def test_partial_answers(partial: tuple[int, int], ids: list[int], answer: bytes) -> None:
    line = esearch.response(b"p", False, ids, frozenset({"PARTIAL"}), partial=partial)
    assert line == b'ESEARCH (TAG "p") ' + answer


def test_partial_with_count_and_modseq() -> None:
    line = esearch.response(
        b"p", True, [7, 9, 12], frozenset({"PARTIAL", "COUNT"}), lambda ids: max(ids), (2, 2)
    )
    assert line == b'ESEARCH (TAG "p") UID PARTIAL (2:2 9) COUNT 3 MODSEQ 12'


def test_update_lines() -> None:
    assert context.update_line(b"s1", False, [1, 2, 4], []) == (
        b'ESEARCH (TAG "s1") ADDTO (0 1:2,4)'
    )
    assert context.update_line(b'a"b', True, [9], [3, 4, 5]) == (
        b'ESEARCH (TAG "a\\"b") UID REMOVEFROM (0 3:5) ADDTO (0 9)'
    )
    assert context.update_line(b"s1", False, [], []) is None


def test_diff_and_gone_keep_the_result() -> None:
    result = array("I", [1, 2, 3])
    assert context.diff(result, {2: True, 3: False, 4: True, 5: False, 0: True}) == ([0, 4], [3])
    assert list(result) == [0, 1, 2, 4]
    assert context.diff(result, {2: True, 4: True}) == ([], [])
    assert context.gone(result, [4, 7, 1, 4]) == [1, 4]
    assert list(result) == [0, 2]
    assert context.gone(result, []) == []
    assert context.diff(result, {9: True, 8: True}) == ([8, 9], [])
    assert list(result) == [0, 2, 8, 9]


def test_cancelupdate_tags() -> None:
    assert context.parse_tags(tokenize([b'"a1" "b 2"'])) == [b"a1", b"b 2"]
    assert context.parse_tags(tokenize([b"a1"])) == []
    assert context.parse_tags(tokenize([b'"a1" ("b")'])) == []
    assert context.parse_tags([]) == []
