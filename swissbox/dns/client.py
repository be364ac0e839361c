"""A tiny blocking DNS client for the CLI (`dns check`): UDP with EDNS, TCP when truncated.

`system_server()` reads the first nameserver of /etc/resolv.conf (127.0.0.1 when none).
"""

from __future__ import annotations

import secrets
import socket
import struct
from pathlib import Path

from dnslib import EDNS0, QTYPE, DNSRecord

from swissbox.conf import parse_hostport


class QueryError(Exception):
    pass


def system_server(resolv_conf: Path = Path("/etc/resolv.conf")) -> tuple[str, int]:
    try:
        for line in resolv_conf.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1].split("%", 1)[0], 53
    except OSError:
        pass
    return "127.0.0.1", 53


def parse_server(text: str | None) -> tuple[str, int]:
    if not text:
        return system_server()
    parsed = parse_hostport(text, 53)
    if parsed is None:
        raise QueryError(f"--server {text!r}: give IP or IP:PORT")
    return parsed


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise QueryError("connection closed by the server")
        buf += chunk
    return buf


def query(server: tuple[str, int], name: str, rtype: str, timeout: float = 3.0) -> DNSRecord:
    """One question to `server`; the parsed response. QueryError on timeout or bad reply."""
    q = DNSRecord.question(name, rtype)
    q.header.id = secrets.randbelow(65536)
    q.header.rd = 1
    q.add_ar(EDNS0(udp_len=1232))
    packet = bytes(q.pack())
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.connect(server)
            s.send(packet)
            while True:
                data = s.recv(65535)
                if len(data) >= 2 and data[:2] == packet[:2]:
                    break
        reply = DNSRecord.parse(data)
        if reply.header.tc:
            with socket.create_connection(server, timeout=timeout) as t:
                t.sendall(struct.pack("!H", len(packet)) + packet)
                (n,) = struct.unpack("!H", recv_exact(t, 2))
                reply = DNSRecord.parse(recv_exact(t, n))
    except TimeoutError:
        raise QueryError(f"no answer from {server[0]} port {server[1]}") from None
    except OSError as exc:
        raise QueryError(f"cannot ask {server[0]} port {server[1]}: {exc}") from None
    except Exception as exc:  # dnslib parse errors
        raise QueryError(f"unreadable answer from {server[0]}: {exc}") from None
    return reply


def answer_rdatas(reply: DNSRecord, name: str, rtype: str) -> list[object]:
    """RD objects of the answer records owned by `name` with type `rtype`."""
    code = getattr(QTYPE, rtype)
    want = name.rstrip(".").lower()
    return [
        rr.rdata
        for rr in reply.rr
        if rr.rtype == code and str(rr.rname).rstrip(".").lower() == want
    ]
