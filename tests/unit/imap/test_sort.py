"""SORT (RFC 5256, RFC 5957 DISPLAY) on index values: criteria parsing and the orders,
including the cases of Dovecot's imaptest sort groups, values in/out."""

from __future__ import annotations

from typing import Any

import pytest

from swissbox.imap.parser import ParseError, tokenize
from swissbox.imap.sort import Facts, envelope_of, message_ids, parse_criteria, repair_8bit, sort

Addr = list[Any]


def facts(
    subject: str | None = None,
    date: str | None = None,
    internaldate: int = 0,
    size: int = 0,
    frm: list[Addr] | None = None,
    to: list[Addr] | None = None,
    cc: list[Addr] | None = None,
) -> Facts:
    return Facts([date, subject, frm, frm, frm, to, cc, None, None, None], internaldate, size)


def order(items: list[Facts], spec: bytes) -> list[int]:
    return sort(list(enumerate(items, 1)), parse_criteria(tokenize([spec])[0]))


def test_criteria() -> None:
    assert parse_criteria(tokenize([b"(reverse DATE subject)"])[0]) == [
        ("DATE", True),
        ("SUBJECT", False),
    ]
    assert parse_criteria(tokenize([b"(DISPLAYFROM REVERSE DISPLAYTO)"])[0]) == [
        ("DISPLAYFROM", False),
        ("DISPLAYTO", True),
    ]
    for bad in (b"()", b"DATE", b"(REVERSE)", b"(DATE REVERSE)", b"(REVERSE REVERSE DATE)"):
        with pytest.raises(ParseError):
            parse_criteria(tokenize([bad])[0])
    with pytest.raises(ParseError):
        parse_criteria(tokenize([b"(MODSEQ)"])[0])


def test_arrival_and_size_ties_keep_mailbox_order() -> None:
    # imaptest sort-arrival: internal dates 00:00, 02:00, 01:00, 02:00, 02:00
    items = [facts(internaldate=t, size=s) for t, s in [(0, 1), (2, 1), (1, 2), (2, 2), (2, 4)]]
    assert order(items, b"(ARRIVAL)") == [1, 3, 2, 4, 5]
    assert order(items, b"(REVERSE ARRIVAL)") == [2, 4, 5, 3, 1]
    assert order(items, b"(ARRIVAL REVERSE SIZE)") == [1, 3, 5, 4, 2]


def test_date_falls_back_to_internal_date_in_utc() -> None:
    # imaptest sort-date: Date headers at +0200; two messages without one
    day = 1203638400  # Fri, 22 Feb 2008 00:00:00 UTC

    def at(h: int, m: int = 0, s: int = 0) -> int:
        return day + h * 3600 + m * 60 + s - 7200  # +0200 local time

    items = [
        facts(date="Fri, 22 Feb 2008 00:00:00 +0200", internaldate=at(23), size=1),
        facts(date="Fri, 22 Feb 2008 02:00:00 +0200", internaldate=at(22), size=1),
        facts(date="Fri, 22 Feb 2008 01:00:00 +0200", internaldate=at(21), size=2),
        facts(date="Fri, 22 Feb 2008 02:00:00 +0200", internaldate=at(20), size=2),
        facts(internaldate=at(1, 30, 23), size=5),
        facts(date="Fri, 22 Feb 2008 02:00:00 +0200", internaldate=at(18), size=4),
        facts(date="not a date", internaldate=at(1), size=3),
    ]
    assert order(items, b"(DATE)") == [1, 3, 7, 5, 2, 4, 6]
    assert order(items, b"(REVERSE DATE)") == [2, 4, 6, 5, 3, 7, 1]
    assert order(items, b"(DATE REVERSE SIZE)") == [1, 7, 3, 5, 6, 4, 2]


SUBJECTS = [
    "a",
    "C",
    "b",
    "_",
    "[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)",
    "b (a)",
    "Re: [FWD: c]",
    "[xyz]",
    None,
    "=?iso-8859-1?q?_?=",
    "Re: =?utf-8?q?b?=",
    "=?iso-8859-1?q?RE:_C?=",
    "=?us-ascii?b?UmU6IGM=?=",
    "Ad: Re: Ad: Re: Ad: x",
    "re: [fwd: [fwd: re: [fwd: babylon]]]",
]


def test_subject_is_the_base_subject() -> None:
    items = [facts(subject=s, size=n % 4) for n, s in enumerate(SUBJECTS)]
    assert order(items, b"(SUBJECT)") == [9, 10, 1, 14, 3, 5, 11, 6, 15, 2, 7, 12, 13, 8, 4]
    assert order(items, b"(REVERSE SUBJECT)") == [4, 8, 2, 7, 12, 13, 15, 6, 3, 5, 11, 14, 1, 9, 10]


