#!/usr/bin/env python3
"""Login storm: N simultaneous first IMAP logins at the production Argon2 cost (64 MiB, t=3,
p=4), right and wrong passwords mixed, against one `swissbox serve` (the test Stack: free
loopback ports). Prints what the clients were told (OK / AUTHENTICATIONFAILED / UNAVAILABLE /
other), login latency percentiles, the server's peak RSS, and whether it still logs people
in afterwards.

    python bench/login_storm.py [--clients 200] [--mailboxes 20] [--workers 2]

The bound it shows: at most `[auth] verify_workers` Argon2 runs at once (each 64 MiB), the rest
wait in a bounded queue for at most `verify_timeout` seconds and are then told to try later.

Measured 2026-12-03 (2 vCPU shared VM, other work running), defaults:
    200 simultaneous first logins over 20 mailboxes in 20.1 s
      told: AUTHENTICATIONFAILED 47, OK 94, UNAVAILABLE 59
      latency p50 12.07 s, p99 20.10 s, max 20.10 s
      server RSS idle 73 MiB, peak 207 MiB; a login afterwards: OK
    (before the verification pool: two such logins at once never returned, and every later
    uncached login failed)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from swissbox.auth import HashParams, hash_secret  # noqa: E402
from swissbox.conf import load  # noqa: E402
from swissbox.directory import Directory  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

DOMAIN = "storm.test"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def login(port: int, user: str, password: str) -> tuple[str, float]:
    t0 = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await reader.readline()
        writer.write(f'a LOGIN {user} "{password}"\r\n'.encode())
        while not (line := await reader.readline()).startswith(b"a "):
            if not line:
                return "closed", time.monotonic() - t0
        text = line.decode()
        for word in ("AUTHENTICATIONFAILED", "UNAVAILABLE"):
            if word in text:
                return word, time.monotonic() - t0
        return ("OK" if text.startswith("a OK") else text.strip()[:40]), time.monotonic() - t0
    finally:
        writer.close()


async def storm(stack: Stack, pid: int, clients: int, mailboxes: int) -> None:
    port = stack.ports["imap"]
    peak = rss_mib(pid)
    idle = peak

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, rss_mib(pid))
            await asyncio.sleep(0.02)

    sampler = asyncio.ensure_future(sample())
    jobs = []
    for i in range(clients):
        n = i % mailboxes
        right = i % 3 != 0
        jobs.append(login(port, f"u{n}@{DOMAIN}", f"password-{n}" + ("" if right else "-x")))
    t0 = time.monotonic()
    results = await asyncio.gather(*jobs)
    elapsed = time.monotonic() - t0
    sampler.cancel()
    told: dict[str, int] = {}
    for answer, _ in results:
        told[answer] = told.get(answer, 0) + 1
    latencies = sorted(t for _, t in results)
    after, _ = await login(port, f"u0@{DOMAIN}", "password-0")
    print(f"{clients} simultaneous first logins over {mailboxes} mailboxes in {elapsed:.1f} s")
    print("  told: " + ", ".join(f"{k} {v}" for k, v in sorted(told.items())))
    print(
        f"  latency p50 {statistics.median(latencies):.2f} s, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1]:.2f} s, max {latencies[-1]:.2f} s"
    )
    print(f"  server RSS idle {idle:.0f} MiB, peak {peak:.0f} MiB; a login afterwards: {after}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--mailboxes", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    production = HashParams()
    with (
        tempfile.TemporaryDirectory() as tmp,
        Stack(
            Path(tmp),
            auth={
                "argon2_memory_kib": production.memory_kib,
                "argon2_iterations": production.iterations,
                "argon2_lanes": production.lanes,
                "login_cache_seconds": 0,
                "max_failures_per_address": 100000,
                "max_failures_per_identifier": 1000,
                "lockout_distributed_addresses": 100000,
                "failure_delay_base": 0.0,
                "verify_workers": args.workers,
            },
            imap={"allow_plaintext_loopback": True},
        ) as stack,
    ):
        stack.init()
        stack.cli("org", "add", "storm", check=True)
        stack.cli("domain", "add", DOMAIN, "--org", "storm", check=True)
        stack.cli("mail", "enable", DOMAIN, check=True)
        with Directory(load(data=str(stack.data)).directory_location) as d:
            for n in range(args.mailboxes):
                d.add_mailbox(f"u{n}@{DOMAIN}", hash_secret(f"password-{n}", production))
        stack.start()
        assert stack.proc is not None
        asyncio.run(storm(stack, stack.proc.pid, args.clients, args.mailboxes))
        stack.stop()


if __name__ == "__main__":
    main()
