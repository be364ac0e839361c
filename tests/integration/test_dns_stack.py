"""The DNS service inside `swissbox serve`: CLI changes are served without restart, and the
listeners follow `[server] listen` (IPv6 included)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from dnslib import QTYPE, DNSRecord

from tests.support.stack import Stack
from tests.unit.dns.kit import query, tcp_frame, tcp_read


def ask(host: str, port: int, name: str, rtype: str = "A") -> DNSRecord:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(query(name, rtype), (host, port))
        return DNSRecord.parse(s.recvfrom(65535)[0])


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_serve_answers_and_follows_cli(tmp_path: Path) -> None:
    listen = ["127.0.0.1", "::1"] if has_ipv6_loopback() else ["127.0.0.1"]
    with Stack(tmp_path, server={"listen": listen}) as stack:
        stack.provision()
        log = stack.start()
        port = stack.ports["dns"]
        assert f"dns udp 127.0.0.1:{port}" in log
        mx = ask("127.0.0.1", port, "example.test", "MX")
        assert mx.header.aa and [rr.rtype for rr in mx.rr] == [QTYPE.MX]
        r = stack.cli("dns", "add", "example.test", "www", "A", "192.0.2.10")
        assert r.returncode == 0, r.stderr
        assert [str(rr.rdata) for rr in ask("127.0.0.1", port, "www.example.test").rr] == [
            "192.0.2.10"
        ]
        bad = stack.cli("dns", "add", "example.test", "www", "CNAME", "elsewhere.test.")
        assert bad.returncode == 1 and "CNAME" in bad.stderr
        with socket.create_connection(("127.0.0.1", port), 3) as s:
            s.sendall(tcp_frame(query("www.example.test")))
            assert DNSRecord.parse(tcp_read(s)).rr[0].rdata.toZone() == "192.0.2.10"
        if "::1" in listen:
            assert f"dns udp [::1]:{port}" in log
            assert ask("::1", port, "www.example.test").rr[0].rdata.toZone() == "192.0.2.10"
        r = stack.cli("dns", "check", "example.test", "--server", f"127.0.0.1:{port}")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "all mail records are in place" in r.stdout
        started = time.monotonic()
        assert stack.stop() == 0
        assert time.monotonic() - started < 5


def test_busy_dns_port_is_reported(tmp_path: Path) -> None:
    with Stack(tmp_path) as stack:
        stack.provision()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
            busy.bind(("127.0.0.1", stack.ports["dns"]))
            with pytest.raises(AssertionError, match="dns.port"):
                stack.start(timeout=10)
