"""Dynamic DNS over HTTP: updates/s with keep-alive, and the delay from `good` to the new
answer in DNS (HTTP round trip included). Loopback only, bounded loops.

    .venv/bin/python bench/ddns_bench.py [--updates 2000] [--hosts 250]

Runs `swissbox serve` on free ports with production Argon2 parameters (the verified-login
cache makes repeated logins cheap, as for a router that updates every few minutes), one DDNS
user owning --hosts hosts, then sends --updates updates round-robin over the hosts (below the
per-host abuse limit), each followed at once by a UDP query for the host's A record.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dnslib import DNSRecord

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from swissbox.auth import HashParams, hash_secret  # noqa: E402
from swissbox.directory import Directory  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

USER, PASSWORD = "benchuser", "BenchPass2026"


def query_a(port: int, name: str) -> str | None:
    q = DNSRecord.question(name, "A")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(q.pack(), ("127.0.0.1", port))
        reply = DNSRecord.parse(s.recv(4096))
    return str(reply.rr[0].rdata) if reply.rr else None


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=250)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        stack.settings["auth"] = {}  # production Argon2 parameters
        stack.provision()
        d = Directory(stack.data / "swissbox.db")
        d.add_ddns_user(USER, hash_secret(PASSWORD, HashParams()))
        hosts = [f"h{i}.example.test" for i in range(args.hosts)]
        for host in hosts:
            d.add_ddns_host(host, USER)
        d.close()
        stack.start()
        try:
            auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            conn = http.client.HTTPConnection("127.0.0.1", stack.ports["http"], timeout=10)
            headers = {"Authorization": auth, "User-Agent": "swissbox-bench/1"}
            http_ms: list[float] = []
            visible_ms: list[float] = []
            stale = 0
            started = time.perf_counter()
            for i in range(args.updates):
                host = hosts[i % len(hosts)]
                ip = f"198.51.{(i // 250) % 250}.{i % 250 + 1}"
                t0 = time.perf_counter()
                conn.request("GET", f"/nic/update?hostname={host}&myip={ip}", headers=headers)
                body = conn.getresponse().read().decode().strip()
                t1 = time.perf_counter()
                if not body.startswith(("good", "nochg")):
                    raise SystemExit(f"update {i}: {body}")
                answer = query_a(stack.ports["dns"], host)
                t2 = time.perf_counter()
                if answer != ip:
                    stale += 1
                http_ms.append((t1 - t0) * 1000)
                visible_ms.append((t2 - t0) * 1000)
            elapsed = time.perf_counter() - started
            conn.close()
        finally:
            stack.stop()
    print(f"ddns updates over one keep-alive connection: {args.updates} on {args.hosts} hosts")
    print(f"  updates/s (update + DNS check each): {args.updates / elapsed:.0f}")
    print(
        f"  HTTP round trip  p50 {statistics.median(http_ms):.2f} ms  p99 {pct(http_ms, 0.99):.2f} ms"
    )
    print(
        f"  good -> new answer in DNS  p50 {statistics.median(visible_ms):.2f} ms"
        f"  p99 {pct(visible_ms, 0.99):.2f} ms  (target p99 < 50 ms)"
    )
    print(f"  next query showed the old address: {stale} of {args.updates} (target 0)")


if __name__ == "__main__":
    main()
