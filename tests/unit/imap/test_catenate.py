"""CATENATE (RFC 4469), bytes in -> parts out: the `CATENATE (TEXT ... URL ...)` lists of an
APPEND (with MULTIAPPEND), and the IMAP URLs (RFC 5092) a part may name."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swissbox.imap.catenate import BadUrl, Catenate, ImapUrl, parse_url
from swissbox.imap.fetchspec import parse_section
from swissbox.imap.multiappend import split_messages
from swissbox.imap.parser import Assembler, CommandReady, ParseError, tokenize


def args(wire: bytes) -> list:
    """APPEND's arguments after the mailbox name."""
    asm = Assembler()
    asm.feed(wire)
    events = []
    while (ev := asm.next_event()) is not None:
        events.append(ev)
    ready = [e for e in events if isinstance(e, CommandReady)]
    assert len(ready) == 1, events
    return tokenize(ready[0].segments)[3:]


def test_catenate_parts_in_order() -> None:
    wire = b'a APPEND box (\\Seen) CATENATE (URL "/INBOX/;UID=3/;SECTION=HEADER" TEXT {6+}\r\nbody\r\n URL "/INBOX/;UID=4")\r\n'
    ((extras, message),) = split_messages(args(wire))
    assert extras == [[b"\\Seen"]]
    assert isinstance(message, Catenate)
    assert [(kind, bytes(value)) for kind, value in message.parts] == [
        ("URL", b"/INBOX/;UID=3/;SECTION=HEADER"),
        ("TEXT", b"body\r\n"),
        ("URL", b"/INBOX/;UID=4"),
    ]


def test_catenate_with_multiappend_and_plain_literals() -> None:
    wire = (
        b'a APPEND box CATENATE (URL "/b/;UID=1") (\\Answered) {3+}\r\nnew'
        b" CATENATE (TEXT ~{2+}\r\n\0\0)\r\n"
    )
    groups = split_messages(args(wire))
    assert [type(m).__name__ for _, m in groups] == ["Catenate", "Literal", "Catenate"]
    assert groups[1] == ([[b"\\Answered"]], b"new")
    third = groups[2][1]
    assert isinstance(third, Catenate) and third.parts[0][1].binary


@pytest.mark.parametrize(
    "wire",
    [
        b"a APPEND box CATENATE\r\n",  # no list
        b"a APPEND box CATENATE ()\r\n",  # empty
        b'a APPEND box CATENATE (TEXT "quoted")\r\n',  # TEXT takes a literal
        b"a APPEND box CATENATE (URL)\r\n",
        b'a APPEND box CATENATE (FOO "x")\r\n',
        b'a APPEND box CATENATE (URL ("x"))\r\n',
    ],
)
def test_malformed_catenate_is_bad(wire: bytes) -> None:
    with pytest.raises(ParseError):
        split_messages(args(wire))


def test_urls_of_one_message() -> None:
    assert parse_url("/INBOX/;UID=20") == ImapUrl("INBOX", 20)
    assert parse_url("/a/b;UIDVALIDITY=77/;uid=5/;section=1.2.MIME") == ImapUrl(
        "a/b", 5, 77, parse_section("1.2.MIME")
    )
    assert parse_url("/box/;UID=2/;PARTIAL=100000.1") == ImapUrl("box", 2, partial=(100000, 1))
    assert parse_url("/box/;UID=2/;SECTION=TEXT/;PARTIAL=5") == ImapUrl(
        "box", 2, section=parse_section("TEXT"), partial=(5, None)
    )
    assert parse_url("/b/;UID=2/;SECTION=HEADER.FIELDS%20(From%20To)").section == parse_section(
        "HEADER.FIELDS (From To)"
    )
    assert parse_url(";UID=9/;SECTION=1") == ImapUrl(None, 9, section=parse_section("1"))
    assert parse_url("/Entw%C3%BCrfe/;UID=1").mailbox == "Entwürfe"
    assert parse_url("/Entw&APw-rfe/;UID=1").mailbox == "Entwürfe"  # modified UTF-7
    full = parse_url("imap://tess%40example.test;AUTH=*@Mail.Example.Test:993/INBOX/;UID=1")
    assert (full.user, full.host, full.mailbox, full.uid) == (
        "tess@example.test",
        "mail.example.test",
        "INBOX",
        1,
    )


@pytest.mark.parametrize(
    "url",
    [
        "",
        "/INBOX",  # a mailbox, not a message
        "/INBOX/;UID=0",
        "/INBOX/;UID=1/;SECTION=BOGUS",
        "/INBOX/;UID=1/;EXPIRE=2030-01-01T00:00:00Z;URLAUTH=anonymous:internal:abc",
        "/INBOX/;UID=1;URLAUTH=anonymous",
        "/INBOX/;UID=1 extra",
        "/INBOX;UIDVALIDITY=0/;UID=1",
        "/INBOX/;UID=1/;PARTIAL=1.0",
        "imap://host;UID=1",
        "imap://host/;UID=1",  # an absolute URL names its mailbox
        "imap:/INBOX/;UID=1",
        "/%FF/;UID=1",
        "/INBOX;x=1/;UID=1",
        "/INBOX/;UID=1/" + "x" * 3000,
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(BadUrl):
        parse_url(url)


URLISH = st.text(alphabet="/;=.&%-+@:aAbB0129 UIDVALTYSECNHPRXimap()", max_size=60)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["", "/INBOX", "imap://u@h/b", ";UID=1"]), URLISH)
def test_any_url_text_parses_or_is_badurl(prefix: str, rest: str) -> None:
    try:
        parsed = parse_url(prefix + rest)
    except BadUrl:
        return
    assert parsed.uid > 0
