"""SEARCH dates, bytes in -> tree or ParseError out; evaluation never raises on odd stored
dates (a Date: header far in the future, an internal date before year 1)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swissbox.imap.parser import Atom, ParseError, Str
from swissbox.imap.search import Candidate, matches, parse_search


@pytest.mark.parametrize(
    "text",
    [
        b"1-Jan-99999",
        b"1-Jan-0",
        b"1-Jan-0000",
        b"0-Jan-2020",
        b"32-Jan-2020",
        b"30-Feb-2020",
        b"1-Jan-99999999999999999999",
        b"99999999999999999999-Jan-2000",
        b"1-Jan--5",
        b"1-Jan-+2000",
        b"1-Jan-2_000",
        b"+1-Jan-2000",
        b"1-Janu-2000",
        b"1-Jan-2000-1",
        b"",
    ],
)
@pytest.mark.parametrize("key", [b"SINCE", b"BEFORE", b"ON", b"SENTSINCE", b"SENTBEFORE"])
def test_bad_dates_are_parse_errors(key: bytes, text: bytes) -> None:
    with pytest.raises(ParseError):
        parse_search([Atom(key), Atom(text)])


def test_good_dates() -> None:
    assert parse_search([Atom(b"SINCE"), Atom(b"1-Feb-1994")]) == (
        "DATE",
        "SINCE",
        dt.date(1994, 2, 1),
        False,
    )
    assert parse_search([Atom(b"SENTON"), Str(b"09-jan-2024")])[2] == dt.date(2024, 1, 9)
    assert parse_search([Atom(b"BEFORE"), Atom(b"31-Dec-9999")])[2] == dt.date(9999, 12, 31)


@given(st.binary(max_size=30))
def test_any_date_argument_parses_or_is_a_parse_error(text: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_search([Atom(b"SINCE"), Atom(text)])


def candidate(headers: bytes, internaldate: int) -> Candidate:
    return Candidate(1, 1, frozenset(), internaldate, 10, 1, lambda: headers, lambda: headers)


@pytest.mark.parametrize(
    "date",
    [
        b"Mon, 1 Jan 99999999999 00:00:00 +0000",
        b"1 Jan 10000 00:00:00 +0000",
        b"1 Jan 0 00:00:00 +0000",
        b"31 Dec 9999 23:59:59 -2359",
        b"garbage",
    ],
)
def test_odd_sent_dates_never_raise(date: bytes) -> None:
    m = candidate(b"Subject: x\r\nDate: " + date + b"\r\n\r\n", 0)
    for key in (b"SENTSINCE", b"SENTBEFORE", b"SENTON"):
        matches(parse_search([Atom(key), Atom(b"1-Jan-2000")]), m, 1, 1)


@pytest.mark.parametrize("internaldate", [-62135683140, 253402300800, 10**20, -(10**20)])
def test_odd_internal_dates_never_raise(internaldate: int) -> None:
    m = candidate(b"Subject: x\r\n\r\n", internaldate)
    early = matches(parse_search([Atom(b"BEFORE"), Atom(b"1-Jan-2000")]), m, 1, 1)
    late = matches(parse_search([Atom(b"SINCE"), Atom(b"1-Jan-2000")]), m, 1, 1)
    assert early != late  # before year 1 counts as early, past 9999 as late
    assert early == (internaldate < 0)
