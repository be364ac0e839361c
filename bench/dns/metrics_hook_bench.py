#!/usr/bin/env python3
"""What counting DNS answers for /metrics costs on the UDP hot path.

Times `Engine.handle_udp` on answer-cache hits (the path nearly every query takes) against
the same function without the counting line, in interleaved rounds on one engine, and puts
the difference beside the cost of the two syscalls each UDP query needs anyway
(recvfrom + sendto on loopback). Also times the scrape-side fold of the tally.

Usage: bench/dns/metrics_hook_bench.py [--calls 200000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dnslib import DNSRecord  # noqa: E402

from swissbox import metrics  # noqa: E402
from swissbox.dns.catalog import Catalog  # noqa: E402
from swissbox.dns.engine import Engine  # noqa: E402
from tests.unit.dns.kit import make_directory  # noqa: E402


def uncounted(engine: Engine, data: bytes, client: str) -> bytes | None:
    """Engine.handle_udp as it was before the metrics line."""
    hit = engine.udp_cache.get(data[2:])
    if hit is not None:
        return data[:2] + hit
    out = engine.handle(data, client, False)
    return out[0] if isinstance(out, list) and out else None


def per_call(fn, engine: Engine, queries: list[bytes], calls: int) -> float:  # type: ignore[no-untyped-def]
    n = len(queries)
    start = time.perf_counter()
    for i in range(calls):
        fn(engine, queries[i % n], "127.0.0.1")
    return (time.perf_counter() - start) / calls * 1e9


def syscall_cost(calls: int) -> float:
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    payload, target = b"x" * 60, a.getsockname()
    start = time.perf_counter()
    for _ in range(calls):
        b.sendto(payload, target)
        a.recvfrom(65535)
    elapsed = time.perf_counter() - start
    a.close()
    b.close()
    return elapsed / calls * 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = make_directory(Path(tmp))
        catalog = Catalog(directory)
        catalog.refresh(force=True)
        engine = Engine(catalog.zones)
        names = ["web", "mx", "ns1", "nope", "www"]
        queries = [bytes(DNSRecord.question(f"{n}.example.test", "A").pack()) for n in names]
        for q in queries:  # fill the answer cache
            engine.handle_udp(q, "127.0.0.1")
        with_hook, without = [], []
        for _ in range(args.rounds):
            without.append(per_call(uncounted, engine, queries, args.calls))
            with_hook.append(per_call(Engine.handle_udp, engine, queries, args.calls))
            metrics.fold_dns()
        directory.close()
    base, counted = statistics.median(without), statistics.median(with_hook)
    sys_ns = syscall_cost(50_000)
    print(f"cache hit, no counting   {base:7.0f} ns/query (median of {args.rounds} rounds)")
    print(f"cache hit, counting      {counted:7.0f} ns/query")
    print(f"counting costs           {counted - base:7.0f} ns/query ({(counted / base - 1):+.1%})")
    print(f"sendto + recvfrom        {sys_ns:7.0f} ns/query (paid by every UDP query anyway)")
    print(f"share of a hit's work    {(counted - base) / (counted + sys_ns):7.1%}")
    for distinct in (1_000, metrics.DNS_FOLD_AT):
        for i in range(distinct):
            metrics.DNS_ANSWERS[b"\x84\x00\x00\x01" + i.to_bytes(4, "big")] = 3
        start = time.perf_counter()
        metrics.fold_dns()
        print(
            f"scrape fold of {distinct:6d} distinct answers: {(time.perf_counter() - start) * 1e3:.1f} ms"
        )


if __name__ == "__main__":
    main()
