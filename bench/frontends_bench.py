#!/usr/bin/env python3
"""One front end against two: `swissbox serve` once or twice over one throwaway PostgreSQL and
one shared blob_path, the same SMTP ingress load (and then an IMAP body-FETCH load) split
evenly over the front ends; prints msg/s, CPU seconds per message of each swissbox process and
of PostgreSQL, and the ratio two/one.

    python bench/frontends_bench.py [--rounds 3] [--messages 2000] [--size 10240]
        [--sessions 20] [--readers 8] [--fetches 2] [--shared DIR]

Rounds alternate (one, two, one, two, ...), each on a fresh database, fresh data folders and a
fresh blob_path, so both shapes see the same noisy machine; the load average is printed with
each round. The load is the shared harness's smtp_blast.py (lock-step, one connection per message;
two client processes, aimed at one front end each when there are two, so the client side is the
same for both shapes) and, for IMAP, `--readers` clients (threads) each running `UID FETCH 1:* BODY.PEEK[]`
`--fetches` times over the delivered folder, spread over the front ends. CPU comes
from /proc (proctree.py: the process and its children, reaped ones included); PostgreSQL's is
the postmaster's tree, so every backend is in it. On 2 cores the client, PostgreSQL and the
front ends share the same CPUs: read the scaling off the CPU per message, not the rate.

Needs PostgreSQL's initdb/pg_ctl (Debian `postgresql`); state in a temporary folder.

Measured 2026-12-04 (2 vCPU shared VM, PostgreSQL on it too; two runs of --rounds 3, medians,
load average 0.2-2.8):
    SMTP  one 306 / 264 msg/s, two 409 / 379 (1.34x / 1.43x); CPU ms per message, one vs two:
          swissbox 2.89 / 3.48 vs 2.84 / 3.04 (1.41-1.55 per front end), PostgreSQL 0.59 / 0.70
          vs 0.62 / 0.69, all 3.48 / 4.19 vs 3.46 / 3.72 (ratio 0.99 / 0.89)
    IMAP  21-24k bodies/s either way (client-bound); swissbox 0.022-0.027 ms CPU per body
"""

from __future__ import annotations

import argparse
import imaplib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.postgres import PostgresServer, running_postgres  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

MAILBOX, PASSWORD = "user@example.test", "Bench-password-1"


