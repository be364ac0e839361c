"""Helpers shared by the DNS tests: a sample zone, packet builders, an in-process server."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dnslib import EDNS0, DNSRecord

from swissbox.conf import Config, Settings
from swissbox.directory import Directory
from swissbox.directory.model import Domain, Record
from swissbox.dns.client import recv_exact
from swissbox.dns.engine import Engine
from swissbox.dns.records import parse_record
from swissbox.dns.resolver import Resolver
from swissbox.dns.transfer import TransferPolicy
from swissbox.dns.zone import ZoneSet, ZoneView
from swissbox.runtime import Context
from tests.support.stack import free_port as stack_free_port

ZONE = "example.test"
SERIAL = 2026010101
# (name, type, value, ttl)
SAMPLE = [
    ("@", "NS", "ns1", 86400),
    ("@", "NS", "ns2.elsewhere.test.", 86400),
    ("@", "MX", "10 mx", 3600),
    ("@", "TXT", '"v=spf1 mx -all"', 3600),
    ("@", "A", "192.0.2.1", 3600),
    ("ns1", "A", "192.0.2.53", 3600),
    ("ns1", "AAAA", "2001:db8::53", 3600),
    ("mx", "A", "192.0.2.25", 3600),
    ("www", "CNAME", "web", 300),
    ("web", "A", "192.0.2.80", 300),
    ("web", "AAAA", "2001:db8::80", 300),
    ("chain1", "CNAME", "chain2", 300),
    ("chain2", "CNAME", "www", 300),
    ("out", "CNAME", "target.elsewhere.test.", 300),
    ("dangling", "CNAME", "nothere", 300),
    ("loop1", "CNAME", "loop2", 300),
    ("loop2", "CNAME", "loop1", 300),
    ("a.b.c", "A", "192.0.2.3", 300),
    ("*.wild", "TXT", '"wildcard"', 300),
    ("*.wild", "A", "192.0.2.99", 300),
    ("exists.wild", "MX", "10 mx", 300),
    ("deep.ent.wild", "A", "192.0.2.4", 300),
    ("sub", "NS", "ns.sub", 3600),
    ("sub", "NS", "ns.other.test.", 3600),
    ("sub", "DS", "12345 8 2 " + "ABCDEF0123456789" * 4, 3600),
    ("ns.sub", "A", "192.0.2.54", 3600),
    ("_imaps._tcp", "SRV", "0 1 993 mx", 3600),
    ("@", "CAA", '0 issue "ca.example"', 3600),
    ("big", "TXT", " ".join('"' + chr(97 + i) * 250 + '"' for i in range(8)), 300),
    ("svc", "HTTPS", "1 . alpn=h2,h3", 300),
    ("_dns.svc", "SVCB", "1 web alpn=dot port=853", 300),
]


def domain(serial: int = SERIAL, name: str = ZONE) -> Domain:
    return Domain(
        1, name, "org", serial, f"ns1.{name}", f"hostmaster.{name}", 7200, 900, 1209600, 600, 3600
    )


def records(zone: str = ZONE, sample: list[tuple[str, str, str, int]] = SAMPLE) -> list[Record]:
    return [Record(i, *parse_record(zone, n, t, v, ttl)) for i, (n, t, v, ttl) in enumerate(sample)]


def zoneset() -> ZoneSet:
    return ZoneSet({ZONE: ZoneView.build(domain(), records())})


def resolver() -> Resolver:
    return Resolver(zoneset())


def engine(allow: list[str] | None = None) -> Engine:
    return Engine(zoneset(), TransferPolicy(allow or []))


def query(
    name: str,
    qtype: str = "A",
    *,
    edns: bool = False,
    size: int = 1232,
    do: bool = False,
    version: int = 0,
    opts: list[Any] | None = None,
    qid: int = 4242,
    rd: bool = True,
) -> bytes:
    q = DNSRecord.question(name, qtype)
    q.header.id = qid
    q.header.rd = int(rd)
    if edns:
        q.add_ar(EDNS0(udp_len=size, flags="do" if do else "", version=version, opts=opts or []))
    return bytes(q.pack())


def ask(r: Resolver, name: str, qtype: str = "A", *, tcp: bool = False, **kw: Any) -> DNSRecord:
    out = r.respond(query(name, qtype, **kw), tcp=tcp)
    assert out is not None
    return DNSRecord.parse(out)


# -- a DnsService on its own loop in a thread (for dig/kdig and socket tests) ---------------------


def free_port(host: str = "127.0.0.1") -> int:
    return stack_free_port(socket.SOCK_DGRAM, host)


def make_directory(path: Path, sample: list[tuple[str, str, str, int]] = SAMPLE) -> Directory:
    d = Directory(path / "swissbox.db")
    d.add_org("org")
    d.add_domain(ZONE, "org", f"ns1.{ZONE}")
    d.change_records(
        ZONE,
        delete=[(ZONE, "NS", None)],
        add=[parse_record(ZONE, n, t, v, ttl) for n, t, v, ttl in sample],
    )
    return d


class ServerThread:
    """DnsService on a private event loop in a daemon thread."""

    def __init__(self, data: Path, host: str = "127.0.0.1", **dns: Any) -> None:
        from swissbox.dns.service import DnsService

        self.host = host
        self.port = dns.pop("port", None) or free_port(host)
        settings = Settings()
        settings.server.listen = [host]
        settings.dns.port = self.port
        for key, value in dns.items():
            setattr(settings.dns, key, value)
        self.loop = asyncio.new_event_loop()
        self.directory = Directory(data / "swissbox.db")
        ctx = Context(Config(settings, data, None), self.directory, None, None, self.loop)  # type: ignore[arg-type]
        self.service = DnsService(ctx)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.service.start(), self.loop).result(10)
        return self

    def call(self, fn: Any, *args: Any) -> Any:
        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.service.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.directory.close()
        self.loop.close()


def udp_ask(port: int, packet: bytes, host: str = "127.0.0.1", timeout: float = 2.0) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (host, port))
        return s.recvfrom(65535)[0]


def tcp_frame(packet: bytes) -> bytes:
    return struct.pack("!H", len(packet)) + packet


def tcp_read(sock: socket.socket) -> bytes:
    (n,) = struct.unpack("!H", recv_exact(sock, 2))
    return recv_exact(sock, n)


# -- mutation fuzzing (tests/integration/test_dns_fuzz.py, bench/dns_fuzz.py) ---------------------

FUZZ_SEEDS = [
    query("web.example.test"),
    query("www.example.test", "A", edns=True, do=True),
    query("host.sub.example.test", "A", edns=True),
    query("x.wild.example.test", "TXT", edns=True, size=512),
    query("big.example.test", "TXT"),
    query("example.test", "ANY", edns=True),
    query("example.test", "AXFR"),
    query("svc.example.test", "HTTPS", edns=True, do=True),
    query("_imaps._tcp.example.test", "SRV"),
    query("nope.example.test", "MX", edns=True),
]


def mutate(rnd: random.Random, seed: bytes) -> bytes:
    """One mutation of a good query: byte and bit flips, cuts, growth, header counts, bad
    label lengths (long labels and names, reserved prefixes, pointers), OPT placed anywhere."""
    data = bytearray(seed)
    kind = rnd.randrange(9)
    if kind == 0:
        for _ in range(rnd.randint(1, 4)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
    elif kind == 1:
        for _ in range(rnd.randint(1, 8)):
            i = rnd.randrange(len(data) * 8)
            data[i // 8] ^= 1 << (i % 8)
    elif kind == 2:
        del data[rnd.randrange(len(data)) :]
    elif kind == 3:
        data += bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 40)))
    elif kind == 4:
        struct.pack_into("!H", data, 4 + 2 * rnd.randrange(4), rnd.choice([0, 1, 2, 255, 65535]))
    elif kind == 5:  # a label of 64..255 octets (or a reserved prefix) inside the question
        length = rnd.choice([64, 65, 0x7F, 0x80, 0xBF, 0xFF])
        data[12:12] = bytes([length]) + b"a" * rnd.choice([length, 10])
    elif kind == 6:  # a name of 250..300 octets
        labels = b"".join(b"\x3f" + b"b" * 63 for _ in range(3))
        tail = rnd.randint(0, 60)
        data[12:12] = labels + bytes([tail]) + b"c" * tail
    elif kind == 7:  # compression pointers where they do not belong
        pos = rnd.randrange(12, len(data))
        data[pos:pos] = struct.pack("!H", 0xC000 | rnd.randrange(0, len(data) + 20))
    else:  # OPT in a random section, or several
        opt = b"\x00\x00\x29" + struct.pack("!H", rnd.choice([0, 512, 1232, 65535]))
        opt += bytes([rnd.randrange(2), rnd.randrange(2)]) + rnd.choice([b"\x80\x00", b"\x00\x00"])
        opt += b"\x00\x00"
        data += opt * rnd.randint(1, 2)
        struct.pack_into("!H", data, 6 + 2 * rnd.randrange(3), rnd.randint(1, 2))
    if len(data) > 2:
        data[2] &= 0x7F  # keep it a query: responses are dropped without looking
    return bytes(data)


def mutations(count: int, seed: int = 1) -> Iterator[bytes]:
    rnd = random.Random(seed)
    for i in range(count):
        packet = mutate(rnd, FUZZ_SEEDS[i % len(FUZZ_SEEDS)])
        yield struct.pack("!H", i & 0xFFFF) + packet[2:] if len(packet) >= 2 else packet
