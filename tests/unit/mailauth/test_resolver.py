"""The dnspython-backed resolver on loopback: a DNS server that never answers is a
DnsTempError after the configured time, which the checks turn into temperror."""

from __future__ import annotations

import socket

from swissbox.mailauth.resolver import DnsResolver, DnsTempError
from swissbox.mailauth.spf import check_host


async def test_silent_server_is_a_temperror() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # reads nothing, answers nothing
        port = silent.getsockname()[1]
        resolver = DnsResolver([("127.0.0.1", port)], timeout=0.3)
        try:
            await resolver.lookup("sender.test", "TXT")
        except DnsTempError as exc:
            assert "sender.test" in str(exc)
        else:
            raise AssertionError("no DnsTempError")
        got = await check_host(resolver, "192.0.2.1", "a@sender.test", "h.sender.test")
        assert got.result == "temperror"
