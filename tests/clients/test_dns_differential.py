"""Differential test: swissbox, NSD and Knot serve the same zone (transferred from swissbox) on
loopback ports and get the same raw packets; the answers are compared section by section.

Ordinary queries must match Knot exactly (NSD differs only by adding the apex NS RRset to
every answer and by its choice for ANY, so its answer section and rcode are compared). Edge
cases compare against the peer whose behaviour is the reference: NSD for FORMERR shapes
(Knot drops over-long names silently)."""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.zone
import pytest

from tests.conftest import require_tool
from tests.unit.dns.kit import (
    ZONE,
    ServerThread,
    free_port,
    make_directory,
    query,
    tcp_frame,
    tcp_read,
)

pytestmark = pytest.mark.tools

Peers = dict[str, tuple[str, int]]


def nsd_conf(d: Path, addr: str, port: int, zonefile: Path) -> list[str]:
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
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: {ZONE}
  zonefile: "{zonefile}"
"""
    )
    return [require_tool("nsd"), "-d", "-c", str(d / "nsd.conf")]


def knot_conf(d: Path, addr: str, port: int, zonefile: Path) -> list[str]:
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
    any: info
zone:
  - domain: {ZONE}
    file: "{zonefile}"
"""
    )
    return [require_tool("knotd"), "-c", str(d / "knot.conf")]


def exchange(addr: str, port: int, packet: bytes, tcp: bool = False) -> bytes | None:
    """The answer, or None when the server stayed silent (or closed the connection)."""
    try:
        if tcp:
            with socket.create_connection((addr, port), 2) as s:
                s.sendall(tcp_frame(packet))
                return tcp_read(s)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1.0)
            s.sendto(packet, (addr, port))
            return s.recvfrom(65535)[0]
    except (TimeoutError, ConnectionError, OSError):
        return None


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    base = tmp_path_factory.mktemp("differential")
    data = base / "swissbox"
    data.mkdir()
    make_directory(data).close()
    started: list[subprocess.Popen[bytes]] = []
    with ServerThread(data, allow_transfer=["127.0.0.1"]) as srv:
        zone = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", ZONE, port=srv.port, timeout=5))
        zonefile = base / "zone"
        zone.to_file(str(zonefile), relativize=False)
        found: Peers = {"swissbox": ("127.0.0.1", srv.port)}
        try:
            for name, addr, make in (
                ("nsd", "127.0.0.2", nsd_conf),
                ("knot", "127.0.0.3", knot_conf),
            ):
                port = free_port(addr)
                d = base / name
                d.mkdir()
                log = (d / "stdout.log").open("wb")
                started.append(
                    subprocess.Popen(make(d, addr, port, zonefile), stdout=log, stderr=log)
                )
                found[name] = (addr, port)
            deadline = time.monotonic() + 15
            probe = query("web.example.test")
            for name in ("nsd", "knot"):
                while exchange(*found[name], probe) is None:
                    assert time.monotonic() < deadline, f"{name} did not start"
                    time.sleep(0.1)
            yield found
        finally:
            for proc in started:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def shape(wire: bytes | None) -> Any:
    """What we compare: header fields, counts, EDNS, and each section as a sorted list."""
    if wire is None:
        return None
    qd, an, ns, ar = struct.unpack_from("!HHHH", wire, 4)
    msg = dns.message.from_wire(wire)

    def section(rrsets: list[Any]) -> list[str]:
        return sorted(line for rrset in rrsets for line in rrset.to_text().split("\n"))

    return {
        "id": msg.id,
        "rcode": dns.rcode.to_text(msg.rcode()),
        "flags": dns.flags.to_text(msg.flags),
        "counts": (qd, an, ns, ar),
        "edns": msg.edns,
        "do": bool(msg.ednsflags & dns.flags.DO),
        "question": [str(q) for q in msg.question],
        "answer": section(msg.answer),
        "authority": section(msg.authority),
        "additional": section(msg.additional),
    }


def answers(peers: Peers, packet: bytes, tcp: bool = False) -> dict[str, Any]:
    return {name: shape(exchange(addr, port, packet, tcp)) for name, (addr, port) in peers.items()}


