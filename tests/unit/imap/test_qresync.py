"""QRESYNC's pure parts (RFC 7162 3.2): the SELECT parameter, which UIDs `VANISHED (EARLIER)`
names (recorded expunges, or the whole known range less what the folder holds and what the
sequence-match samples prove), and the VANISHED lines."""

from __future__ import annotations

import pytest

from swissbox.imap import qresync
from swissbox.imap.parser import ParseError, tokenize


def params(text: bytes) -> qresync.QresyncParams:
    (token,) = tokenize([text])
    return qresync.parse_params(token)


def test_plain_parameters() -> None:
    p = params(b"(67890007 20050715194045000)")
    assert (p.uidvalidity, p.modseq, p.known_uids, p.samples) == (
        67890007,
        20050715194045000,
        None,
        [],
    )


def test_known_uids_and_sequence_match_data() -> None:
    # RFC 7162 3.2.5.2's example
    p = params(
        b"(67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997))"
    )
    assert p.known_uids == [(1, 29997)]
    assert p.samples[:4] == [(5000, 15000), (7500, 22500), (9000, 27000), (9990, 29970)]
    assert p.samples[-1] == (9999, 29997)


def test_uid_ranges_pair_off_at_their_ends() -> None:
    assert qresync.sample_pairs([(1, 10)], [(1, 5), (7, 11)]) == [
        (1, 1),
        (5, 5),
        (6, 7),
        (10, 11),
    ]


@pytest.mark.parametrize(
    "text",
    [
        b"(0 5)",  # UIDVALIDITY is a non-zero number
        b"(1)",
        b"1",
        b"(1 x)",
        b"(1 5 1:*)",  # no * in known-uids
        b"(1 5 1:3 (1:2 1:3))",  # the two sets differ in size
        b"(1 5 1:3 (1:3))",
        b"(1 5 1:3 (1:3 1:3) extra)",
        b"(1 5 0:3)",
    ],
)
def test_bad_parameters_are_parse_errors(text: bytes) -> None:
    with pytest.raises(ParseError):
        params(text)


def test_recorded_expunges_within_the_known_uids() -> None:
    ranges = qresync.vanished_earlier([2, 4, 9, 10], [1, 3, 5], 12, [(1, 9)])
    assert ranges == [(2, 2), (4, 4), (9, 9)]


def test_a_recorded_uid_still_in_the_session_view_is_left_for_later() -> None:
    # expunged by another session, not yet announced to this one
    assert qresync.vanished_earlier([3, 4], [1, 3], 5, None) == [(4, 4)]


def test_forgotten_expunges_give_every_uid_the_folder_lacks() -> None:
    ranges = qresync.vanished_earlier(None, [1, 3, 5, 8], 10, None)
    assert ranges == [(2, 2), (4, 4), (6, 7), (9, 9)]


def test_sequence_match_samples_narrow_the_forgotten_range() -> None:
    # the client's seq 1 -> uid 1 and 2 -> 3 still hold: nothing up to UID 3 went
    samples = [(1, 1), (2, 3), (3, 6)]
    assert qresync.matched_floor([1, 3, 5, 8], samples) == 3
    ranges = qresync.vanished_earlier(None, [1, 3, 5, 8], 10, None, samples)
    assert ranges == [(4, 4), (6, 7), (9, 9)]


def test_a_huge_known_range_costs_nothing() -> None:
    assert qresync.vanished_earlier(None, [], 5, [(1, 4294967295)]) == [(1, 4)]
    assert qresync.vanished_earlier(None, [2], 1_000_000, [(1, 4294967295)]) == [
        (1, 1),
        (3, 999_999),
    ]


def test_vanished_lines() -> None:
    assert qresync.vanished_line([(1, 3), (5, 5)], earlier=True) == b"VANISHED (EARLIER) 1:3,5"
    assert qresync.vanished_line([(7, 7)]) == b"VANISHED 7"


def test_star_in_a_uid_fetch_set() -> None:
    from swissbox.imap.parser import Atom, parse_seqset

    assert qresync.concrete(parse_seqset(Atom(b"5:*,2")), 9, "UID set") == [(2, 2), (5, 9)]
    with pytest.raises(ParseError):
        qresync.concrete(parse_seqset(Atom(b"5:*")), None, "known-uids")
