"""Address lists for ENVELOPE and SEARCH (issue 12, 3), bytes in -> bytes out: the message as
delivered, the ENVELOPE item as a client reads it (figures from Dovecot 2.3 on the same
input), and the SEARCH FROM/TO keys over the same headers."""

from __future__ import annotations

import random

import pytest

from swissbox.imap import render
from swissbox.imap.parser import tokenize
from swissbox.imap.search import Candidate, header_needles, matches, parse_search
from swissbox.mailstore import summarize
from swissbox.mailstore.addresses import parse, searchable


def envelope_of(headers: str) -> bytes:
    raw = (headers.replace("\n", "\r\n") + "\r\nSubject: x\r\n\r\nbody\r\n").encode()
    return render.envelope(summarize(raw).envelope)


@pytest.mark.parametrize(
    ("headers", "want"),
    [
        (  # groups keep their markers, an empty group too
            "From: user@domain (Real Name)\n"
            "To: group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;\n"
            "Cc: group:;, group2: (foo) ;",
            b'(NIL "x" (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain"))'
            b' (("Real Name" NIL "user" "domain"))'
            b' ((NIL NIL "group" NIL)(NIL NIL "g1" "d1.org")(NIL NIL "g2" "d2.org")'
            b'(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL "g3" "d3.org")(NIL NIL NIL NIL))'
            b' ((NIL NIL "group" NIL)(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL NIL NIL))'
            b" NIL NIL NIL)",
        ),
        (  # a source route is the adl
            "From: <@route:user@domain>",
            b'(NIL "x" ((NIL "@route" "user" "domain")) ((NIL "@route" "user" "domain"))'
            b' ((NIL "@route" "user" "domain")) NIL NIL NIL NIL NIL)',
        ),
        (  # empty Sender/Reply-To default to From
            "From: user@domain (Real Name)\nSender: \nReply-To: ",
            b'(NIL "x" (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain"))'
            b' (("Real Name" NIL "user" "domain")) NIL NIL NIL NIL NIL)',
        ),
        (  # no domain: filled, never a NIL host (that would read as a group)
            "From: user",
            b'(NIL "x" ((NIL NIL "user" "MISSING_DOMAIN")) ((NIL NIL "user" "MISSING_DOMAIN"))'
            b' ((NIL NIL "user" "MISSING_DOMAIN")) NIL NIL NIL NIL NIL)',
        ),
    ],
)
def test_envelope_addresses(headers: str, want: bytes) -> None:
    assert envelope_of(headers) == want


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("<@a,@b:u@d>", [[None, "@a,@b", "u", "d"]]),
        ("u@d (c1) (c2)", [["c2", None, "u", "d"]]),  # the last comment names it
        ("<u (c) @ d>", [[None, None, "u", "d"]]),
        ('"q\\"x" <u@d>, , foo@bar', [['q"x', None, "u", "d"], [None, None, "foo", "bar"]]),
        ("Joe . Q <a@b>", [["Joe . Q", None, "a", "b"]]),
        ("a.b.@c", [[None, None, "a.b.", "c"]]),
        ("@d", [[None, None, "MISSING_MAILBOX", "d"]]),
        ("<>", [[None, None, "MISSING_MAILBOX", "MISSING_DOMAIN"]]),
        ("(only a comment)", []),
        ("a@b c@d", [[None, None, "a", "b"]]),
        ('"" <a@b>', [[None, None, "a", "b"]]),
        ("=?utf-8?q?J=C3=B6?= <a@b>", [["=?utf-8?q?J=C3=B6?=", None, "a", "b"]]),
        ("g:a@b", [[None, None, "g", None], [None, None, "a", "b"], [None] * 4]),
        ("a . b @ c . d", [[None, None, "a.b", "c.d"]]),
        ("a@[1.2.3.4]", [[None, None, "a", "[1.2.3.4]"]]),
        ("Folded\r\n Name <a@b>", [["Folded Name", None, "a", "b"]]),
    ],
)
def test_parse(value: str, want: list[list[str | None]]) -> None:
    assert parse(value) == want


def test_parse_never_raises_and_always_ends() -> None:
    rng = random.Random(12)
    alphabet = 'ab@.,;:<>()[]"\\ \t\r\n=?é'
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        for name, adl, mailbox, host in parse(value):
            assert host is not None or name is None  # NIL host only in group markers
            assert mailbox is not None or host is None  # ... and the end marker
            assert adl is None or adl.startswith("@")
        searchable(value)


HEADERS = {
    1: b"From: user-from@domain.org\r\nTo: user-to@domain.org\r\n\r\n",
    2: b"From: RealFrom <user-from@domain.org>\r\n\r\n",
    3: b"From: <user-from (comment)@ (comment) domain.org>\r\n\r\n",
    4: b"From: user-from@domain.org (RealFrom)\r\n\r\n",
    5: b"From: user-from1@domain.org, user-from2@domain.org\r\n\r\n",
    6: b"From: RealFrom <user-from@domain.org>\r\nTo: groupname: groupuser1@domain.org,"
    b" groupuser2@domain.org;,\r\n  groupname2: groupuser3@domain.org;\r\n\r\n",
    7: b"From: RealFrom <user-from@domain.org>\r\nTo: groupname:;\r\n\r\n",
}


def search(query: str) -> list[int]:
    node = parse_search(tokenize([query.encode()]))
    hits = []
    for uid, headers in HEADERS.items():
        cand = Candidate(uid, uid, frozenset(), 0, 0, 1, lambda h=headers: h, lambda: b"")
        if matches(node, cand, len(HEADERS), len(HEADERS)):
            hits.append(uid)
    return hits


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("FROM user-from@domain.org", [1, 2, 3, 4, 6, 7]),
        ("FROM realfrom", [2, 4, 6, 7]),
        ("FROM ser-fro", [1, 2, 3, 4, 5, 6, 7]),
        ("FROM user-from2", [5]),
        ("TO groupname", [6, 7]),
        ("TO groupname2", [6]),
        ("TO groupuser3", [6]),
        ("TO groupuser4", []),
    ],
)
def test_search_address_keys(query: str, want: list[int]) -> None:
    assert search(query) == want


def test_address_prefilter_needle_is_a_piece_the_raw_header_holds() -> None:
    """The index prefilter looks for the needle in the raw header block: for address keys
    it must use a piece every matching raw header contains (message 3 has no
    'user-from@domain.org' in its bytes)."""
    node = parse_search(tokenize([b"FROM user-from@domain.org"]))
    ((_name, needle),) = header_needles(node)
    assert needle.lower().encode() in HEADERS[3].lower()
    assert needle == "user-from"
    node = parse_search(tokenize([b"SUBJECT a@b"]))
    assert header_needles(node) == [("Subject", "a@b")]


def test_huge_headers_are_read_only_so_far() -> None:
    many = parse("a@b, " * 200_000)
    assert 10_000 >= len(many) > 10_000 // 2 and many[0] == [None, None, "a", "b"]
    for value in ("(" * 100_000 + "x", '"' * 100_000, "<" * 100_000, "x:" * 100_000):
        parse(value)  # no recursion limit, no quadratic time
