"""Concurrency: 200 simultaneous sessions; stuck and hostile clients do not slow the others."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiosmtplib

from tests.unit.smtp.harness import TOTO, Raw, message, running

SESSIONS = 200


def test_200_simultaneous_sessions_with_stuck_and_hostile_clients(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(tmp_path, max_connections_per_address=1000, idle_timeout=60) as h:
            # stuck: half a command, then nothing; hostile: DATA trickled byte by byte
            stuck = [await Raw.connect(h.mx) for _ in range(5)]
            for r in stuck:
                await r.send(b"MAIL FROM:<slow@example.org")
            hostile = await Raw.connect(h.mx)
            await hostile.cmd("EHLO h")
            await hostile.cmd("MAIL FROM:<h@example.org>")
            await hostile.cmd(f"RCPT TO:<{TOTO}>")
            await hostile.cmd("DATA")

            async def trickle() -> None:
                await hostile.send(b"Subject: slow\r\n\r\n")
                while True:  # until cancelled
                    await hostile.send(b"x")
                    await asyncio.sleep(0.005)

            trickler = asyncio.create_task(trickle())
            gate = asyncio.Event()
            latencies: list[float] = []

            async def one(i: int) -> None:
                client = aiosmtplib.SMTP(
                    hostname="127.0.0.1", port=h.mx, start_tls=False, timeout=30
                )
                await client.connect()
                await client.ehlo()
                await gate.wait()  # every session open at once before any mail moves
                t0 = time.monotonic()
                await client.sendmail("a@example.org", [TOTO], message(f"load {i}"))
                latencies.append(time.monotonic() - t0)
                await client.quit()

            tasks = [asyncio.create_task(one(i)) for i in range(SESSIONS)]
            while len(h.service.tracker.sessions) < SESSIONS + 6:  # type: ignore[union-attr]
                await asyncio.sleep(0.01)
            t0 = time.monotonic()
            gate.set()
            await asyncio.gather(*tasks)
            elapsed = time.monotonic() - t0
            assert len(h.inbox(TOTO)) == SESSIONS
            assert elapsed < 15, elapsed
            assert max(latencies) < 10
            # the stuck clients are still there, untouched, and the trickler is still going
            assert not trickler.done()
            trickler.cancel()
            for r in [*stuck, hostile]:
                await r.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_stuck_client_does_not_delay_a_normal_one(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(tmp_path) as h:
            stuck = await Raw.connect(h.mx)
            await stuck.send(
                b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<toto@abc.xyz>\r\nDATA\r\n"
            )
            await stuck.send(b"Subject: never ends\r\n\r\n" + b"y" * 30000)  # no end of DATA
            t0 = time.monotonic()
            async with aiosmtplib.SMTP(hostname="127.0.0.1", port=h.mx, start_tls=False) as c:
                await c.sendmail("a@example.org", [TOTO], message())
            assert time.monotonic() - t0 < 1.0
            assert len(h.inbox(TOTO)) == 1
            await stuck.close()

    asyncio.run(asyncio.wait_for(main(), 30))
