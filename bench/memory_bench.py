#!/usr/bin/env python3
"""Memory benchmark: the server's RSS while clients push large messages at it, and after.

Two loads against one `swissbox serve` (the test Stack: free loopback ports, cheap Argon2):

- appends: N parallel IMAP APPENDs of an M MB multipart message (a base64 attachment), one
  mailbox each; the literal is sent in 1 MB writes once the server says "+";
- stalled: S SMTP sessions that each send K MB of DATA, then stall (no final dot) while the
  RSS is sampled; then they all hang up.

Prints the server's RSS (VmRSS from /proc, sampled every 20 ms): idle, peak during each load,
and after each load (2 s after the last client finished or hung up), plus what each client
was told (OK / NO [LIMIT] ...; 354 then what the server said after the hang-up).

    python bench/memory_bench.py [--appends 8] [--append-mb 60] [--stalled 300] [--stalled-mb 1]
                                 [--same-user]

`--same-user` sends every APPEND to one mailbox (the per-user in-flight cap then answers).

Measured 2026-12-03 (2 vCPU shared VM), defaults, same script on both trees:
    before (literals and DATA held in memory)    idle 66 MiB; APPENDs peak 935, after 191;
                                                  stalled DATA 525, after close 525
    after (spooled to disk, in-flight caps)      idle 73 MiB; APPENDs peak 79, after 77;
                                                  stalled DATA 114, after close 89
    --same-user: 2 x OK, 6 x NO [LIMIT] (two 60 MB literals per user in flight), peak 78 MiB
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.stack import Stack  # noqa: E402

PASSWORD = "Bench-password-1"
DOMAIN = "bench.test"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    """Peak RSS of `pid` while running."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, rss_mib(self.pid))
            await asyncio.sleep(0.02)

    def __enter__(self) -> Sampler:
        self.peak = rss_mib(self.pid)
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.peak = max(self.peak, rss_mib(self.pid))


def big_message(mb: int) -> bytes:
    raw = os.urandom(mb * 1_000_000 * 57 // 78)  # base64 with CRLF every 76: 78/57
    b64 = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    return (
        b"From: bench@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        b"Content-Type: text/plain\r\n\r\nsee attachment\r\n--b1\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64
        + b"--b1--\r\n"
    )


async def imap_append(port: int, user: str, message: bytes) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        await reader.readline()
        writer.write(f"a LOGIN {user} {PASSWORD}\r\n".encode())
        while not (line := await reader.readline()).startswith(b"a "):
            pass
        if not line.startswith(b"a OK"):
            return line.decode().strip()
        writer.write(b"b APPEND INBOX {%d}\r\n" % len(message))
        line = await reader.readline()
        if not line.startswith(b"+"):
            return line.decode().strip()
        view = memoryview(message)
        for i in range(0, len(view), 1 << 20):
            writer.write(view[i : i + (1 << 20)])
            await writer.drain()
        writer.write(b"\r\n")
        while not (line := await reader.readline()).startswith(b"b "):
            pass
        return line.decode().strip()[:60]
    finally:
        writer.close()


async def stalled_data(port: int, mb: int, hold: asyncio.Event, started: list[int]) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await reader.readline()
        writer.write(b"HELO x\r\nMAIL FROM:<a@example.org>\r\n")
        writer.write(f"RCPT TO:<user0@{DOMAIN}>\r\nDATA\r\n".encode())
        for _ in range(4):
            line = await reader.readline()
        if not line.startswith(b"354"):
            return line.decode().strip()
        chunk = b"x" * 998 + b"\r\n"
        for _ in range(mb * 1024):
            writer.write(chunk)
        await writer.drain()
        started.append(1)
        await hold.wait()
        return "354, then hung up"
    finally:
        writer.transport.abort()


async def settle(pid: int) -> float:
    await asyncio.sleep(2)
    return rss_mib(pid)


async def run(args: argparse.Namespace, stack: Stack, pid: int) -> None:
    print(f"idle RSS: {rss_mib(pid):.0f} MiB")
    if args.appends:
        message = big_message(args.append_mb)
        users = [f"user{0 if args.same_user else i}@{DOMAIN}" for i in range(args.appends)]
        with Sampler(pid) as s:
            t0 = time.monotonic()
            results = await asyncio.gather(
                *(imap_append(stack.ports["imap"], u, message) for u in users)
            )
            elapsed = time.monotonic() - t0
        after = await settle(pid)
        print(
            f"{args.appends} parallel APPENDs of {len(message) / 1e6:.0f} MB"
            f" ({'one mailbox' if args.same_user else 'one mailbox each'}):"
            f" peak RSS {s.peak:.0f} MiB, after {after:.0f} MiB, {elapsed:.1f} s"
        )
        for text in sorted(set(results)):
            print(f"    {results.count(text)} x {text}")
    if args.stalled:
        hold = asyncio.Event()
        started: list[int] = []
        with Sampler(pid) as s:
            tasks = [
                asyncio.create_task(
                    stalled_data(stack.ports["smtp_mx"], args.stalled_mb, hold, started)
                )
                for _ in range(args.stalled)
            ]
            deadline = time.monotonic() + 120
            while len(started) + sum(t.done() for t in tasks) < args.stalled:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1)  # the server reads what the clients sent
            during = rss_mib(pid)
            hold.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        after = await settle(pid)
        print(
            f"{args.stalled} stalled SMTP DATA sessions of {args.stalled_mb} MB:"
            f" peak RSS {s.peak:.0f} MiB (stalled: {during:.0f}), after close {after:.0f} MiB"
        )
        texts = [str(r) for r in results]
        for text in sorted(set(texts)):
            print(f"    {texts.count(text)} x {text[:70]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appends", type=int, default=8)
    parser.add_argument("--append-mb", type=int, default=60)
    parser.add_argument("--stalled", type=int, default=300)
    parser.add_argument("--stalled-mb", type=int, default=1)
    parser.add_argument("--same-user", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="swissbox-membench-") as tmp:
        stack = Stack(
            Path(tmp),
            hostname="mx.bench.test",
            imap={"allow_plaintext_loopback": True},
            smtp={
                "max_connections_per_address": args.stalled + 50,
                "idle_timeout": 600,
                "max_message_size": 80_000_000,  # APPEND follows it: 60 MB literals fit
            },
        )
        users = {f"user{i}@{DOMAIN}": PASSWORD for i in range(max(args.appends, 1))}
        stack.provision(domain=DOMAIN, mailboxes=users)
        with stack:
            stack.start()
            assert stack.proc is not None
            asyncio.run(run(args, stack, stack.proc.pid))
            stack.stop()


if __name__ == "__main__":
    main()
