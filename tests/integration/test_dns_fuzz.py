"""Mutation fuzz on loopback: a few thousand broken queries (bench/dns_fuzz.py sends 50,000)
over UDP and TCP. Every answer is a response to the packet sent and parses with dnspython,
good queries keep being answered throughout, and nothing is logged as an error."""

from __future__ import annotations

import logging
import select
import socket
from pathlib import Path

import dns.message
import pytest

from tests.unit.dns.kit import (
    ServerThread,
    make_directory,
    mutations,
    query,
    tcp_frame,
    tcp_read,
    udp_ask,
)

GOOD = query("web.example.test", qid=9999)


def drain(sock: socket.socket, wait: float) -> list[bytes]:
    out = []
    while select.select([sock], [], [], wait)[0]:
        out.append(sock.recv(65535))
        wait = 0.0
    return out


def check_response(packet: bytes) -> None:
    assert len(packet) >= 12 and packet[2] & 0x80  # a response
    dns.message.from_wire(packet)  # what a client library reads


def test_mutated_queries_never_stop_the_server(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_directory(tmp_path).close()
    caplog.set_level(logging.WARNING, logger="swissbox")
    with ServerThread(tmp_path, allow_transfer=["127.0.0.1"]) as srv:
        sent: set[int] = set()
        answers: list[bytes] = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((srv.host, srv.port))
            for i, packet in enumerate(mutations(3000, seed=11)):
                s.send(packet)
                if len(packet) >= 2:
                    sent.add(int.from_bytes(packet[:2], "big"))
                if i % 100 == 99:
                    answers += drain(s, 0.01)
                if i % 500 == 499:  # a good query still gets its answer
                    assert dns.message.from_wire(udp_ask(srv.port, GOOD)).answer
            answers += drain(s, 0.2)
        for packet in answers:
            check_response(packet)
            assert int.from_bytes(packet[:2], "big") in sent
        assert len(answers) > 1000  # most broken queries get a FORMERR, REFUSED, ... back
        with socket.create_connection((srv.host, srv.port), 2) as t:  # the same over TCP
            for packet in mutations(300, seed=12):
                if len(packet) >= 12 and packet[4:6] == b"\x00\x01":
                    t.sendall(tcp_frame(packet))
            t.sendall(tcp_frame(GOOD))
            while True:
                reply = tcp_read(t)
                check_response(reply)
                if reply[:2] == GOOD[:2] and dns.message.from_wire(reply).answer:
                    break
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not problems, [r.getMessage() for r in problems]