ORDINARY = [
    ("web.example.test", "A"),
    ("WeB.ExAmple.TEST", "A"),
    ("www.example.test", "A"),
    ("chain1.example.test", "A"),
    ("out.example.test", "A"),
    ("dangling.example.test", "A"),
    ("loop1.example.test", "A"),
    ("nope.example.test", "A"),
    ("b.c.example.test", "A"),
    ("x.wild.example.test", "TXT"),
    ("x.wild.example.test", "MX"),
    ("exists.wild.example.test", "A"),
    ("ent.wild.example.test", "A"),
    ("deep.ent.wild.example.test", "A"),
    ("example.test", "SOA"),
    ("example.test", "NS"),
    ("example.test", "MX"),
    ("example.test", "CAA"),
    ("_imaps._tcp.example.test", "SRV"),
    ("svc.example.test", "HTTPS"),
    ("big.example.test", "TXT"),
    ("sub.example.test", "DS"),
    ("sub.example.test", "NS"),
    ("host.sub.example.test", "A"),  # referrals: DS only with DO in a signed zone, so never
    ("a.b.sub.example.test", "AAAA"),
    ("other.test", "A"),
]
EDNS_SHAPES = {"plain": {}, "edns": {"edns": True}, "do": {"edns": True, "do": True}}


@pytest.mark.parametrize("edns", sorted(EDNS_SHAPES))
def test_ordinary_queries_match_knot_and_nsd(peers: Peers, edns: str) -> None:
    for name, rtype in ORDINARY:
        got = answers(peers, query(name, rtype, qid=321, **EDNS_SHAPES[edns]))
        ours = got["swissbox"]
        assert ours == got["knot"], (name, rtype, got)
        for key in ("rcode", "flags", "question", "answer", "edns", "do"):
            assert ours[key] == got["nsd"][key], (name, rtype, key, got)


def header(qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return struct.pack("!HHHHHH", 0x1234, 0x0100, qd, an, ns, ar)


QUESTION = b"\x03web\x07example\x04test\x00\x00\x01\x00\x01"
OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
LONG = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00"  # 257 octets
WIDE = b"\x40" + b"a" * 64 + b"\x07example\x04test\x00"  # a 64-octet label

# (probe, packet, the peers swissbox must answer exactly like)
EDGE = [
    ("name over 255 octets", header() + LONG + b"\x00\x01\x00\x01", ["nsd"]),
    ("name over 255 octets, EDNS", header(ar=1) + LONG + b"\x00\x01\x00\x01" + OPT, ["nsd"]),
    ("label over 63 octets", header() + WIDE + b"\x00\x01\x00\x01", ["nsd"]),
    ("OPT in the answer section", header(an=1) + QUESTION + OPT, ["nsd"]),
    ("OPT in the authority section", header(ns=1) + QUESTION + OPT, ["nsd"]),
    ("two OPT records", header(ar=2) + QUESTION + OPT + OPT, ["nsd"]),
    ("no question", header(qd=0), ["nsd", "knot"]),
    ("two OPT records, no question", header(qd=0, ar=2) + OPT + OPT, ["knot"]),
]


@pytest.mark.parametrize(("probe", "packet", "like"), EDGE, ids=[e[0] for e in EDGE])
def test_malformed_queries_answered_like_the_reference(
    peers: Peers, probe: str, packet: bytes, like: list[str]
) -> None:
    """Over UDP; over TCP NSD closes the connection on some of these, so there our TCP
    answer must equal our UDP one."""
    got = answers(peers, packet)
    assert got["swissbox"] is not None, probe
    for peer in like:
        assert got["swissbox"] == got[peer], (probe, peer, got)
    if probe.startswith("OPT in"):
        assert (
            got["knot"]["rcode"] == "FORMERR"
        )  # Knot agrees on the rcode (it echoes the question)
    addr, port = peers["swissbox"]
    assert shape(exchange(addr, port, packet, tcp=True)) == got["swissbox"]


def test_formerr_to_opt_without_question_carries_no_opt(peers: Peers) -> None:
    """RFC 6891 7. The peers differ here: Knot answers FORMERR with an OPT, NSD NOERROR."""
    got = answers(peers, header(qd=0, ar=1) + OPT)
    ours = got["swissbox"]
    assert ours["rcode"] == "FORMERR" == got["knot"]["rcode"]
    assert ours["edns"] == -1 and ours["counts"] == (0, 0, 0, 0)
