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


async def tcp_server(state: TcpState) -> tuple[asyncio.Server, int]:
    server = await asyncio.get_running_loop().create_server(
        lambda: DnsTcpProtocol(state), "127.0.0.1", 0
    )
    return server, server.sockets[0].getsockname()[1]


async def closed(reader: asyncio.StreamReader) -> bool:
    """True when the server closed (or reset) the connection within a second."""
    try:
        return await asyncio.wait_for(reader.read(10), 1) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


def test_tcp_per_client_limit_and_eviction_when_full():
    async def main() -> None:
        # per address: the third from one address is closed at once
        state = TcpState(lambda data, client: [], idle_timeout=5, max_per_client=2)
        server, port = await tcp_server(state)
        conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        assert await closed(conns[2][0])
        assert len(state.connections) == 2 and state.per_client == {"127.0.0.1": 2}
        for _, writer in conns:
            writer.close()
        state.close_all()
        server.close()
        await server.wait_closed()
        # full: a newcomer takes the slot of the longest-idle connection
        state = TcpState(lambda data, client: [], idle_timeout=5, max_connections=2)
        server, port = await tcp_server(state)
        conns = []
        for _ in range(3):
            conns.append(await asyncio.open_connection("127.0.0.1", port))
            await asyncio.sleep(0.05)
        assert await closed(conns[0][0])  # the oldest went
        assert not await closed(conns[2][0])  # the newcomer stays
        assert len(state.connections) == 2 and state.per_client == {"127.0.0.1": 2}
        for _, writer in conns:
            writer.close()
        state.close_all()
        server.close()
        await server.wait_closed()

    asyncio.run(main())


def test_tcp_connections_in_a_transfer_are_never_evicted():
    def endless_transfer(data: bytes, client: str):  # type: ignore[no-untyped-def]
        while True:
            yield b"x" * 60000

    async def main() -> None:
        state = TcpState(endless_transfer, idle_timeout=5, max_connections=2)
        server, port = await tcp_server(state)
        busy = []
        for _ in range(2):  # two clients that asked for a transfer and do not read it
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x00\x0c" + b"\x00" * 12)
            busy.append((reader, writer))
        await asyncio.sleep(0.2)
        assert all(conn.stream is not None for conn in state.connections)
        third = await asyncio.open_connection("127.0.0.1", port)
        assert await closed(third[0])  # refused: nothing idle to make room
        assert len(state.connections) == 2
        for _, writer in [*busy, third]:
            writer.close()
        state.close_all()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
