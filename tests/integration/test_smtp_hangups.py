"""Senders that hang up at the worst moments (mid-DATA, right after the final dot, while the
250 is on its way) never change the answer of anyone else: every good sender gets 250, and
every message that got a 250 is stored exactly once."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from pathlib import Path

import pytest

from tests.unit.smtp.harness import TOTO, Harness, Raw, run

GOOD_SENDERS = 4
VANISHERS = 8
TARGET_ACKS = 120
MODES = ("mid-data", "after-dot", "half-close", "during-250")


def body(kind: str, n: int) -> bytes:
    return f"Subject: {kind}-{n}\r\nMessage-ID: <{kind}.{n}@x>\r\n\r\n".encode() + b"y" * 2000


async def envelope(raw: Raw) -> None:
    for line in ("EHLO hangup.example", "MAIL FROM:<a@example.org>", f"RCPT TO:<{TOTO}>"):
        reply = await raw.cmd(line)
        assert reply.startswith("250"), reply
    assert (await raw.cmd("DATA")).startswith("354")


async def vanish(h: Harness, mode: str, n: int) -> None:
    raw = await Raw.connect(h.mx)
    try:
        await envelope(raw)
        data = body("gone", n)
        if mode == "mid-data":
            await raw.send(data[:1000])
        elif mode == "after-dot":
            await raw.send(data + b"\r\n.\r\n")
        elif mode == "half-close":
            await raw.send(data + b"\r\n.\r\n")
            raw.writer.write_eof()
            await asyncio.sleep(0)
        else:  # during-250: QUIT pipelined behind the dot, then gone before any reply
            await raw.send(data + b"\r\n.\r\nQUIT\r\n")
    finally:
        raw.writer.transport.abort()  # RST: the server sees the loss at once


def stored(h: Harness, kind: str) -> list[int]:
    found = []
    for raw in h.inbox(TOTO):
        m = re.search(rb"Subject: (\w+)-(\d+)\r\n", raw)
        assert m is not None
        if m.group(1).decode() == kind:
            found.append(int(m.group(2)))
    return found


def test_hangups_never_fail_other_senders(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    acked: set[int] = set()
    failures: list[str] = []
    counter = itertools.count()

    async def good(h: Harness, done: asyncio.Event) -> None:
        raw = await Raw.connect(h.mx)
        assert (await raw.cmd("EHLO good.example")).startswith("250")
        while not done.is_set():
            n = next(counter)
            for line in ("MAIL FROM:<a@example.org>", f"RCPT TO:<{TOTO}>", "DATA"):
                reply = await raw.cmd(line)
                assert reply[:3] in ("250", "354"), reply
            reply = await raw.cmd(body("good", n) + b"\r\n.\r\n")
            if reply.startswith("250"):
                acked.add(n)
            else:
                failures.append(reply)
                await raw.cmd("RSET")
        await raw.cmd("QUIT")
        await raw.close()

    async def vanisher(h: Harness, i: int, done: asyncio.Event) -> None:
        for round_ in itertools.count():
            if done.is_set():
                return
            n = next(counter)
            await vanish(h, MODES[(i + round_) % len(MODES)], n)

    async def main(h: Harness) -> None:
        done = asyncio.Event()
        tasks = [asyncio.create_task(good(h, done)) for _ in range(GOOD_SENDERS)]
        tasks += [asyncio.create_task(vanisher(h, i, done)) for i in range(VANISHERS)]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while len(acked) + len(failures) < TARGET_ACKS and loop.time() < deadline:
            if any(t.done() and t.exception() for t in tasks):
                break
            await asyncio.sleep(0.01)
        done.set()
        await asyncio.gather(*tasks)
        good_stored = stored(h, "good")
        assert failures == [], failures[:3]
        assert len(acked) >= TARGET_ACKS
        assert sorted(good_stored) == sorted(acked)  # each 250 stored once, nothing else
        gone = stored(h, "gone")
        assert len(gone) == len(set(gone))  # a vanished sender's message: at most once

    run(tmp_path, main, max_connections_per_address=100)
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert tracebacks == [], [r.getMessage() for r in tracebacks[:3]]
