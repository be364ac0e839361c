"""NOTIFY retry bounds and the TCP connection limit, on a private event loop."""

from __future__ import annotations

import asyncio
import socket

from dnslib import DNSRecord

from swissbox.dns.notify import Notifier, is_ack, notify_message, parse_targets
from swissbox.dns.tcp import DnsTcpProtocol, TcpState


def test_notify_message_and_ack():
    msg = DNSRecord.parse(notify_message("example.test", 77))
    assert msg.header.opcode == 4 and msg.header.aa and msg.header.id == 77
    reply = msg.reply()
    reply.header.opcode = 4
    assert is_ack(bytes(reply.pack()), 77) and not is_ack(bytes(reply.pack()), 78)
    assert not is_ack(notify_message("example.test", 77), 77)  # a query is no ack


def test_parse_targets():
    assert parse_targets(["192.0.2.1", "192.0.2.2:5300", "[2001:db8::1]:53"]) == [
        ("192.0.2.1", 53),
        ("192.0.2.2", 5300),
        ("2001:db8::1", 53),
    ]


def test_notify_gives_up_after_bounded_attempts():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    target = silent.getsockname()

    async def main() -> tuple[bool, int]:
        n = Notifier([target], first_timeout=0.05, max_timeout=0.1, max_attempts=3)
        n.notify("example.test", 1)
        ok = await next(iter(n.tasks.values()))
        await n.close()
        return ok, 0

    ok, _ = asyncio.run(main())
    silent.settimeout(0.5)
    received = 0
    try:
        while True:
            silent.recvfrom(512)
            received += 1
    except TimeoutError:
        pass
    silent.close()
    assert ok is False and received == 3


def test_tcp_connection_limit():
    async def main() -> tuple[int, bytes]:
        state = TcpState(lambda data, client: [], idle_timeout=5, max_connections=2)
        server = await asyncio.get_running_loop().create_server(
            lambda: DnsTcpProtocol(state), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        await asyncio.sleep(0.1)
        live = len(state.connections)
        third = await asyncio.wait_for(conns[2][0].read(10), 2)  # closed at once
        for _, writer in conns:
            writer.close()
        state.close_all()
        server.close()
        await server.wait_closed()
        return live, third

    live, third = asyncio.run(main())
    assert live == 2 and third == b""