def test_addresses_sort_by_the_first_mailbox() -> None:
    # imaptest sort-addresses: the local part only (the domain is not compared); a group's
    # first entry is its name
    items = [
        facts(frm=[[None, None, "user2", "domain2.org"]], cc=[["x", None, "user2", "d"]]),
        facts(frm=[[None, None, "user2", "domain1.org"]], cc=[[None, None, "user2", None]]),
        facts(frm=[[None, None, "user1", "domain1.org"]], cc=[[None, None, "user1", "d"]]),
    ]
    assert order(items, b"(FROM)") == [3, 1, 2]
    assert order(items, b"(REVERSE FROM)") == [1, 2, 3]
    assert order(items, b"(CC REVERSE ARRIVAL)") == [3, 1, 2]
    assert order(items, b"(TO)") == [1, 2, 3]  # no To at all: "" for each


def test_display_names() -> None:
    # imaptest sort-display-to: a name (encoded words decoded), else mailbox@host, a group's name
    items = [
        facts(to=[["foo bar", None, "a", "b.c"]]),
        facts(to=[[None, None, "b", "c.d"]]),
        facts(to=[[None, None, "d", "MISSING_DOMAIN"]]),
        facts(to=[["=?iso-8859-1?q?foo_aar?=", None, "e", "f.g"]]),
        facts(to=[["=?iso-8859-1?q?foo_car?=", None, "f", "g.h"]]),
        facts(to=[[None, None, "a", None], [None, None, "xx", "xx.org"], [None] * 4]),
        facts(to=[[None, None, "z", None], [None, None, "aa", "aa.org"], [None] * 4]),
        facts(to=[[None, None, "empty", None], [None] * 4]),
    ]
    assert order(items, b"(DISPLAYTO)") == [6, 2, 3, 8, 4, 1, 5, 7]
    assert order(items, b"(REVERSE DISPLAYTO)") == [7, 5, 1, 4, 8, 3, 2, 6]
    assert order(
        [facts(frm=[["", None, "zed", "x"]]), facts(frm=[["Y", None, "a", "x"]])], b"(DISPLAYFROM)"
    ) == [2, 1]


def test_message_ids() -> None:
    assert message_ids("<a@b> <c@d>\r\n <e\r\n @f>") == ["a@b", "c@d", "e@f"]
    assert message_ids("<> junk <x@y> (comment)") == ["x@y"]
    assert message_ids(None) == [] and message_ids("") == []
    f = Facts([None] * 8 + ["<p@q> <r@s>", "<m@n>"], 0, 0, references="")
    assert f.message_id == "m@n" and f.parent_ids() == ("p@q",)  # first In-Reply-To id
    f = Facts([None] * 8 + ["<p@q>", "bare@id"], 0, 0, references="<r@s> <t@u>")
    assert f.message_id == "bare@id" and f.parent_ids() == ("r@s", "t@u")
    assert Facts([None] * 10, 0, 0).message_id is None


def test_raw_8bit_headers_are_read_as_utf8() -> None:
    # the index keeps raw 8-bit header text with U+FFFD; SORT reads it again from the block
    headers = "Subject: Re: déjà vu\r\nFrom: Émile <e@x>\r\nTo: plain@x\r\n\r\n".encode()
    garbled = [None, "Re: d\ufffd\ufffdj\ufffd\ufffd vu", [["\ufffd\ufffdmile", None, "e", "x"]]]
    envelope = garbled + [None, None, [[None, None, "plain", "x"]], None, None, None, None]
    fixed = repair_8bit(envelope, headers)
    assert fixed[1] == "Re: déjà vu" and fixed[2] == [["Émile", None, "e", "x"]]
    assert fixed[5] == envelope[5]  # ASCII fields are left as indexed
    f = Facts(fixed, 0, 0)
    assert f.base == ("DÉJÀ VU".replace("É", "E\u0301").replace("À", "A\u0300"), True)
    assert f.key("DISPLAYFROM") == "E\u0301MILE"


def test_envelopes_of_odd_rows() -> None:
    assert envelope_of("null") == [None] * 10
    assert envelope_of('["d", "s"]') == ["d", "s"] + [None] * 8
    f = Facts(envelope_of('[null, null, [["x"]], null, null, [], null, null, null, null]'), 5, 1)
    assert [f.key(k) for k in ("FROM", "TO", "DISPLAYFROM", "DATE", "SUBJECT")] == [
        "",
        "",
        "",
        5.0,
        "",
    ]
