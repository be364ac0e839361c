"""Real secondaries behind two front ends over one PostgreSQL: NSD pulls from front end A, Knot
from front end B, both front ends send them NOTIFY. A change through either front end reaches
both secondaries, with the serial bumped once per change (not once per front end)."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.clients.test_dns_secondary import dig, knot_config, nsd_config
from tests.conftest import require_tool
from tests.support.polling import eventually
from tests.support.stack import Stack
from tests.unit.dns.kit import free_port

pytestmark = pytest.mark.tools
ZONE = "example.test"


class Secondary(NamedTuple):
    name: str
    addr: str
    port: int
    folder: Path

    def answer(self, name: str, rtype: str = "A") -> str:
        return dig(self.addr, self.port, name, rtype)

    def serial(self) -> int:
        soa = self.answer(ZONE, "SOA").split()
        return int(soa[2]) if len(soa) > 2 else 0

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in self.folder.glob("*.log"))


class Setup(NamedTuple):
    a: Stack
    b: Stack
    nsd: Secondary  # pulls from A
    knot: Secondary  # pulls from B
    tsig: str


def acked_notifies(stack: Stack, serial: int) -> set[str]:
    """The secondaries that acknowledged this front end's NOTIFY of `serial` (its log)."""
    pattern = rf"NOTIFY {re.escape(ZONE)} serial {serial} acknowledged by ([0-9.:]+)"
    return set(re.findall(pattern, stack.log()))


@pytest.fixture
def setup(tmp_path: Path, postgres: Any) -> Iterator[Setup]:
    url = postgres.new_database()
    nsd = Secondary("nsd", "127.0.0.2", free_port("127.0.0.2"), tmp_path / "nsd")
    knot = Secondary("knot", "127.0.0.3", free_port("127.0.0.3"), tmp_path / "knot")
    dns = {
        "allow_transfer": ["127.0.0.0/8"],
        "notify": [f"{s.addr}:{s.port}" for s in (nsd, knot)],
    }
    a = Stack(tmp_path / "a", store={"url": url}, dns=dns)
    b = Stack(tmp_path / "b", store={"url": url}, dns=dns)
    a.provision()
    a.cli(
        "ddns", "add", "nas.example.test", "--user", "router1", "--password-stdin",
        stdin="Router1Pass\n", check=True,
    )  # fmt: skip
    out = a.cli("dns", "tsig", "add", "fe.key", "--zone", ZONE, check=True).stdout
    secret = re.search(r"^secret: (\S+)$", out, re.M).group(1)  # type: ignore[union-attr]
    b.init()
    procs = []
    with a, b:
        a.start()
        b.start()
        try:
            for sec, primary, make in ((nsd, a, nsd_config), (knot, b, knot_config)):
                sec.folder.mkdir()
                cmd = make(sec.folder, sec.addr, sec.port, primary.ports["dns"])
                log = (sec.folder / "stdout.log").open("w")
                procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log))
            yield Setup(a, b, nsd, knot, f"hmac-sha256:fe.key:{secret}")
        finally:
            for proc, log in procs:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                log.close()


def nsupdate(stack: Stack, key: str, commands: str) -> None:
    script = f"server 127.0.0.1 {stack.ports['dns']}\nzone {ZONE}\n{commands}\nsend\n"
    r = subprocess.run(
        [require_tool("nsupdate"), "-y", key],
        input=script, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr


def test_a_change_through_either_front_end_reaches_both_secondaries_once(setup: Setup) -> None:
    a, b, nsd, knot = setup.a, setup.b, setup.nsd, setup.knot
    start = int(dig("127.0.0.1", a.ports["dns"], ZONE, "SOA").split()[2])
    for sec in (nsd, knot):
        eventually(lambda sec=sec: sec.serial() == start, 20, f"{sec.name} loads the zone")

    nsupdate(a, setup.tsig, "update add sec1.example.test 60 A 192.0.2.51")  # through A
    for sec in (nsd, knot):  # Knot pulls from B, which heard of it over the bus
        eventually(lambda sec=sec: sec.answer("sec1.example.test") == "192.0.2.51", 15, sec.logs())
        assert sec.serial() == start + 1  # one change, one serial bump

    r = subprocess.run(
        [require_tool("curl"), "-sS", "-u", "router1:Router1Pass", "-A", "swissbox-test/1.0",
         f"http://127.0.0.1:{b.ports['http']}/nic/update?hostname=nas.example.test&myip=192.0.2.52"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert r.stdout.strip() == "good 192.0.2.52", r.stderr  # through B
    for sec in (nsd, knot):  # NSD pulls from A, which heard of it over the bus
        eventually(lambda sec=sec: sec.answer("nas.example.test") == "192.0.2.52", 15, sec.logs())
        assert sec.serial() == start + 2

    # Both front ends announced both serials to both secondaries (RFC 1996: a secondary asked
    # again about a serial it has does not transfer again); a dying writer loses no NOTIFY.
    targets = {f"{s.addr}:{s.port}" for s in (nsd, knot)}
    for serial in (start + 1, start + 2):
        for stack in (a, b):
            eventually(
                lambda s=stack, n=serial: acked_notifies(s, n) == targets, 15, stack.log()[-3000:]
            )
