#!/usr/bin/env python3
"""DNS benchmark: swissbox vs NSD on the same 10,000-record zone, same dnsperf load, same run.

Uses the shared peer harness (`peer_dns.sh`, `gen_zone.py`, see bench/README.md there):
1. `peer_dns.sh gen` makes the zone file and the query mix (in $BENCH_WORK/dns);
2. a fresh swissbox data folder (only DNS enabled) imports it with `swissbox dns import`;
3. `peer_dns.sh nsd` measures NSD, then `peer_dns.sh target` measures `swissbox serve`
   (TARGET_PID set, so RSS and CPU are taken the same way);
4. prints q/s, p50/p99, lost, RSS of both and the ratio;
5. with --big (default 100,000 records) loads a larger zone and reports swissbox's RSS.

Usage: bench/dns/dns_bench.py [--harness DIR] [--port 5353] [--big 100000] [--skip-nsd]
Knobs of the harness (DURATION, ROUNDS, LAT, MODE, ...) pass through the environment.
Loopback only; every process it starts is stopped by its PID.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HARNESS = ROOT.parent / "shared" / "bench"


def sh(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, text=True, capture_output=True, check=False, **kw)  # type: ignore[call-overload]


def swissbox(data: Path, *args: str, stdin: str | None = None) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "swissbox.cli", *args, "--data", str(data)],
        input=stdin,
        text=True,
        capture_output=True,
        cwd=ROOT,
    )
    if r.returncode:
        raise SystemExit(f"swissbox {' '.join(args)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_data(base: Path, zone_file: Path, port: int, origin: str = "example.test") -> Path:
    sys.path.insert(0, str(ROOT))
    from swissbox.conf import render_config

    data = base / "data"
    data.mkdir(parents=True)
    overrides = {
        "server": {"hostname": f"ns1.{origin}", "log_level": "warning"},
        "dns": {"port": port},
        "smtp": {"enabled": False},
        "imap": {"enabled": False},
        "http": {"enabled": False},
    }
    (data / "swissbox.toml").write_text(render_config(overrides))
    swissbox(data, "init")
    swissbox(data, "org", "add", "bench")
    swissbox(data, "domain", "add", origin, "--org", "bench")
    t = time.perf_counter()
    swissbox(data, "dns", "import", origin, str(zone_file))
    print(f"# imported {zone_file.name} in {time.perf_counter() - t:.1f} s", flush=True)
    return data


def start(data: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "swissbox.cli", "serve", "--data", str(data)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(data / "serve.log", "w"),  # noqa: SIM115
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = sh(["dig", "+time=1", "+tries=1", "+short", "-p", str(port), "@127.0.0.1",
                "example.test", "SOA"])  # fmt: skip
        if "hostmaster" in r.stdout:
            return proc
        if proc.poll() is not None:
            raise SystemExit(f"swissbox serve exited:\n{(data / 'serve.log').read_text()}")
        time.sleep(0.2)
    stop(proc)
    raise SystemExit("swissbox serve did not answer within 60 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rss(harness: Path, pid: int) -> str:
    return sh(["python3", str(harness / "lib" / "proctree.py"), "mem", str(pid)]).stdout.strip()


def medians(text: str) -> dict[str, dict[str, str]]:
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\S+) median: (.*)$", line)
        if m:
            out[m.group(1)] = dict(kv.split("=", 1) for kv in m.group(2).split())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--harness", type=Path, default=Path(os.environ.get("BENCH_HARNESS", DEFAULT_HARNESS))
    )
    ap.add_argument("--port", type=int, default=0, help="swissbox DNS port (default: a free one)")
    ap.add_argument(
        "--big", type=int, default=100_000, help="records of the RSS-only zone (0: skip)"
    )
    ap.add_argument("--skip-nsd", action="store_true")
    a = ap.parse_args()
    peer = a.harness / "dns" / "peer_dns.sh"
    if not peer.exists():
        raise SystemExit(f"peer harness not found: {peer} (give --harness)")
    for tool in ("dnsperf", "dig"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} missing")
    work = Path(os.environ.get("BENCH_WORK", "/tmp/bench-work"))
    os.environ["BENCH_WORK"] = str(work)
    r = sh(["bash", str(peer), "gen"])
    m = re.search(r"zone: (\S+)", r.stdout)
    if not m:
        raise SystemExit(f"peer_dns.sh gen failed:\n{r.stdout}{r.stderr}")
    zone_file = Path(m.group(1))
    port = a.port or free_port()
    results: dict[str, dict[str, str]] = {}
    memory: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="swissbox-dns-bench-") as tmp:
        data = make_data(Path(tmp), zone_file, port)
        if not a.skip_nsd:
            print("# NSD", flush=True)
            r = sh(["bash", str(peer), "nsd"])
            print(r.stdout, end="", flush=True)
            results.update(medians(r.stdout))
            mm = re.search(r"nsd idle memory \(pid \d+ \+ children\): (.*)", r.stdout)
            memory["nsd"] = mm.group(1) if mm else "?"
        print(f"# swissbox on 127.0.0.1:{port}", flush=True)
        proc = start(data, port)
        try:
            time.sleep(3)  # let the precomputation of answers finish
            memory["swissbox idle"] = rss(a.harness, proc.pid)
            env = dict(os.environ, TARGET_PID=str(proc.pid))
            r = sh(["bash", str(peer), "target", f"127.0.0.1:{port}"], env=env)
            print(r.stdout, r.stderr[-2000:] if r.returncode else "", end="", flush=True)
            for value in medians(r.stdout).values():
                results["swissbox"] = value
            memory["swissbox after load"] = rss(a.harness, proc.pid)
        finally:
            stop(proc)
        if a.big:
            hosts = max(1, a.big // 4)
            big_dir = Path(tmp) / "big"
            sh(["python3", str(a.harness / "dns" / "gen_zone.py"), str(big_dir), "--hosts",
                str(hosts), "--queries", "10"])  # fmt: skip
            port2 = free_port()
            data2 = make_data(big_dir / "sb", big_dir / "example.test.zone", port2)
            proc = start(data2, port2)
            try:
                memory[f"swissbox {hosts * 4} records, at first answer"] = rss(a.harness, proc.pid)
                time.sleep(15)  # answers are precomputed in the background
                memory[f"swissbox {hosts * 4} records, precomputed"] = rss(a.harness, proc.pid)
            finally:
                stop(proc)
    print("\n# summary")
    for name, vals in results.items():
        print(f"{name}: " + " ".join(f"{k}={v}" for k, v in vals.items()))
    for name, value in memory.items():
        print(f"memory {name}: {value}")
    sb, nsd = results.get("swissbox"), results.get("nsd")
    if sb and nsd:
        ratio = float(sb["qps"]) / float(nsd["qps"])
        print(f"ratio swissbox/NSD q/s: {ratio:.2f} (target >= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
