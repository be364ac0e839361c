"""ClamAV's clamd over its INSTREAM command, on a Unix socket (a path) or TCP ("ip:port"):
a message with a signature match is refused with 554 5.7.1 naming the signature."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Any

from swissbox.conf import parse_hostport
from swissbox.filter.base import Action, FailurePolicy, Request, ScanError, Scanner, Verdict

INFECTED = "554 5.7.1 Message refused: infected with {signature}"
CHUNK = 64 * 1024
MAX_REPLY = 4096


def parse_reply(reply: bytes) -> str | None:
    """The signature clamd found, None for a clean stream; ScanError for an error reply."""
    text = reply.rstrip(b"\0\r\n").decode("utf-8", "replace")
    _, _, result = text.partition(": ")
    if result == "OK":
        return None
    if result.endswith(" FOUND"):
        signature = result[: -len(" FOUND")].strip()
        if signature and signature.isprintable():
            return signature
    raise ScanError(f"clamd said {text[:100]!r}")


class ClamdScanner(Scanner):
    name = "clamd"

    def __init__(self, policy: FailurePolicy, address: str) -> None:
        super().__init__(policy)
        self.tcp = parse_hostport(address, 3310) if not address.startswith("/") else None
        self.path = address if self.tcp is None else ""
        if self.tcp is None and not self.path:
            raise ValueError(f"{address!r}: give a socket path or ip:port")

    @classmethod
    def from_settings(cls, settings: Any, policy: FailurePolicy) -> ClamdScanner:
        return cls(policy, settings.clamd_socket)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.tcp is not None:
            return await asyncio.open_connection(*self.tcp)
        return await asyncio.open_unix_connection(self.path)

    async def scan(self, request: Request) -> Verdict:
        reader, writer = await self._connect()
        try:
            writer.write(b"zINSTREAM\0")
            data = request.data
            for start in range(0, len(data), CHUNK):
                piece = data[start : start + CHUNK]
                writer.write(struct.pack("!I", len(piece)) + piece)
                await writer.drain()
            writer.write(struct.pack("!I", 0))
            await writer.drain()
            reply = await reader.read(MAX_REPLY)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        if not reply:
            raise ScanError("clamd closed the connection without a reply")
        signature = parse_reply(reply)
        if signature is None:
            return Verdict(summary="clean")
        return Verdict(
            Action.REJECT, INFECTED.format(signature=signature), summary=f"infected={signature}"
        )
