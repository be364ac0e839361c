"""Listening sockets (runtime.stream_socket/udp_socket): IPv6 ones are IPv6-only, so the
wildcard pair a production config lists, "0.0.0.0" and "::", binds the same port twice
(before, "::" was dual-stack and took the IPv4 port too: the server did not start)."""

from __future__ import annotations

import socket

import pytest

from swissbox.runtime import BindError, stream_socket, udp_socket


def test_the_wildcard_pair_shares_a_port_for_tcp_and_udp() -> None:
    first = stream_socket("::", 0, "test.port")
    port = first.getsockname()[1]
    try:
        assert first.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        second = stream_socket("0.0.0.0", port, "test.port")
        second.close()
        udp6 = udp_socket("::", port, "test.port")
        udp4 = udp_socket("0.0.0.0", port, "test.port")
        assert udp6.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        udp6.close()
        udp4.close()
    finally:
        first.close()


def test_a_taken_port_is_a_bind_error_naming_the_key() -> None:
    taken = stream_socket("127.0.0.1", 0, "test.port")
    try:
        with pytest.raises(BindError) as err:
            stream_socket("127.0.0.1", taken.getsockname()[1], "imap.port")
        assert "imap.port" in str(err.value) and err.value.reason
    finally:
        taken.close()
