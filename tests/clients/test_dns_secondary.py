"""A real secondary (NSD, Knot) pulls our zone by zone transfer; after `swissbox dns add`,
our NOTIFY makes it fetch the new serial, and it serves the new record within seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.unit.dns.kit import ZONE, ServerThread, free_port, make_directory

pytestmark = pytest.mark.tools
ROOT = Path(__file__).resolve().parents[2]


def nsd_config(d: Path, addr: str, port: int, primary: int) -> list[str]:
    exe = require_tool("nsd")
    (d / "nsd.conf").write_text(
        f"""server:
  ip-address: {addr}@{port}
  server-count: 1
  username: ""
  chroot: ""
  database: ""
  zonesdir: "{d}"
  zonelistfile: "{d}/zone.list"
  xfrdfile: "{d}/xfrd.state"
  xfrdir: "{d}"
  pidfile: "{d}/nsd.pid"
  logfile: "{d}/nsd.log"
  verbosity: 2
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: {ZONE}
  zonefile: "{d}/{ZONE}.zone"
  request-xfr: 127.0.0.1@{primary} NOKEY
  allow-notify: 127.0.0.0/8 NOKEY
"""
    )
    return [exe, "-d", "-c", str(d / "nsd.conf")]


def knot_config(d: Path, addr: str, port: int, primary: int) -> list[str]:
    exe = require_tool("knotd")
    (d / "run").mkdir()
    (d / "db").mkdir()
    (d / "knot.conf").write_text(
        f"""server:
  rundir: "{d}/run"
  listen: {addr}@{port}
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
database:
  storage: "{d}/db"
log:
  - target: "{d}/knot.log"
    any: debug
remote:
  - id: primary
    address: 127.0.0.1@{primary}
acl:
  - id: notify
    address: 127.0.0.0/8
    action: notify
template:
  - id: default
    storage: "{d}"
zone:
  - domain: {ZONE}
    master: primary
    acl: notify
"""
    )
    return [exe, "-c", str(d / "knot.conf")]


def dig(addr: str, port: int, name: str, rtype: str) -> str:
    exe = require_tool("dig")
    r = subprocess.run(
        [exe, "+short", "+time=1", "+tries=1", "-p", str(port), f"@{addr}", name, rtype],
        capture_output=True,
        text=True,
        timeout=10,
    )
    return r.stdout.strip()


def wait_for(fn, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(params=["nsd", "knot"])
def secondary(request, tmp_path: Path) -> Iterator[tuple[str, str, int, Path, ServerThread]]:
    data = tmp_path / "primary"
    data.mkdir()
    make_directory(data).close()
    addr = "127.0.0.2" if request.param == "nsd" else "127.0.0.3"
    port = free_port(addr)
    d = tmp_path / request.param
    d.mkdir()
    with ServerThread(data, allow_transfer=["127.0.0.0/8"], notify=[f"{addr}:{port}"]) as srv:
        make = nsd_config if request.param == "nsd" else knot_config
        cmd = make(d, addr, port, srv.port)
        log = (d / "stdout.log").open("w")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield request.param, addr, port, data, srv
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def test_secondary_follows_by_axfr_and_notify(secondary) -> None:
    name, addr, port, data, srv = secondary
    logs = data.parent / name
    ok = wait_for(lambda: dig(addr, port, "web.example.test", "A") == "192.0.2.80", 15)
    assert ok, f"{name} did not load the zone:\n" + "\n".join(
        p.read_text()[-3000:] for p in logs.glob("*.log")
    )
    serial = dig(addr, port, ZONE, "SOA").split()[2]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run(
        [sys.executable, "-m", "swissbox.cli", "dns", "add", ZONE, "fresh", "A", "192.0.2.123",
         "--data", str(data)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    started = time.monotonic()
    ok = wait_for(lambda: dig(addr, port, "fresh.example.test", "A") == "192.0.2.123", 10)
    assert ok, f"{name} did not pick up the change:\n" + "\n".join(
        p.read_text()[-3000:] for p in logs.glob("*.log")
    )
    assert time.monotonic() - started < 10
    new_serial = int(dig(addr, port, ZONE, "SOA").split()[2])
    assert new_serial > int(serial)
    acked = srv.call(lambda: dict(srv.service.notifier.acked))
    assert (ZONE, new_serial) in [(z, s) for (z, _), s in acked.items()]  # NOTIFY acknowledged
