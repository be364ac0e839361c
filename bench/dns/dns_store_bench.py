#!/usr/bin/env python3
"""DNS answers with the directory on SQLite and on PostgreSQL: `swissbox serve` answering one
client over loopback UDP (a cached answer each time), its CPU per answer and queries per second.

On PostgreSQL a zone change made elsewhere arrives on the event bus, so answering costs no
database round trip; this shows whether that holds (PostgreSQL near SQLite).

Usage: bench/dns/dns_store_bench.py [--queries 50000] [--window 1] [--rounds 3]
(--window: queries in flight at once). Needs PostgreSQL's initdb (make test-tools); every
process it starts is stopped.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dnslib import DNSRecord  # noqa: E402

from tests.support.postgres import running_postgres  # noqa: E402
from tests.support.stack import Stack  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def blast(port: int, queries: int, window: int) -> tuple[int, float]:
    """(answers, seconds) for `queries` queries with at most `window` in flight."""
    packets = [DNSRecord.question(f"h{i}.example.test", "A").pack() for i in range(64)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        sent = answered = lost = 0
        started = time.perf_counter()
        while answered + lost < queries:
            while sent - answered - lost < window and sent < queries:
                s.send(packets[sent % len(packets)])
                sent += 1
            try:
                s.recv(4096)
                answered += 1
            except TimeoutError:
                lost = sent - answered
        return answered, time.perf_counter() - started


def measure(store: dict[str, str], queries: int, window: int) -> tuple[float, float]:
    """(answers per second, server CPU microseconds per answer)."""
    with tempfile.TemporaryDirectory(prefix="dns-store-bench-") as folder:
        stack = Stack(Path(folder), store=store)
        stack.provision()
        stack.cli("dns", "add", "example.test", "h0", "A", "192.0.2.1", check=True)
        with stack:
            stack.start()
            assert stack.proc is not None
            blast(stack.ports["dns"], queries // 5, window)  # warm the answer cache
            before = cpu_seconds(stack.proc.pid)
            answered, seconds = blast(stack.ports["dns"], queries, window)
            used = cpu_seconds(stack.proc.pid) - before
            stack.stop()
    return answered / seconds, used * 1e6 / answered


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--queries", type=int, default=50_000)
    ap.add_argument("--window", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with running_postgres(Path(tempfile.mkdtemp(prefix="dns-store-bench-pg-"))) as server:
        for n in range(args.rounds):
            for name, store in (("sqlite", {}), ("postgresql", {"url": server.new_database()})):
                rate, cpu = measure(store, args.queries, args.window)
                print(f"round {n + 1} {name:<10} {rate:>8.0f} q/s  server CPU {cpu:5.1f} us/answer")


if __name__ == "__main__":
    main()