def cpu_seconds(shared: Path, pid: int) -> float:
    """CPU of `pid` and its descendants, reaped ones included (the shared proctree.py)."""
    done = subprocess.run(
        [sys.executable, str(shared / "lib" / "proctree.py"), "cpu", str(pid)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


def postmaster_pid(server: PostgresServer) -> int:
    return int((server.data / "postmaster.pid").read_text().split()[0])


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def smtp_load(shared: Path, stacks: list[Stack], a: argparse.Namespace, clients: int = 2) -> float:
    """Sends `a.messages` over `a.sessions` from `clients` client processes, each aimed at one
    front end in turn (the same client side for one front end as for two); returns seconds."""
    blast = shared / "smtp" / "smtp_blast.py"
    t = time.perf_counter()
    common = [sys.executable, str(blast), "--host", "127.0.0.1", "-l", str(a.size),
              "--to", MAILBOX, "--from", "far@away.example", "--deadline", "600"]  # fmt: skip
    ports = [stacks[i % len(stacks)].ports["smtp_mx"] for i in range(clients)]
    shares = zip(ports, split(a.messages, clients), split(a.sessions, clients), strict=True)
    procs = [
        subprocess.Popen(
            [*common, "--port", str(port), "-m", str(m), "-s", str(s)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for port, m, s in shares
    ]
    outs = [proc.communicate(timeout=700) for proc in procs]
    took = time.perf_counter() - t
    for proc, (out, err) in zip(procs, outs, strict=True):
        if proc.returncode != 0 or " fail=0 " not in out:
            raise SystemExit(f"smtp_blast failed: {out}{err}")
    return took


def fetch_all(port: int, expected: int, times: int, errors: list[str]) -> None:
    try:
        imap = imaplib.IMAP4("127.0.0.1", port, timeout=120)
        imap.login(MAILBOX, PASSWORD)
        imap.select("INBOX", readonly=True)
        for _ in range(times):
            typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
            got = sum(1 for item in data if isinstance(item, tuple))
            if typ != "OK" or got != expected:
                errors.append(f"FETCH on {port}: {typ} {got}/{expected}")
        imap.logout()
    except (OSError, imaplib.IMAP4.error) as exc:
        errors.append(f"FETCH on {port}: {exc!r}")


def imap_load(stacks: list[Stack], readers: int, expected: int, times: int) -> float:
    """`readers` clients (spread over the front ends) each fetch every body `times` times;
    returns seconds."""
    errors: list[str] = []
    threads = [
        threading.Thread(
            target=fetch_all, args=(stacks[i % len(stacks)].ports["imap"], expected, times, errors)
        )
        for i in range(readers)
    ]
    t = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    took = time.perf_counter() - t
    if errors or any(thread.is_alive() for thread in threads):
        raise SystemExit(f"IMAP load failed: {errors}")
    return took


def one_round(
    shared: Path, server: PostgresServer, folder: Path, count: int, a: argparse.Namespace
) -> dict[str, float]:
    """A fresh database, `count` front ends and blob_path; both loads; the figures."""
    store = {"url": server.new_database(), "blob_path": str(folder / "blobs")}
    overrides: dict[str, dict[str, Any]] = {
        "store": store,
        "smtp": {"max_connections_per_address": 200},
        "imap": {"allow_plaintext_loopback": True},
    }
    started = time.perf_counter()
    stacks = [Stack(folder / f"fe{i}", "mx.example.test", **overrides) for i in range(count)]
    stacks[0].provision(mailboxes={MAILBOX: PASSWORD})
    for stack in stacks[1:]:
        stack.init()
    load1, load5, _ = os.getloadavg()
    out: dict[str, float] = {"load1": load1, "load5": load5}
    try:
        for stack in stacks:
            stack.start(timeout=60)
        pg = postmaster_pid(server)
        procs = [pg] + [stack.proc.pid for stack in stacks if stack.proc]
        for name, run, units in (
            ("smtp", lambda: smtp_load(shared, stacks, a), a.messages),
            (
                "imap",
                lambda: imap_load(stacks, a.readers, a.messages, a.fetches),
                a.readers * a.messages * a.fetches,
            ),
        ):
            if name == "imap" and not a.readers:
                continue
            before = [cpu_seconds(shared, pid) for pid in procs]
            took = run()
            after = [cpu_seconds(shared, pid) for pid in procs]
            used = [y - x for x, y in zip(before, after, strict=True)]
            out[f"{name}_per_s"] = units / took
            out[f"{name}_pg_cpu_ms"] = used[0] / units * 1000
            for i, value in enumerate(used[1:]):
                out[f"{name}_fe{i}_cpu_ms"] = value / units * 1000
            out[f"{name}_swissbox_cpu_ms"] = sum(used[1:]) / units * 1000
            out[f"{name}_all_cpu_ms"] = sum(used) / units * 1000
        maildir = folder / "blobs" / "mail" / "example.test" / "user"
        files = sum(1 for d in ("new", "cur") for _ in (maildir / d).glob("*"))
        if files != a.messages:
            raise SystemExit(f"{files} message files in {maildir}, expected {a.messages}")
        for stack in stacks:
            stack.stop(30)
    finally:
        for stack in stacks:
            stack.kill()
    out["load1_after"] = os.getloadavg()[0]
    out["round_s"] = time.perf_counter() - started
    return out


def shown(values: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.0f}" if v >= 100 else f"{k}={v:.3g}" for k, v in values.items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "bench")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each shape, alternating")
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--size", type=int, default=10240, help="payload bytes per message")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--readers", type=int, default=8, help="IMAP clients fetching (0: skip)")
    ap.add_argument("--fetches", type=int, default=2, help="whole-folder FETCHes per reader")
    a = ap.parse_args()
    if not (a.shared / "smtp" / "smtp_blast.py").exists():
        raise SystemExit(f"{a.shared}/smtp/smtp_blast.py missing (the shared bench; --shared DIR)")
    rows: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    folder = Path(tempfile.mkdtemp(prefix="swissbox-frontends-bench-"))
    os.chmod(folder, 0o755)
    try:
        with running_postgres(folder / "pg") as server:
            for r in range(a.rounds):
                for count in (1, 2):
                    work = folder / f"r{r}-{count}"
                    row = one_round(a.shared, server, work, count, a)
                    shutil.rmtree(work, ignore_errors=True)
                    rows[count].append(row)
                    print(
                        f"round {r + 1}, {count} front end(s): " + shown(row),
                        flush=True,
                    )
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    medians = {
        count: {k: statistics.median(row[k] for row in found) for k in found[0]}
        for count, found in rows.items()
    }
    print(f"\n== medians of {a.rounds} alternating rounds ==")
    for count, values in medians.items():
        print(f"{count} front end(s): " + shown(values))
    for key in medians[1]:
        if medians[1][key] and not key.startswith(("load", "round", "smtp_fe", "imap_fe")):
            print(f"ratio two/one {key}: {medians[2][key] / medians[1][key]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
