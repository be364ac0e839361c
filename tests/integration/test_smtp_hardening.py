"""Inputs that used to end in a logged traceback get a clean SMTP reply instead: odd
addresses in MAIL/RCPT, non-ASCII parameters, a refused TLS connection that says goodbye,
and a flood of commands behind a reply that closes the session."""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path

import pytest

from tests.unit.smtp.harness import TOTO, Harness, Raw, run

# Found by mutating MAIL FROM lines: the first four raised inside the email package's parser
# (IndexError, AttributeError, UnboundLocalError); the others are near misses.
ODD_PATHS = ["<", '"', "\\@[", "<@[ ", '<"', '"a', "<a@[", "<@", "(<", "<a@b"]


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()[:200]}"
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR
    ]


@pytest.mark.parametrize("verb", ["MAIL FROM:", "RCPT TO:"])
def test_odd_paths_are_malformed_not_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, verb: str
) -> None:
    async def main(h: Harness) -> None:
        raw = await Raw.connect(h.mx)
        assert (await raw.cmd("EHLO odd.example")).startswith("250")
        if verb == "RCPT TO:":
            assert (await raw.cmd("MAIL FROM:<a@example.org>")).startswith("250")
        for path in ODD_PATHS[:8]:  # fewer than the error budget
            reply = await raw.cmd(f"{verb}{path}")
            assert reply[:1] in ("2", "5"), (path, reply)  # an answer, never 451
        await raw.cmd("RSET")
        assert (await raw.cmd("MAIL FROM:<a@example.org>")).startswith("250")
        assert (await raw.cmd(f"RCPT TO:<{TOTO}>")).startswith("250")
        await raw.close()

    run(tmp_path, main)
    assert problems(caplog) == []


def test_non_ascii_parameters_are_syntax_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def main(h: Harness) -> None:
        raw = await Raw.connect(h.mx)
        await raw.cmd("EHLO odd.example")
        for params in ("SIZE=\u00b2", "SIZE=\u0661\u0662", "B\u00d6DY=8BITMIME"):
            reply = await raw.cmd(f"MAIL FROM:<a@example.org> {params}")
            assert reply.startswith("501"), (params, reply)
        assert (await raw.cmd("MAIL FROM:<a@example.org> SIZE=100")).startswith("250")
        await raw.close()

    run(tmp_path, main)
    assert problems(caplog) == []


def test_refused_tls_connection_closing_cleanly_logs_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Over the per-address limit on the implicit-TLS port: the 421 is sent and the
    client's close_notify reaches a session that never started."""

    async def main(h: Harness) -> None:
        tls = h.client_tls()
        tls.check_hostname = False
        held = []
        for _ in range(2):
            r, w = await asyncio.open_connection("127.0.0.1", h.submissions, ssl=tls)
            assert (await r.readline()).startswith(b"220")
            held.append(w)
        for _ in range(5):
            r, w = await asyncio.open_connection("127.0.0.1", h.submissions, ssl=tls)
            assert (await r.readline()).startswith(b"421")
            w.close()  # close_notify
            await w.wait_closed()
        for w in held:
            w.close()
        await asyncio.sleep(0)

    run(tmp_path, main, max_connections_per_address=2)
    assert problems(caplog) == []


@pytest.mark.parametrize("tls", [False, True])
def test_commands_behind_a_closing_reply_are_not_processed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, tls: bool
) -> None:
    """A thousand bad commands in one write: the session answers up to its error budget,
    says 421 once and stops; nothing is written or logged per command after that."""
    caplog.set_level(logging.INFO)

    async def main(h: Harness) -> None:
        context: ssl.SSLContext | None = None
        if tls:
            context = h.client_tls()
            context.check_hostname = False
        port = h.submissions if tls else h.mx
        r, w = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        assert (await r.readline()).startswith(b"220")
        w.write(b"FOO\r\n" * 1000)
        await w.drain()
        answer = await asyncio.wait_for(r.read(), 10)
        lines = answer.splitlines()
        assert lines[-1].startswith(b"421 4.7.0"), lines[-3:]
        assert len(lines) <= 12, len(lines)
        w.close()

    run(tmp_path, main)
    assert problems(caplog) == []
    per_command = [r for r in caplog.records if "FOO" in r.getMessage()]
    assert len(per_command) <= 12
