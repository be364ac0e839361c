"""Outbound queue drain: N queued messages delivered by one queue runner (in this process) to
a loopback SMTP sink through `relay`, with the state in SQLite (default) or PostgreSQL
(--url). Prints wall time and this process's CPU per message (the sink runs in a thread of
the same process; its share is the same for every backend, so compare the ratio).

    .venv/bin/python bench/queue_bench.py [--messages 2000] [--url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from swissbox.mailstore.queue import OutboundQueue  # noqa: E402
from swissbox.mailstore.queuestate import QueueState  # noqa: E402
from swissbox.smtp.outbound.runner import OutboundSettings, QueueRunner  # noqa: E402


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.count += 1
        return "250 2.0.0 ok"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def drain(root: Path, url: str | None, n: int, sink: Sink, port: int) -> None:
    queue = OutboundQueue(root / "queue")
    body = b"From: a@example.test\r\nSubject: bench\r\n\r\n" + (b"x" * 70 + b"\r\n") * 30
    for i in range(n):
        queue.enqueue("a@example.test", [f"r{i}@remote.test"], body)
    state = QueueState.open(url or root / "queue.db")

    async def bounce(sender: str, data: bytes) -> None:
        pass

    settings = OutboundSettings(hostname="bench.example.test", relay=("127.0.0.1", port))
    runner = QueueRunner(queue, state, settings, bounce)
    wall, cpu = time.perf_counter(), time.process_time()
    runner.start()
    while sink.count < n:
        await asyncio.sleep(0.01)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await runner.stop()
    state.close()
    backend = "postgresql" if url else "sqlite"
    print(
        f"{backend}: {n} messages in {wall:.2f} s ({n / wall:.0f}/s),"
        f" CPU {cpu / n * 1e6:.0f} us per message"
    )


def main() -> None:
    if "-v" in sys.argv:
        import logging

        logging.basicConfig(level=logging.INFO)
        sys.argv.remove("-v")
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--url", help="postgresql:// URL of an empty database")
    args = parser.parse_args()
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(drain(Path(tmp), args.url, args.messages, sink, port))
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
