"""RFC 5256 base subject and the i;unicode-casemap keys SORT/THREAD compare, values in/out."""

from __future__ import annotations

import pytest

from swissbox.imap.basesubject import base_subject
from swissbox.imap.collation import casemap, decode_words


@pytest.mark.parametrize(
    ("raw", "base", "reply"),
    [
        (None, "", False),
        ("", "", False),
        ("a", "a", False),
        ("Re: a", "a", True),
        ("RE:a", "a", True),
        ("re : a", "a", True),
        ("Fw: a", "a", True),
        ("FWD: a", "a", True),
        ("Re[2]: a", "a", True),
        ("Re: Re: Fwd: a", "a", True),
        ("a (fwd)", "a", True),
        ("a (FWD) (fwd)  ", "a", True),
        ("[list] a", "a", False),
        ("[list] Re: a", "a", True),
        ("[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", "b", True),
        ("[xyz]", "[xyz]", False),  # a blob stays when nothing would be left
        ("[a] [b]", "[b]", False),
        ("Re: [FWD: c]", "c", True),
        ("[fwd: a]", "a", True),
        ("re: [fwd: [fwd: re: [fwd: babylon]]]", "babylon", True),
        ("Ad: Re: Ad: x", "Ad: Re: Ad: x", False),  # "Ad:" is no reply marker
        ("Really: a", "Really: a", False),
        ("a\t \tb\r\n c", "a b c", False),
        ("=?iso-8859-1?q?_?=", "", False),
        ("Re: =?utf-8?q?b?=", "b", True),
        ("=?iso-8859-1?q?RE:_C?=", "C", True),
        ("=?us-ascii?b?UmU6IGM=?=", "c", True),
        ("=?utf-8?q?caf=C3=A9?= =?utf-8?q?_au_lait?=", "café au lait", False),
        ("Re:", "", True),
    ],
)
def test_base_subject(raw: str | None, base: str, reply: bool) -> None:
    assert base_subject(raw) == (base, reply)


def test_decode_words_survives_bad_input() -> None:
    assert decode_words("plain") == "plain"
    assert decode_words("=?x-unknown?q?abc?=") == "abc"  # unknown charset: Latin-1
    assert decode_words("=?utf-8?b?###?=") in ("=?utf-8?b?###?=", "")
    assert decode_words("=?utf-8?q?a=ZZb?=") == "a=ZZb"
    assert decode_words("=?utf-8?q?=E2=82?=") == "\ufffd"  # cut UTF-8: replacement char


def test_casemap_orders_like_the_collation() -> None:
    assert casemap("abc") == casemap("ABC") == "ABC"
    assert casemap("_") > casemap("Z") and casemap("a") < casemap("_")  # titlecase, not lower
    assert casemap("éte") == casemap("ÉTE") == casemap("E\u0301TE")  # decomposed
    assert casemap("ﬁ") == "FI"  # compatibility decomposition
    assert sorted(["b", "Á", "a", "C"], key=casemap) == ["a", "Á", "b", "C"]
