"""The sans-I/O input path: bytes in, events and tokens out."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swissbox.imap.fetchspec import parse_fetch, parse_section
from swissbox.imap.parser import (
    Assembler,
    Atom,
    CommandReady,
    NeedContinuation,
    ParseError,
    Refused,
    SpooledLiteral,
    Str,
    astring,
    decode_mutf7,
    encode_mutf7,
    flag_list,
    parse_seqset,
    tokenize,
)
from swissbox.imap.search import parse_search
from swissbox.mailstore.spool import InflightBudget, Spool


def events(asm: Assembler, data: bytes) -> list[object]:
    asm.feed(data)
    out = []
    while (ev := asm.next_event()) is not None:
        out.append(ev)
    return out


def test_simple_command_and_pipelining() -> None:
    evs = events(Assembler(), b"a1 NOOP\r\nb2 CAPABILITY\r\nc3 LOG")
    assert [e.segments for e in evs] == [[b"a1 NOOP"], [b"b2 CAPABILITY"]]  # type: ignore[union-attr]


def test_synchronizing_literal_asks_then_completes() -> None:
    asm = Assembler()
    assert isinstance(events(asm, b"a LOGIN {5}\r\n")[0], NeedContinuation)
    (ev,) = events(asm, b"alice {3}\r\n")
    assert isinstance(ev, NeedContinuation)
    (ev,) = events(asm, b"p w\r\n")
    assert isinstance(ev, CommandReady)
    assert tokenize(ev.segments) == [Atom(b"a"), Atom(b"LOGIN"), Str(b"alice"), Str(b"p w")]


def test_literal_plus_needs_no_continuation() -> None:
    (ev,) = events(Assembler(), b"a APPEND INBOX {3+}\r\nabc\r\n")
    assert isinstance(ev, CommandReady)
    assert tokenize(ev.segments)[-1] == Str(b"abc")


def test_append_over_limit_is_refused_without_reading() -> None:
    asm = Assembler(max_literal=1000)
    (ev,) = events(asm, b"a APPEND INBOX {100000000}\r\n")
    assert isinstance(ev, Refused) and ev.status == b"NO" and not ev.close
    assert b"TOOBIG" in ev.text
    (ev,) = events(asm, b"b NOOP\r\n")  # the stream goes on
    assert isinstance(ev, CommandReady)


def test_nonsync_literal_over_limit_closes() -> None:
    (ev,) = events(Assembler(max_literal=10), b"a APPEND INBOX {100+}\r\n" + b"x" * 50)
    assert isinstance(ev, Refused) and ev.close and ev.status == b"BAD"


def test_string_literal_limit_for_other_commands() -> None:
    (ev,) = events(Assembler(max_string=100), b"a LOGIN {1000}\r\n")
    assert isinstance(ev, Refused) and ev.status == b"BAD"


def test_line_too_long_is_bounded() -> None:
    asm = Assembler(max_line=1000)
    (ev,) = events(asm, b"a " + b"x" * 5000)
    assert isinstance(ev, Refused) and ev.close
    assert len(asm.buffer) == 0


def test_tokenize_quoted_lists_and_sections() -> None:
    tokens = tokenize([b'a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From "To")]<0.10>) "q\\"x"'])
    assert tokens[2] == Atom(b"1:*")
    assert tokens[3] == [Atom(b"FLAGS"), Atom(b'BODY.PEEK[HEADER.FIELDS (From "To")]<0.10>')]
    assert tokens[4] == Str(b'q"x')


@pytest.mark.parametrize(
    "line",
    [b"a X (((", b"a X )", b'a X "open', b"a X {3}", b'a X "bad\\q"', b"a X \x01"],
)
def test_tokenize_rejects_malformed(line: bytes) -> None:
    with pytest.raises(ParseError):
        tokenize([line])


def test_deep_nesting_refused() -> None:
    with pytest.raises(ParseError):
        tokenize([b"a SEARCH " + b"(" * 100 + b"ALL" + b")" * 100])


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_assembler_and_tokenizer_never_crash(data: bytes) -> None:
    asm = Assembler(max_literal=100, max_line=200, max_string=50)
    asm.feed(data)
    for _ in range(50):
        ev = asm.next_event()
        if ev is None:
            break
        if isinstance(ev, CommandReady):
            with contextlib.suppress(ParseError):
                tokenize(ev.segments)


def test_seqset() -> None:
    assert parse_seqset(Atom(b"1:3,5,*:7,9:*")) == [(1, 3), (5, 5), (7, None), (9, None)]
    for bad in (b"0", b"1:", b"a", b"4294967296"):
        with pytest.raises(ParseError):
            parse_seqset(Atom(bad))


def test_flags() -> None:
    assert flag_list([Atom(b"\\seen"), Atom(b"$Junk")]) == ["\\Seen", "$Junk"]
    assert flag_list([Atom(b"\\RECENT"), Atom(b"\\Draft")]) == ["\\Draft"]  # server-set only
    with pytest.raises(ParseError):
        flag_list([Atom(b"\\Bogus")])


def test_mutf7_roundtrip() -> None:
    assert encode_mutf7("Entwürfe & Co") == "Entw&APw-rfe &- Co"
    assert decode_mutf7("Entw&APw-rfe &- Co") == "Entwürfe & Co"


def test_fetch_items() -> None:
    req = parse_fetch(tokenize([b"(UID BODY.PEEK[1.2.MIME] BODY[]<5.10> ENVELOPE)"])[0])
    names = [(i.name, i.section and i.section.part, i.peek, i.partial) for i in req.items]
    assert names == [
        ("UID", None, False, None),
        ("BODY", (1, 2), True, None),
        ("BODY", (), False, (5, 10)),
        ("ENVELOPE", None, False, None),
    ]
    req = parse_fetch(Atom(b"FAST"), [Atom(b"CHANGEDSINCE"), Atom(b"12")])
    assert req.changedsince == 12 and [i.name for i in req.items] == [
        "FLAGS",
        "INTERNALDATE",
        "RFC822.SIZE",
    ]
    assert parse_section("HEADER.FIELDS (From To)").fields == ("From", "To")
    with pytest.raises(ParseError):
        parse_fetch(Atom(b"BOGUS"))


def test_search_keys() -> None:
    node = parse_search(tokenize([b'OR SEEN (HEADER Subject "x" NOT DELETED) UID 1:5 MODSEQ 3'])[:])
    assert node[0] == "AND" and node[1][0][0] == "OR" and node[1][-1] == ("MODSEQ", 3)
    with pytest.raises(ParseError):
        parse_search([Atom(b"NOSUCHKEY")])
    with pytest.raises(ParseError):
        parse_search([Atom(b"OR"), Atom(b"SEEN")])


# -- APPEND literals into spools, under a budget ---------------------------------------------


class Sinks:
    """open_literal for tests: spools in `directory` (on disk past 8 bytes), refusing past
    `allow` bytes in flight."""

    def __init__(self, directory: Path, allow: int) -> None:
        self.budget = InflightBudget(allow, allow)
        self.directory = directory
        self.opened: list[Spool] = []

    def __call__(self, size: int) -> Spool | tuple[bytes, bytes]:
        if not self.budget.take("u", size):
            return b"NO", b"[LIMIT] over budget"
        spool = Spool(self.directory, 8, size, lambda: self.budget.give("u", size))
        self.opened.append(spool)
        return spool


def test_append_literal_goes_to_a_spool_and_tokenizes_as_spooled(tmp_path: Path) -> None:
    sinks = Sinks(tmp_path, 1000)
    asm = Assembler(open_literal=sinks)
    evs = events(asm, b"a APPEND INBOX {21}\r\n")
    assert isinstance(evs[0], NeedContinuation) and sinks.budget.used == 21
    [ready] = events(asm, b"Subject: x\r\n\r\nhello\r\n\r\n")
    assert isinstance(ready, CommandReady)
    tokens = tokenize(ready.segments)
    message = tokens[-1]
    assert isinstance(message, SpooledLiteral) and message == b""
    assert message.spool.getvalue() == b"Subject: x\r\n\r\nhello\r\n"
    with pytest.raises(ParseError):
        astring(message)
    message.spool.close()
    assert sinks.budget.used == 0


def test_small_append_literal_is_a_plain_string_and_frees_its_share(tmp_path: Path) -> None:
    sinks = Sinks(tmp_path, 1000)
    asm = Assembler(open_literal=sinks)
    [ready] = events(asm, b"a APPEND {4+}\r\nDraf (\\Seen) {3+}\r\nabc\r\n")
    assert isinstance(ready, CommandReady)
    tokens = tokenize(ready.segments)
    assert tokens[2] == Str(b"Draf") and tokens[-1] == Str(b"abc")
    assert not isinstance(tokens[-1], SpooledLiteral) and sinks.budget.used == 0


def test_over_budget_sync_literal_is_refused_unread(tmp_path: Path) -> None:
    asm = Assembler(open_literal=Sinks(tmp_path, 100))
    [refused] = events(asm, b"a APPEND INBOX {500}\r\n")
    assert refused == Refused(b"a", b"NO", b"[LIMIT] over budget")
    [ready] = events(asm, b"b NOOP\r\n")
    assert ready.segments == [b"b NOOP"]  # type: ignore[union-attr]


def test_over_budget_nonsync_literal_is_read_and_dropped(tmp_path: Path) -> None:
    asm = Assembler(open_literal=Sinks(tmp_path, 100))
    wire = b"a APPEND INBOX {500+}\r\n" + b"x" * 500 + b" {3+}\r\nabc\r\nb NOOP\r\n"
    for cut in (1, 7, len(wire)):
        asm = Assembler(open_literal=Sinks(tmp_path, 100))
        got = []
        for i in range(0, len(wire), cut):
            got += events(asm, wire[i : i + cut])
        assert got[0] == Refused(b"a", b"NO", b"[LIMIT] over budget")
        assert [e.segments for e in got[1:]] == [[b"b NOOP"]]  # type: ignore[union-attr]


def test_clear_drops_a_literal_cut_short(tmp_path: Path) -> None:
    sinks = Sinks(tmp_path, 1000)
    asm = Assembler(open_literal=sinks)
    events(asm, b"a APPEND INBOX {100+}\r\n" + b"y" * 50)
    assert sinks.budget.used == 100
    asm.clear()  # the connection was lost
    assert sinks.budget.used == 0
