"""A scripted DNS server on loopback UDP for unit tests: `answer(query)` returns the reply to
send, or None to stay silent (a server that never answers)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dnslib import DNSRecord


@contextmanager
def udp_dns(answer: Callable[[DNSRecord], DNSRecord | None]) -> Iterator[tuple[str, int]]:
    """Serves on a thread until the block ends; yields (host, port)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = server.recvfrom(4096)
            except TimeoutError:
                continue
            reply = answer(DNSRecord.parse(data))
            if reply is not None:
                server.sendto(reply.pack(), peer)

    thread = threading.Thread(target=serve, name="loop-dns", daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        server.close()
