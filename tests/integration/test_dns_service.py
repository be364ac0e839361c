"""DnsService in-process on loopback: transports, live zone changes, NOTIFY, robustness."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from swissbox.directory import Directory
from swissbox.dns.records import parse_record
from swissbox.runtime import BindError
from tests.support.polling import eventually
from tests.unit.dns.kit import (
    ZONE,
    ServerThread,
    make_directory,
    query,
    tcp_frame,
    tcp_read,
    udp_ask,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    make_directory(tmp_path).close()
    return tmp_path


def a_records(reply: bytes) -> list[str]:
    return [str(rr.rdata) for rr in DNSRecord.parse(reply).rr if rr.rtype == QTYPE.A]


def test_udp_and_tcp(data: Path) -> None:
    with ServerThread(data) as srv:
        assert a_records(udp_ask(srv.port, query("web.example.test"))) == ["192.0.2.80"]
        with socket.create_connection((srv.host, srv.port), timeout=2) as s:
            s.sendall(tcp_frame(query("web.example.test", qid=1)))
            assert a_records(tcp_read(s)) == ["192.0.2.80"]
            s.sendall(tcp_frame(query("mx.example.test", qid=2)))  # same connection again
            assert a_records(tcp_read(s)) == ["192.0.2.25"]


def test_tcp_pipelining_in_order(data: Path) -> None:
    names = ["web", "mx", "ns1", "nope", "a.b.c"]
    with ServerThread(data) as srv, socket.create_connection((srv.host, srv.port), 2) as s:
        s.sendall(
            b"".join(tcp_frame(query(f"{n}.example.test", qid=i)) for i, n in enumerate(names))
        )
        ids = [DNSRecord.parse(tcp_read(s)).header.id for _ in names]
        assert ids == list(range(len(names)))
        # a query split across writes
        frame = tcp_frame(query("web.example.test", qid=99))
        s.sendall(frame[:1])
        time.sleep(0.05)
        s.sendall(frame[1:7])
        time.sleep(0.05)
        s.sendall(frame[7:])
        assert DNSRecord.parse(tcp_read(s)).header.id == 99


def test_truncated_over_udp_complete_over_tcp(data: Path) -> None:
    with ServerThread(data) as srv:
        reply = DNSRecord.parse(udp_ask(srv.port, query("big.example.test", "TXT")))
        assert reply.header.tc == 1
        with socket.create_connection((srv.host, srv.port), 2) as s:
            s.sendall(tcp_frame(query("big.example.test", "TXT")))
            full = DNSRecord.parse(tcp_read(s))
        assert full.header.tc == 0 and len(full.rr[0].rdata.data) == 8


def test_changes_visible_to_next_query(data: Path) -> None:
    """Zones are checked before each batch of datagrams: a query that arrives while the
    server still drains the batch of the one before (a loaded machine) may get the old
    answer, the next batch the new one."""
    name = "new.example.test"
    with ServerThread(data) as srv:
        assert DNSRecord.parse(udp_ask(srv.port, query(name))).header.rcode == 3
        with Directory(data / "swissbox.db") as other:  # another connection, as the CLI has
            other.change_records(ZONE, add=[parse_record(ZONE, "new", "A", "192.0.2.77", 60)])
        eventually(lambda: a_records(udp_ask(srv.port, query(name))) == ["192.0.2.77"], 5)
        with Directory(data / "swissbox.db") as other:
            other.change_records(ZONE, delete=[("new.example.test", "A", None)])
        eventually(lambda: DNSRecord.parse(udp_ask(srv.port, query(name))).header.rcode == 3, 5)


def test_cli_change_while_serving(data: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with ServerThread(data) as srv:
        before = DNSRecord.parse(udp_ask(srv.port, query(ZONE, "SOA"))).rr[0].rdata.times[0]
        r = subprocess.run(
            [sys.executable, "-m", "swissbox.cli", "dns", "add", ZONE, "cli", "A", "192.0.2.66",
             "--data", str(data)],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert a_records(udp_ask(srv.port, query("cli.example.test"))) == ["192.0.2.66"]
        after = DNSRecord.parse(udp_ask(srv.port, query(ZONE, "SOA"))).rr[0].rdata.times[0]
        assert after > before


def test_idle_and_slow_tcp_clients_are_closed(data: Path) -> None:
    with ServerThread(data, tcp_idle_timeout=0.3) as srv:
        idle = socket.create_connection((srv.host, srv.port), 2)
        slow = socket.create_connection((srv.host, srv.port), 2)
        frame = tcp_frame(query("web.example.test"))
        started = time.monotonic()
        for byte in frame[:10]:  # one byte every 0.1 s never completes a query in time
            try:
                slow.send(bytes([byte]))
            except OSError:
                break
            time.sleep(0.1)
        idle.settimeout(2)
        slow.settimeout(2)
        assert idle.recv(10) == b""
        with contextlib.suppress(ConnectionResetError):
            assert slow.recv(10) == b""
        assert time.monotonic() - started < 3
        idle.close()
        slow.close()
        assert srv.call(lambda: len(srv.service.tcp_state.connections)) == 0


def test_garbage_does_not_stop_service(data: Path) -> None:
    rnd = random.Random(7)
    good = query("web.example.test")
    with ServerThread(data) as srv:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(3000):
                n = rnd.randrange(0, 300)
                junk = bytes(rnd.randrange(256) for _ in range(n))
                if i % 3 == 0:  # mutate a good query instead
                    junk = bytearray(good)
                    junk[rnd.randrange(len(junk))] = rnd.randrange(256)
                    junk = bytes(junk)
                s.sendto(junk, (srv.host, srv.port))
                if i % 500 == 0:
                    assert a_records(udp_ask(srv.port, good)) == ["192.0.2.80"]
        for _ in range(20):  # TCP garbage, including absurd lengths and early closes
            with socket.create_connection((srv.host, srv.port), 2) as t:
                t.sendall(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 100))))
        with socket.create_connection((srv.host, srv.port), 2) as t:
            t.sendall(struct.pack("!H", 5) + b"\x00" * 5 + tcp_frame(good))
            assert a_records(tcp_read(t)) == ["192.0.2.80"]  # short message ignored
        assert a_records(udp_ask(srv.port, good)) == ["192.0.2.80"]


def test_notify_retried_until_acknowledged(data: Path) -> None:
    secondary = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    secondary.bind(("127.0.0.1", 0))
    secondary.settimeout(5)
    port = secondary.getsockname()[1]
    with ServerThread(data, notify=[f"127.0.0.1:{port}"]) as srv:
        srv.service.notifier.first_timeout = 0.2
        with Directory(data / "swissbox.db") as other:
            other.change_records(ZONE, add=[parse_record(ZONE, "n", "A", "192.0.2.5", 60)])
            serial = other.domain(ZONE).serial

        def next_notify() -> tuple[DNSRecord, tuple[str, int]]:
            while True:  # (the NOTIFY sent at start, with the old serial, may come first)
                packet, addr = secondary.recvfrom(512)
                msg = DNSRecord.parse(packet)
                if msg.rr and msg.rr[0].rdata.times[0] == serial:
                    return msg, addr

        msg, _ = next_notify()  # not answered: must come again
        assert msg.header.opcode == 4 and msg.header.aa and str(msg.q.qname) == "example.test."
        again, addr = next_notify()
        reply = again.reply()
        reply.header.opcode = 4
        secondary.sendto(bytes(reply.pack()), addr)
        deadline = time.monotonic() + 3
        while not srv.call(lambda: srv.service.notifier.acked) and time.monotonic() < deadline:
            time.sleep(0.05)
        acked = srv.call(lambda: dict(srv.service.notifier.acked))
        assert [s for (zone, _), s in acked.items() if zone == ZONE] == [serial]
    secondary.close()


def test_port_in_use_is_bind_error(data: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        srv = ServerThread(data, port=port)
        srv.thread.start()
        try:
            import asyncio

            fut = asyncio.run_coroutine_threadsafe(srv.service.start(), srv.loop)
            with pytest.raises(BindError) as info:
                fut.result(5)
            assert info.value.key == "dns.port"
        finally:
            srv.loop.call_soon_threadsafe(srv.loop.stop)
            srv.thread.join(5)
            srv.directory.close()


def test_refused_and_formerr_over_the_wire(data: Path) -> None:
    with ServerThread(data) as srv:
        assert (
            DNSRecord.parse(udp_ask(srv.port, query("example.org"))).header.rcode == RCODE.REFUSED
        )
        out = udp_ask(srv.port, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07")
        assert out[:2] == b"\x12\x34" and out[3] & 0xF == RCODE.FORMERR


def test_hypothesis_packets_over_the_wire(data: Path) -> None:
    """Generated garbage over UDP and TCP; a good query is answered after every example."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    good = query("web.example.test")
    with ServerThread(data) as srv:

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.binary(max_size=512), st.booleans())
        def send(junk: bytes, tcp: bool) -> None:
            if tcp:
                with socket.create_connection((srv.host, srv.port), 2) as t:
                    t.sendall(tcp_frame(junk) + tcp_frame(good))
                    while True:  # the junk may get an answer (FORMERR...) first
                        reply = tcp_read(t)
                        if reply[:2] == good[:2] and reply[12:] and a_records(reply):
                            break
            else:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(junk, (srv.host, srv.port))
                assert a_records(udp_ask(srv.port, good)) == ["192.0.2.80"]

        send()
        assert a_records(udp_ask(srv.port, good)) == ["192.0.2.80"]


