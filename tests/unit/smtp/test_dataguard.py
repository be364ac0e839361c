"""The DATA and command line-ending checks, fed bytes (sans-I/O)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swissbox.mailstore.spool import Spool
from swissbox.smtp.dataguard import (
    BareNewlineInCommand,
    DataAssembler,
    DataBudget,
    StrictLineReader,
    command_ends_badly,
    find_bare_newline,
    has_bare_newline,
)

SMUGGLING = [
    b"Subject: a\r\n\r\nbody\n.\nMAIL FROM:<x@evil>\r\n",
    b"Subject: a\r\n\r\nbody\n.\r\nMAIL FROM:<x@evil>\r\n",
    b"Subject: a\r\n\r\nbody\r.\r\nMAIL FROM:<x@evil>\r\n",
    b"Subject: a\r\n\r\nbody\r\n.\r\r\nMAIL FROM:<x@evil>\r\n",
    b"Subject: a\r\n\r\nbody\r\n.\nMAIL FROM:<x@evil>\r\n",
    b"Subject: a\r\n\r\nbody\r.\nMAIL FROM:<x@evil>\r\n",
]


@pytest.mark.parametrize("payload", SMUGGLING)
def test_smuggling_payloads_have_bare_newlines(payload: bytes) -> None:
    assert has_bare_newline(payload)
    assert find_bare_newline(payload) != -1


@pytest.mark.parametrize(
    "good", [b"", b"a\r\n", b"Subject: x\r\n\r\nline one\r\nline two\r\n", b"\r\n\r\n"]
)
def test_clean_crlf_passes(good: bytes) -> None:
    assert not has_bare_newline(good)
    assert find_bare_newline(good) == -1


def test_positions() -> None:
    assert find_bare_newline(b"ab\ncd") == 2
    assert find_bare_newline(b"\n") == 0
    assert find_bare_newline(b"ab\rcd") == 2
    assert find_bare_newline(b"ab\r") == 2
    assert find_bare_newline(b"a\r\nb\r\r\n") == 4


@given(st.lists(st.binary().filter(lambda b: b"\r" not in b and b"\n" not in b)))
def test_any_crlf_joined_lines_pass(lines: list[bytes]) -> None:
    assert not has_bare_newline(b"".join(line + b"\r\n" for line in lines))


@given(st.binary())
def test_fast_path_agrees_with_scan(data: bytes) -> None:
    assert has_bare_newline(data) == (find_bare_newline(data) != -1)


def test_command_endings() -> None:
    assert not command_ends_badly(b"NOOP\r\n")
    assert command_ends_badly(b"NOOP\n")
    assert command_ends_badly(b"NO\rOP\r\n")


def test_strict_reader_refuses_bare_lf_commands() -> None:
    async def main() -> None:
        reader = StrictLineReader()
        reader.feed_data(b"EHLO a\r\nNOOP\nDATA\r\n")
        assert await reader.readuntil(b"\n") == b"EHLO a\r\n"
        with pytest.raises(BareNewlineInCommand):
            await reader.readuntil(b"\n")
        # DATA lines are read up to CRLF and not judged here
        reader.feed_data(b"x\ny\r\n")
        assert await reader.readuntil(b"\r\n") == b"DATA\r\n"
        assert await reader.readuntil(b"\r\n") == b"x\ny\r\n"

    asyncio.run(main())


def test_fast_address_path_agrees_with_aiosmtpd() -> None:
    from aiosmtpd.smtp import SMTP

    from swissbox.smtp.inbound import MxHandler
    from swissbox.smtp.session import ConnectionTracker, Limits, SwissSMTP

    async def main() -> None:
        p = SwissSMTP(
            MxHandler(None),  # type: ignore[arg-type]
            limits=Limits(),
            tracker=ConnectionTracker(1),
            allow_auth=False,
            hostname="x",
            loop=asyncio.get_running_loop(),
        )
        cases = [
            "<a@b.c>",
            "<a@b.c> SIZE=100",
            " <a.b+c@d-e.f>  BODY=8BITMIME",
            "<a..b@c>",
            "<@x:a@b>",
            "<a@b.>",
            '<"q"@b>',
            "<a@[1.2.3.4]>",
            "<>",
            "a@b.c",
            "<a@b.c>x",
            "<a@b.c>\t SIZE=1",
            "<á@b.c>",
            "<a%b@c>",
            "<a!b@c>",
        ]
        for case in cases:
            assert p._getaddr(case) == SMTP._getaddr(p, case), case

    asyncio.run(main())


def stuffed(lines: list[bytes]) -> bytes:
    return b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)


_line = st.binary(max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b)


@given(
    st.lists(_line, max_size=30), st.lists(st.integers(1, 50), min_size=1), st.binary(max_size=20)
)
def test_assembler_finds_the_end_across_any_chunking(
    lines: list[bytes], cuts: list[int], after: bytes
) -> None:
    wire = stuffed(lines) + b".\r\n" + after
    a = DataAssembler()
    pos, i, done = 0, 0, False
    while pos < len(wire) and not done:
        step = cuts[i % len(cuts)]
        done = a.feed(wire[pos : pos + step])
        pos, i = pos + step, i + 1
    assert done
    assert a.content() == b"".join(line + b"\r\n" for line in lines)
    assert a.rest + wire[pos:] == after
    assert not a.too_big and not a.no_memory


@pytest.mark.parametrize(
    "wire,body",
    [
        (b".\r\n", b""),
        (b"\r\n.\r\n", b"\r\n"),
        (b"a\n.\nb\r\n.\r\n", b"a\n.\nb\r\n"),  # bare LF never ends DATA
        (b"a\r.\rb\r\n.\r\n", b"a\r.\rb\r\n"),
        (b"..\r\n.\r\n", b".\r\n"),
    ],
)
def test_assembler_examples(wire: bytes, body: bytes) -> None:
    a = DataAssembler()
    assert a.feed(wire)
    assert a.content() == body
    byte_by_byte = DataAssembler()
    assert [byte_by_byte.feed(wire[i : i + 1]) for i in range(len(wire))][-1]
    assert byte_by_byte.content() == body


def test_assembler_size_limit_drops_but_still_finds_the_end() -> None:
    a = DataAssembler(limit=100)
    for _ in range(50):
        assert not a.feed(b"x" * 70 + b"\r\n")
    assert a.sink.size <= 100  # nothing kept past the limit
    assert a.feed(b".\r\nQUIT\r\n")
    assert a.too_big and a.rest == b"QUIT\r\n"
    exact = DataAssembler(limit=100)
    assert exact.feed(b"y" * 98 + b"\r\n.\r\n") and not exact.too_big


def test_shared_budget_in_total_and_per_client() -> None:
    budget = DataBudget(1000, per_client=600)
    first, second = DataAssembler(budget=budget, key="a"), DataAssembler(budget=budget, key="b")
    assert not first.feed(b"a" * 500)
    assert not second.feed(b"b" * 600)  # over the shared cap: dropped from now on
    assert second.feed(b"b\r\n.\r\n") and second.no_memory and not second.too_big
    assert second.sink.size == 0
    second.release()
    third = DataAssembler(budget=budget, key="a")  # the same client: over its share
    assert third.feed(b"c" * 200 + b"\r\n.\r\n") and third.no_memory
    third.release()
    assert first.feed(b"\r\n.\r\n") and not first.no_memory
    first.release()
    assert budget.used == 0 and budget.by_key == {}


def test_a_stalled_body_moves_to_disk(tmp_path: Path) -> None:
    a = DataAssembler(sink=Spool(tmp_path, threshold=1000))
    for _ in range(100):
        a.feed(b"." + b"z" * 98 + b"\r\n")
    assert a.sink.on_disk and len(a.pending) <= 4
    assert a.feed(b".\r\n")
    assert a.content() == (b"z" * 98 + b"\r\n") * 100
    a.release()
