"""DNS over TCP under connection pressure: one client address cannot hold every slot, and idle
connections give way to new clients when the server is full (RFC 7766 6.2.3)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from dnslib import QTYPE, DNSRecord

from tests.support.polling import eventually
from tests.unit.dns.kit import ServerThread, make_directory, query, tcp_frame, tcp_read


@pytest.fixture
def data(tmp_path: Path) -> Path:
    make_directory(tmp_path).close()
    return tmp_path


def connect(srv: ServerThread, source: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    s.bind((source, 0))
    s.connect((srv.host, srv.port))
    return s


def answered(s: socket.socket, qid: int = 7) -> bool:
    """True when the connection answers a query (False when the server closed it)."""
    try:
        s.sendall(tcp_frame(query("web.example.test", qid=qid)))
        reply = DNSRecord.parse(tcp_read(s))
    except (OSError, ConnectionError):
        return False
    return reply.header.id == qid and [QTYPE[rr.rtype] for rr in reply.rr] == ["A"]


def closed_by_server(s: socket.socket) -> bool:
    s.settimeout(0.5)
    try:
        return s.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def live(srv: ServerThread) -> int:
    return int(srv.call(lambda: len(srv.service.tcp_state.connections)))


def test_one_address_holding_300_idle_connections_does_not_stop_others(data: Path) -> None:
    """Defaults: what NSD and Knot survive (they kept answering with 300 held)."""
    with ServerThread(data) as srv:
        hog = [connect(srv, "127.0.0.1") for _ in range(300)]
        try:
            assert eventually(lambda: live(srv) <= 64, 5)  # only the per-address share is kept
            others = [connect(srv, "127.0.0.2") for _ in range(3)]
            assert all(answered(s, qid=i) for i, s in enumerate(others))
            for s in others:
                s.close()
        finally:
            for s in hog:
                s.close()


def test_per_address_limit_and_eviction_of_idle_connections_when_full(data: Path) -> None:
    with ServerThread(
        data, tcp_max_connections=24, tcp_max_per_client=4, tcp_busy_idle_timeout=0.2
    ) as srv:
        hog = [connect(srv, "127.0.0.1") for _ in range(10)]
        # beyond its 4, the hog's new connections are closed at once; its first 4 still work
        assert sum(closed_by_server(s) for s in hog[4:]) == 6
        assert all(answered(s) for s in hog[:4])
        # 6 more addresses with 4 idle connections each fill the server ...
        crowd = [connect(srv, f"127.0.1.{i}") for i in range(6) for _ in range(4)]
        assert eventually(lambda: live(srv) <= 24, 5)
        # ... a newcomer is still served: idle connections make room
        for i in range(5):
            newcomer = connect(srv, f"127.0.2.{i}")
            assert answered(newcomer, qid=100 + i), i
            newcomer.close()
        assert live(srv) <= 24
        for s in hog + crowd:
            s.close()
        assert eventually(lambda: live(srv) == 0, 5)


def test_fifty_clients_at_once_with_hogs_mixed_in(data: Path) -> None:
    """Fifty addresses each with a working connection, and hogs opening idle ones meanwhile."""
    import threading

    results: list[bool] = []
    lock = threading.Lock()
    with ServerThread(data, tcp_max_connections=64, tcp_max_per_client=4) as srv:

        def client(i: int) -> None:
            sockets = []
            try:
                if i % 5 == 0:  # a hog: many idle connections, never a query
                    sockets = [connect(srv, f"127.0.3.{i}") for _ in range(12)]
                    time.sleep(0.3)
                    return
                s = connect(srv, f"127.0.4.{i}")
                sockets.append(s)
                ok = all(answered(s, qid=j) for j in range(5))
                with lock:
                    results.append(ok)
            finally:
                for s in sockets:
                    s.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert results == [True] * 40
        assert eventually(lambda: live(srv) == 0, 5)