def test_big_zone_rebuilt_off_the_loop(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import swissbox.dns.catalog as catalog

    monkeypatch.setattr(catalog, "BIG_ZONE", 5)  # the sample zone counts as big
    with ServerThread(data) as srv:
        with Directory(data / "swissbox.db") as other:
            other.change_records(ZONE, add=[parse_record(ZONE, "late", "A", "192.0.2.44", 60)])
        deadline = time.monotonic() + 5
        got: list[str] = []
        while time.monotonic() < deadline and not got:
            assert a_records(udp_ask(srv.port, query("web.example.test"))) == ["192.0.2.80"]
            got = a_records(udp_ask(srv.port, query("late.example.test")))
            time.sleep(0.02)
        assert got == ["192.0.2.44"]


def test_big_axfr_streams_and_service_stays_responsive(tmp_path: Path) -> None:
    with Directory(tmp_path / "swissbox.db") as d:
        d.add_org("org")
        d.add_domain(ZONE, "org", f"ns1.{ZONE}")
        d.change_records(
            ZONE,
            add=[
                parse_record(ZONE, f"h{i}", "TXT", f"host number {i} " + "x" * 100, 60)
                for i in range(10000)
            ],
        )
    with ServerThread(tmp_path, allow_transfer=["127.0.0.1"]) as srv:
        t = socket.create_connection((srv.host, srv.port), 5)
        # a transfer, then a query pipelined behind it
        t.sendall(
            tcp_frame(query(ZONE, "AXFR", qid=1))
            + tcp_frame(query("h5.example.test", "TXT", qid=2))
        )
        time.sleep(0.3)  # we do not read: the server must not stall meanwhile
        started = time.monotonic()
        assert DNSRecord.parse(udp_ask(srv.port, query("h7.example.test", "TXT"))).rr
        assert time.monotonic() - started < 0.5
        count, ids = 0, set()
        while True:
            msg = DNSRecord.parse(tcp_read(t))
            ids.add(msg.header.id)
            if msg.header.id == 2:
                break
            count += len(msg.rr)
        t.close()
        assert count == 10000 + 1 + 2 and ids == {1, 2}  # records, apex NS, SOA twice
