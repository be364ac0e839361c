"""A scanner that is down, slow or answers garbage: fail open with a header, or defer with
451, within the timeout, as configured; the event loop keeps serving meanwhile."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from swissbox.filter.base import UNCHECKED_FIELD, Action, FailurePolicy, Request
from swissbox.filter.clamd import ClamdScanner
from swissbox.filter.rspamd import RspamdScanner

REQUEST = Request(
    b"Subject: x\r\n\r\nbody\r\n", "192.0.2.1", "helo.test", "a@x.test", ("b@y.test",), "Q1"
)
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot json!")
    await writer.drain()
    writer.close()


async def _not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    writer.write(b"SSH-2.0-OpenSSH\r\n")
    writer.close()


async def _slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(30)


async def _clamd_garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    writer.write(b"\x00\x01\x02 whatever\0")
    writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> int:
        srv = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(srv)
        return int(srv.sockets[0].getsockname()[1])

    yield start
    for srv in servers:
        srv.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("on_failure", ["accept", "defer"])
@pytest.mark.parametrize("kind", ["down", "garbage", "not http", "slow"])
async def test_rspamd_failures(server, kind: str, on_failure: str) -> None:  # type: ignore[no-untyped-def]
    handlers = {"garbage": _garbage, "not http": _not_http, "slow": _slow}
    port = closed_port() if kind == "down" else await server(handlers[kind])
    scanner = RspamdScanner(FailurePolicy(0.3, on_failure), f"http://127.0.0.1:{port}")
    ticks = 0

    async def ticker() -> None:  # the loop keeps running other work while the check waits
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.ensure_future(ticker())
    verdict = await scanner.check(REQUEST)
    task.cancel()
    if on_failure == "defer":
        assert verdict.action is Action.DEFER
        assert verdict.reply is not None and verdict.reply.startswith("451 4.7.1")
    else:
        assert verdict.action is Action.ACCEPT and verdict.unchecked
        # the reason stays in the log: the field leaves with the message
        assert verdict.headers == (f"{UNCHECKED_FIELD}: rspamd (unavailable)",)
    if kind == "slow":
        assert ticks > 5


@pytest.mark.parametrize("on_failure", ["accept", "defer"])
async def test_clamd_garbage_and_down(server, on_failure: str) -> None:  # type: ignore[no-untyped-def]
    port = await server(_clamd_garbage)
    for address in (f"127.0.0.1:{port}", f"127.0.0.1:{closed_port()}", "/nonexistent/clamd.sock"):
        verdict = await ClamdScanner(FailurePolicy(1.0, on_failure), address).check(REQUEST)
        expected = Action.DEFER if on_failure == "defer" else Action.ACCEPT
        assert verdict.action is expected, address
