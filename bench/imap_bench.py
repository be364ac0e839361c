#!/usr/bin/env python3
"""IMAP benchmark: swissbox vs Dovecot on the same generated Maildir, one run.

Drives the shared peer harness (`imap/peer_imap.sh` in the shared bench folder, see its
README): a 10,000-message Maildir; LOGIN+SELECT, `UID FETCH 1:* (FLAGS INTERNALDATE
RFC822.SIZE ENVELOPE)`, `UID SEARCH HEADER Subject`, 100 bodies (one command / one each);
1 cold + 3 warm rounds per server. swissbox serves the Maildir after `swissbox mailbox import`
(plaintext LOGIN on loopback, like the Dovecot peer). Then, on swissbox only: RSS with N idle
IDLE connections, and SELECT/FETCH times on a 100,000-message Maildir (--big).

    python bench/imap_bench.py [--shared DIR] [--skip-dovecot] [--idle 1000] [--big]
    python bench/imap_bench.py --postgres [--skip-dovecot --idle 0]

--postgres: the same rounds once more with `[store] url` on a throwaway PostgreSQL server
(initdb in a temporary folder, as tests/support/postgres.py does), then a table of the
PostgreSQL figures against the SQLite ones.

Server state lives under $BENCH_WORK/swissbox-imap (default /tmp/bench-work), never in the repo.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADDRESS, PASSWORD = "user@bench.test", "benchpass"
WORK = Path(os.environ.get("BENCH_WORK", "/tmp/bench-work"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def swissbox(data: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "swissbox.cli", *args, "--data", str(data)],
        input=stdin,
        text=True,
        capture_output=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"swissbox {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout


def prepare(data: Path, port: int, maildir: Path, store_url: str = "") -> float:
    """A fresh data folder with the Maildir imported; returns the import time. `store_url`:
    directory and mail index in that PostgreSQL database."""
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    ports = {
        "smtp": {
            "mx_port": free_port(),
            "submission_port": free_port(),
            "submissions_port": free_port(),
        },
        "imap": {"port": port, "tls_port": free_port(), "allow_plaintext_loopback": "true"},
        "dns": {"port": free_port()},
        "http": {"port": free_port(), "tls_port": free_port()},
        "managesieve": {"port": free_port()},
        "metrics": {"port": free_port()},
    }
    lines = ["[server]", 'hostname = "mx.bench.test"', 'log_level = "warning"']
    for section, values in ports.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {v}" for k, v in values.items()]
    if store_url:
        lines += ["[store]", f'url = "{store_url}"']
    (data / "swissbox.toml").write_text("\n".join(lines) + "\n")
    swissbox(data, "init")
    swissbox(data, "org", "add", "bench")
    swissbox(data, "domain", "add", "bench.test", "--org", "bench")
    swissbox(data, "mail", "enable", "bench.test")
    swissbox(data, "mailbox", "add", ADDRESS, "--password-stdin", stdin=PASSWORD + "\n")
    t = time.perf_counter()
    print(swissbox(data, "mailbox", "import", ADDRESS, str(maildir)).strip(), flush=True)
    return time.perf_counter() - t


def serve(data: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "swissbox.cli", "serve", "--data", str(data)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(data / "serve.log").open("wb"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit((data / "serve.log").read_text()) from None
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("swissbox did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def harness(shared: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full = dict(os.environ, **(env or {}))
    done = subprocess.run(
        ["bash", str(shared / "imap" / "peer_imap.sh"), *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"peer_imap.sh {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def figures(output: str, marker: str, label: str = "") -> dict[str, float]:
    """The name=value figures after `marker` on the first harness line with `marker` and
    `label` (" median:" for the warm medians, " cold:" for the cold round)."""
    for line in output.splitlines():
        if marker in line and label in line:
            return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line.split(marker)[1])}
    return {}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def idle_connections(port: int, count: int, pid: int) -> tuple[float, float, float]:
    """(RSS before, RSS with `count` sessions in IDLE, seconds to set them up)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 200)), hard))
    before = rss_mib(pid)
    socks = []
    t = time.perf_counter()

    def expect(sock: socket.socket, tag: bytes) -> None:
        buf = b""
        while not any(line.startswith(tag) for line in buf.split(b"\r\n")):
            chunk = sock.recv(65536)
            if not chunk:
                raise SystemExit(f"connection closed: {buf[-200:]!r}")
            buf += chunk

    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.recv(4096)
        s.sendall(f"a LOGIN {ADDRESS} {PASSWORD}\r\nb SELECT INBOX\r\nc IDLE\r\n".encode())
        expect(s, b"+ ")
        socks.append(s)
    setup = time.perf_counter() - t
    time.sleep(2)
    during = rss_mib(pid)
    for s in socks:
        s.close()
    return before, during, setup


def big_round(port: int, count: int) -> dict[str, float]:
    import imaplib

    out = {}
    t = time.perf_counter()
    m = imaplib.IMAP4("127.0.0.1", port, timeout=600)
    m.login(ADDRESS, PASSWORD)
    typ, data = m.select("INBOX")
    out["login_select_s"] = time.perf_counter() - t
    assert int(data[0]) == count, data
    t = time.perf_counter()
    typ, data = m.uid("FETCH", "1:*", "(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)")
    out["fetch_meta_s"] = time.perf_counter() - t
    assert typ == "OK" and len(data) >= count
    t = time.perf_counter()
    m.uid("FETCH", "1:*", "(UID FLAGS)")
    out["fetch_flags_s"] = time.perf_counter() - t
    t = time.perf_counter()
    m.uid("SEARCH", "HEADER", "Subject", "topic-07")
    out["search_header_s"] = time.perf_counter() - t
    m.logout()
    return out


