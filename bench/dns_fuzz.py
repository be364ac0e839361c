#!/usr/bin/env python3
"""DNS mutation fuzz: 50,000 broken queries (tests/unit/dns/kit.py `mutations`) over UDP to an
in-process swissbox DNS service on loopback, a good query every 500 packets.

Prints what came back (by rcode, silence), the good queries' worst latency, the packet rate,
and every log line at WARNING or above (tracebacks counted apart). With --peers, the same
packets go to NSD and Knot serving the same zone, for comparison.

Usage: bench/dns_fuzz.py [--count 50000] [--seed 1] [--peers]
Loopback only; NSD/Knot (when asked for) are stopped by their PID.
"""

from __future__ import annotations

import argparse
import collections
import logging
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.zone

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.clients.test_dns_differential import knot_conf, nsd_conf  # noqa: E402
from tests.unit.dns.kit import (  # noqa: E402
    ZONE,
    ServerThread,
    free_port,
    make_directory,
    mutations,
    query,
)

GOOD = query("web.example.test", qid=65535)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def fuzz(addr: str, port: int, count: int, seed: int) -> dict[str, object]:
    rcodes: collections.Counter[str] = collections.Counter()
    unparseable = 0
    worst_good = 0.0
    good_lost = 0
    started = time.perf_counter()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((addr, port))

        def drain(wait: float) -> None:
            nonlocal unparseable
            while select.select([s], [], [], wait)[0]:
                wait = 0.0
                data = s.recv(65535)
                if data[:2] == GOOD[:2]:
                    continue  # a late good answer
                try:
                    rcodes[dns.rcode.to_text(dns.message.from_wire(data).rcode())] += 1
                except Exception:
                    unparseable += 1

        for i, packet in enumerate(mutations(count, seed)):
            s.send(packet)
            if i % 64 == 63:
                drain(0.0005)
            if i % 500 == 499:
                drain(0.01)
                t = time.perf_counter()
                s.send(GOOD)
                ok = False
                while select.select([s], [], [], 2.0)[0]:
                    data = s.recv(65535)
                    if data[:2] == GOOD[:2]:
                        ok = True
                        break
                    try:
                        rcodes[dns.rcode.to_text(dns.message.from_wire(data).rcode())] += 1
                    except Exception:
                        unparseable += 1
                good_lost += not ok
                worst_good = max(worst_good, time.perf_counter() - t)
        drain(0.5)
    elapsed = time.perf_counter() - started
    answered = sum(rcodes.values()) + unparseable
    return {
        "sent": count,
        "answered": answered,
        "silent": count - answered,
        "rcodes": dict(rcodes.most_common()),
        "unparseable": unparseable,
        "good lost": good_lost,
        "good worst ms": round(worst_good * 1000, 2),
        "packets/s": round(count / elapsed),
        "seconds": round(elapsed, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--peers", action="store_true", help="also fuzz NSD and Knot")
    args = parser.parse_args()
    collect = Collect()
    logging.getLogger("swissbox").addHandler(collect)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "swissbox"
        data.mkdir()
        make_directory(data).close()
        with ServerThread(data, allow_transfer=["127.0.0.1"]) as srv:
            results = {"swissbox": fuzz(srv.host, srv.port, args.count, args.seed)}
            if args.peers:
                zone = dns.zone.from_xfr(dns.query.xfr(srv.host, ZONE, port=srv.port))
                zonefile = Path(tmp) / "zone"
                zone.to_file(str(zonefile), relativize=False)
                for name, addr, make in (
                    ("nsd", "127.0.0.2", nsd_conf),
                    ("knot", "127.0.0.3", knot_conf),
                ):
                    d = Path(tmp) / name
                    d.mkdir()
                    port = free_port(addr)
                    proc = subprocess.Popen(
                        make(d, addr, port, zonefile),
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    try:
                        deadline = time.monotonic() + 15
                        while time.monotonic() < deadline:
                            try:
                                dns.query.udp(dns.message.from_wire(GOOD), addr, 0.2, port)
                                break
                            except Exception:
                                time.sleep(0.1)
                        results[name] = fuzz(addr, port, args.count, args.seed)
                    finally:
                        proc.send_signal(signal.SIGTERM)
                        proc.wait(10)
    tracebacks = sum(1 for r in collect.records if r.exc_info)
    for name, figures in results.items():
        print(f"{name}:")
        for key, value in figures.items():
            print(f"  {key:14} {value}")
    print(f"swissbox log lines at WARNING+: {len(collect.records)} (tracebacks: {tracebacks})")
    for record in collect.records[:10]:
        print("  ", record.levelname, record.getMessage()[:200])
    return 1 if tracebacks or results["swissbox"]["good lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
