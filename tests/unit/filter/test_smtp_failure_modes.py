"""The filter on the SMTP path (in-process service, aiosmtplib client): a scanner that is
down, slow or answering garbage gives 451 ("defer") or unchecked delivery ("accept"), never a
lost message; fifty clients at once, spam and clean mixed, each get their own verdict."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiosmtplib
import pytest

from swissbox.filter.base import FailurePolicy
from swissbox.filter.pipeline import MailFilter
from swissbox.filter.rspamd import RspamdScanner
from tests.unit.smtp.harness import TOTO, Harness, message, running

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def fake_rspamd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """checkv2 on a small scale: 'reject' for a body with SPAMSPAM, else 'no action'."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))[15:]
    )
    body = await reader.readexactly(length)
    await asyncio.sleep(0.01)
    spam = b"SPAMSPAM" in body
    answer = json.dumps(
        {"action": "reject" if spam else "no action", "score": 20 if spam else 0, "symbols": {}}
    ).encode()
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))
    await writer.drain()
    writer.close()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1024)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{{{{{")
    writer.close()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(30)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running(tmp_path, max_connections_per_address=100) as h:
        yield h


async def with_scanner(h: Harness, handler: Handler, on_failure: str) -> asyncio.Server:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    scanner = RspamdScanner(FailurePolicy(0.5, on_failure), f"http://127.0.0.1:{port}")
    assert h.service.runtime is not None
    h.service.runtime.filters = MailFilter([scanner])
    return server


async def send(h: Harness, subject: str, body: str = "Hi there.\r\n") -> tuple[int, str]:
    try:
        _, reply = await aiosmtplib.send(
            message(subject, body=body), sender="a@example.org", recipients=[TOTO],
            hostname="127.0.0.1", port=h.mx, timeout=10, start_tls=False,
        )  # fmt: skip
    except aiosmtplib.SMTPResponseException as exc:
        return exc.code, exc.message
    return 250, reply


@pytest.mark.parametrize("handler", [garbage, silent], ids=["garbage", "slow"])
async def test_defer_answers_451_and_stores_nothing(harness: Harness, handler: Handler) -> None:
    server = await with_scanner(harness, handler, "defer")
    code, text = await send(harness, "deferred")
    server.close()
    assert (code, text.split()[0]) == (451, "4.7.1"), text
    assert harness.inbox() == []


@pytest.mark.parametrize("handler", [garbage, silent], ids=["garbage", "slow"])
async def test_accept_delivers_marked_unchecked(harness: Harness, handler: Handler) -> None:
    server = await with_scanner(harness, handler, "accept")
    code, text = await send(harness, "unchecked")
    server.close()
    assert code == 250, text
    [stored] = harness.inbox()
    assert b"\r\nX-Filter-Unchecked: rspamd (" in b"\r\n" + stored


async def test_fifty_clients_at_once_each_get_their_verdict(harness: Harness) -> None:
    server = await with_scanner(harness, fake_rspamd, "defer")
    bodies = {f"m{i}": ("SPAMSPAM\r\n" if i % 3 == 0 else "fine\r\n") for i in range(50)}
    results = await asyncio.gather(*(send(harness, s, b) for s, b in bodies.items()))
    server.close()
    for (subject, body), (code, text) in zip(bodies.items(), results, strict=True):
        assert code == (550 if "SPAM" in body else 250), (subject, text)
    stored = harness.inbox()
    assert len(stored) == sum(1 for b in bodies.values() if "SPAM" not in b)
    assert not any(b"SPAMSPAM" in m for m in stored)
