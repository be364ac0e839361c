"""MULTIAPPEND (RFC 3502), bytes in -> tokens and groups out: several messages in one APPEND,
each `[flags] [date-time] literal`; a literal refused part way through gives back the budget
of the ones already read."""

from __future__ import annotations

from pathlib import Path

import pytest

from swissbox.imap.multiappend import split_messages
from swissbox.imap.parser import (
    Assembler,
    CommandReady,
    Literal,
    ParseError,
    Refused,
    Str,
    tokenize,
)
from swissbox.mailstore.spool import InflightBudget, Spool


def ready(wire: bytes, asm: Assembler | None = None) -> list:
    asm = asm or Assembler()
    asm.feed(wire)
    out = []
    while (ev := asm.next_event()) is not None:
        out.append(ev)
    return out


def groups_of(wire: bytes) -> list[tuple[list, bytes]]:
    (ev,) = ready(wire)
    assert isinstance(ev, CommandReady)
    tokens = tokenize(ev.segments)
    return [(extras, bytes(message)) for extras, message in split_messages(tokens[3:])]


def test_literals_are_marked_and_quoted_strings_are_not() -> None:
    (ev,) = ready(b'a APPEND box "01-Jan-2024 10:00:00 +0000" {3+}\r\nabc\r\n')
    tokens = tokenize(ev.segments)
    assert isinstance(tokens[-1], Literal) and not isinstance(tokens[3], Literal)
    assert isinstance(tokens[3], Str)


def test_split_messages() -> None:
    date = b'"01-Jan-2024 10:00:00 +0000"'
    wire = (
        b"a APPEND box {2+}\r\nm1 (\\Seen) {2+}\r\nm2 "
        + date
        + b" {2+}\r\nm3 (\\Flagged $X) "
        + date
        + b" {2+}\r\nm4\r\n"
    )
    got = groups_of(wire)
    assert [m for _, m in got] == [b"m1", b"m2", b"m3", b"m4"]
    assert [len(e) for e, _ in got] == [0, 1, 1, 2]
    assert got[2][0][0] == Str(date.strip(b'"'))
    single = groups_of(b'a APPEND box (\\Seen) "quoted message"\r\n')  # old clients
    assert single == [([[b"\\Seen"]], b"quoted message")]


@pytest.mark.parametrize(
    "wire",
    [
        b"a APPEND box (\\Seen)\r\n",  # no message
        b"a APPEND box {2+}\r\nm1 (\\Seen)\r\n",  # flags after the last message
        b"a APPEND box {2+}\r\nm1 (\\Seen) (\\Seen) {2+}\r\nm2\r\n",  # flags twice
        b'a APPEND box {2+}\r\nm1 "x" "y" {2+}\r\nm2\r\n',  # two dates
    ],
)
def test_split_refuses_malformed(wire: bytes) -> None:
    with pytest.raises(ParseError):
        groups_of(wire)


def test_a_later_literal_refused_returns_the_first_ones_budget(tmp_path: Path) -> None:
    budget = InflightBudget(10_000, 10_000)

    def open_literal(size: int) -> Spool | tuple[bytes, bytes]:
        if not budget.take("u", size):
            return b"NO", b"[LIMIT] over budget"
        return Spool(tmp_path, 8, size, lambda: budget.give("u", size))

    asm = Assembler(max_literal=100, open_literal=open_literal)
    evs = ready(b"a APPEND box {20}\r\n", asm)
    assert budget.used == 20
    evs = ready(b"x" * 20 + b" {500}\r\n", asm)  # the second one is over the limit
    assert isinstance(evs[-1], Refused) and b"TOOBIG" in evs[-1].text
    assert budget.used == 0
    evs = ready(b"b APPEND box {20}\r\n", asm)
    evs = ready(b"y" * 20 + b" {9000}\r\n", asm)  # over the budget this time
    assert isinstance(evs[-1], Refused) and budget.used == 0
    assert ready(b"c NOOP\r\n", asm)[0].segments == [b"c NOOP"]
