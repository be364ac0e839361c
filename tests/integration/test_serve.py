"""`swissbox serve` as a subprocess: listeners logged, clean SIGTERM, busy-port error, demo reuse."""

from __future__ import annotations

import socket
import time

from tests.support.stack import Stack


def test_serve_logs_listeners_and_stops_on_sigterm(stack: Stack) -> None:
    log = stack.start()
    assert f"http 127.0.0.1:{stack.ports['http']}" in log
    assert f"https 127.0.0.1:{stack.ports['https']}" in log
    with socket.create_connection(("127.0.0.1", stack.ports["http"]), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert b"swissbox" in s.recv(4096) + s.recv(4096)
    started = time.monotonic()
    assert stack.stop() == 0
    assert time.monotonic() - started < 5


def test_busy_port_is_a_one_line_error(stack: Stack) -> None:
    stack.init()
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", stack.ports["http"]))
    blocker.listen()
    try:
        result = stack.cli("serve", timeout=30)
    finally:
        blocker.close()
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "cannot listen" in line]
    assert errors == [
        f"swissbox: cannot listen on 127.0.0.1:{stack.ports['http']} (http.port): Address already in use"
    ]
    assert "Traceback" not in result.stderr


def test_demo_first_start_creates_then_reuses(stack: Stack) -> None:
    first = stack.cli("demo", check=True).stdout
    assert "demo organization created" in first
    assert "alice@example.test / " in first  # the passwords it made, shown this once
    second = stack.cli("demo", check=True).stdout
    assert "already there" in second
    assert stack.cli("org", "list", check=True).stdout.split() == ["demo"]
    assert "nas.example.test" in stack.cli("ddns", "list", check=True).stdout
    log = stack.start()
    assert "ready" in log
    assert stack.stop() == 0


def test_http_bodies_over_the_limit_get_413_before_buffering(stack: Stack) -> None:
    stack.settings["http"]["max_body"] = 4096
    stack.start()
    try:
        for head in (
            b"POST /nic/update HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n",
            b"POST /nic/update HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        ):
            with socket.create_connection(("127.0.0.1", stack.ports["http"]), timeout=5) as s:
                s.sendall(head)
                if b"chunked" in head:
                    s.sendall(b"2000\r\n" + b"x" * 0x2000 + b"\r\n")
                reply = s.recv(4096)
                assert reply.startswith(b"HTTP/1.1 413"), reply
        with socket.create_connection(("127.0.0.1", stack.ports["http"]), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert b"swissbox" in s.recv(4096) + s.recv(4096)  # the server is fine
    finally:
        assert stack.stop() == 0