def postgres_round(
    shared: Path, source: Path, sqlite: dict[str, float], sqlite_cold: dict[str, float]
) -> None:
    """The swissbox rounds with `[store] url` on a throwaway PostgreSQL; prints the ratios."""
    sys.path.insert(0, str(ROOT))
    from tests.support.postgres import running_postgres

    folder = Path(tempfile.mkdtemp(prefix="swissbox-bench-pg-"))
    try:
        with running_postgres(folder) as server:
            port = free_port()
            data = WORK / "swissbox-imap-pg"
            took = prepare(data, port, source, server.new_database())
            print(f"swissbox import of 10,000 messages, index on PostgreSQL: {took:.1f} s")
            proc = serve(data, port)
            try:
                env = {"IMAP_USER": ADDRESS, "IMAP_PASS": PASSWORD, "TARGET_PID": str(proc.pid)}
                out = harness(shared, "target", f"127.0.0.1:{port}", env=env)
            finally:
                stop(proc)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(out)
    pg, pg_cold = figures(out, " median:", "warm"), figures(out, " cold:")
    print(
        "\n| step | SQLite warm | PostgreSQL warm | ratio | SQLite cold | PostgreSQL cold | ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for key in sorted(k for k in set(sqlite) & set(pg) if k.endswith("_s")):
        s, p = sqlite[key], pg[key]
        sc, pc = sqlite_cold.get(key, 0), pg_cold.get(key, 0)
        print(
            f"| {key} | {s * 1000:.1f} ms | {p * 1000:.1f} ms | {p / s if s else 0:.2f}x"
            f" | {sc * 1000:.1f} ms | {pc * 1000:.1f} ms | {pc / sc if sc else 0:.2f}x |"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "bench")
    ap.add_argument("--skip-dovecot", action="store_true")
    ap.add_argument("--idle", type=int, default=1000, help="idle IDLE connections (0: skip)")
    ap.add_argument("--big", action="store_true", help="also 100,000 messages (slow import)")
    ap.add_argument("--only-idle", action="store_true", help="skip the timed rounds")
    ap.add_argument(
        "--postgres", action="store_true", help="also with the index on PostgreSQL: the ratio"
    )
    a = ap.parse_args()

    gen = harness(a.shared, "gen")
    source = Path(re.search(r"source Maildir: (\S+)", gen).group(1))  # type: ignore[union-attr]
    print(f"# source: {source}")
    dovecot: dict[str, float] = {}
    dovecot_cold: dict[str, float] = {}
    if not a.skip_dovecot and not a.only_idle:
        out = harness(a.shared, "dovecot")
        print(out)
        dovecot, dovecot_cold = figures(out, " median:", "dovecot warm"), figures(out, " cold:")

    port = free_port()
    data = WORK / "swissbox-imap"
    took = prepare(data, port, source)
    print(f"swissbox import of 10,000 messages: {took:.1f} s")
    proc = serve(data, port)
    try:
        env = {"IMAP_USER": ADDRESS, "IMAP_PASS": PASSWORD, "TARGET_PID": str(proc.pid)}
        out = "" if a.only_idle else harness(a.shared, "target", f"127.0.0.1:{port}", env=env)
        print(out)
        ours, ours_cold = figures(out, " median:", "warm"), figures(out, " cold:")
        if dovecot:
            print(
                "\n| step | dovecot warm | swissbox warm | ratio | dovecot cold | swissbox cold | ratio |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- |")
            for key in (
                "login_select_s",
                "fetch_meta_s",
                "search_header_s",
                "bodies_batch_s",
                "bodies_seq_s",
            ):
                d, s = dovecot.get(key, 0), ours.get(key, 0)
                dc, sc = dovecot_cold.get(key, 0), ours_cold.get(key, 0)
                print(
                    f"| {key} | {d * 1000:.1f} ms | {s * 1000:.1f} ms | {s / d if d else 0:.2f}x"
                    f" | {dc * 1000:.1f} ms | {sc * 1000:.1f} ms | {sc / dc if dc else 0:.2f}x |"
                )
        if a.idle:
            stop(proc)  # a fresh process: RSS freed by the rounds above would hide the sessions
            proc = serve(data, port)
            before, during, setup = idle_connections(port, a.idle, proc.pid)
            print(
                f"\nRSS with {a.idle} idle IDLE connections: {during:.1f} MiB"
                f" (before: {before:.1f} MiB; set up in {setup:.1f} s)"
            )
    finally:
        stop(proc)

    if a.postgres and not a.only_idle:
        postgres_round(a.shared, source, ours, ours_cold)

    if a.big:
        big = 100_000
        harness(a.shared, "gen", env={"COUNT": str(big)})
        src = WORK / "imap" / f"src-{big}" / "Maildir"
        data = WORK / "swissbox-imap-big"
        took = prepare(data, port, src)
        print(f"\nswissbox import of {big:,} messages: {took:.1f} s")
        proc = serve(data, port)
        try:
            rounds = [big_round(port, big) for _ in range(3)]
            for key in rounds[0]:
                values = [r[key] for r in rounds]
                print(
                    f"{big:,} messages {key}: first {values[0] * 1000:.0f} ms,"
                    f" median {statistics.median(values) * 1000:.0f} ms"
                )
            print(f"RSS after: {rss_mib(proc.pid):.1f} MiB")
        finally:
            stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
