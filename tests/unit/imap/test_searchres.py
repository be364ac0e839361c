"""SEARCHRES (RFC 5182), bytes in -> result out: `$` in sequence sets and SEARCH keys, what
SAVE keeps, and `$` resolved against the folder view (expunged messages drop out)."""

from __future__ import annotations

from array import array

import pytest

from swissbox.imap import esearch
from swissbox.imap.mailbox import FolderMailbox
from swissbox.imap.parser import Atom, ParseError, SavedResult, parse_seqset, tokenize
from swissbox.imap.search import Candidate, bind, matches, parse_search
from swissbox.mailstore.index import FolderInfo


def test_dollar_is_the_saved_result_alone() -> None:
    assert isinstance(parse_seqset(Atom(b"$")), SavedResult)
    assert parse_seqset(Atom(b"1:3")) == [(1, 3)]
    for bad in (b"$,1", b"1,$", b"$:3", b"$$", b"$1"):
        with pytest.raises(ParseError):
            parse_seqset(Atom(bad))


def view(uids: list[int], saved: list[int]) -> FolderMailbox:
    box = FolderMailbox(None, FolderInfo(1, "INBOX", 1, 100, 1, True), True)  # type: ignore[arg-type]
    box.uids = array("I", uids)
    box.saved = saved
    return box


def test_dollar_resolves_to_saved_messages_still_in_view() -> None:
    box = view([2, 4, 6, 8], [4, 5, 8])  # 5 was expunged meanwhile
    assert box.resolve(parse_seqset(Atom(b"$")), uid=False) == [4, 8]
    assert box.resolve(parse_seqset(Atom(b"$")), uid=True) == [4, 8]
    assert view([2, 4], []).resolve(SavedResult(), uid=False) == []


def candidate(seq: int, uid: int) -> Candidate:
    return Candidate(seq, uid, frozenset(), 0, 10, 1, lambda: b"", lambda: b"")


@pytest.mark.parametrize("text", [b"$", b"UID $", b"NOT NOT $", b"OR $ 99"])
def test_dollar_in_search_keys_names_the_saved_uids(text: bytes) -> None:
    node = bind(parse_search(tokenize([text])), saved=[20, 30], now=0)
    hits = [
        uid for seq, uid in [(1, 10), (2, 20), (3, 30)] if matches(node, candidate(seq, uid), 3, 30)
    ]
    assert hits == [20, 30]


def test_unbound_dollar_matches_nothing() -> None:
    assert not matches(parse_search([Atom(b"$")]), candidate(1, 10), 1, 10)


def options(text: bytes) -> esearch.ReturnOptions:
    return esearch.parse_options(tokenize([text])[0])


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (b"(SAVE)", [3, 5, 9]),
        (b"(SAVE ALL)", [3, 5, 9]),
        (b"(SAVE COUNT MIN)", [3, 5, 9]),
        (b"(SAVE MIN)", [3]),
        (b"(SAVE MAX)", [9]),
        (b"(MIN SAVE MAX)", [3, 9]),
        (b"(SAVE PARTIAL 1:1)", [3, 5, 9]),
    ],
)
def test_what_save_keeps(text: bytes, kept: list[int]) -> None:
    assert esearch.to_save(options(text), [3, 5, 9]) == kept
    assert esearch.to_save(options(text), []) == []


def test_save_alone_is_not_answered() -> None:
    assert not options(b"(SAVE)").answered
    assert options(b"(SAVE MIN)").answered
    assert options(b"(SAVE MIN)").names == {"SAVE", "MIN"}
