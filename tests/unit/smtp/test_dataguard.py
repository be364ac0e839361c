"""The DATA and command line-ending checks, fed bytes (sans-I/O)."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swissbox.smtp.dataguard import (
    BareNewlineInCommand,
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
