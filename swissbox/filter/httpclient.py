"""A minimal asynchronous HTTP/1.1 POST for scanner daemons on a trusted network (rspamd's
worker and controller): stdlib asyncio streams, one connection per request, the answer
read whole up to a bound. No TLS, no redirects: these daemons listen on loopback or a LAN."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from swissbox.filter.base import ScanError

MAX_ANSWER = 4 * 1024 * 1024


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    base_path: str

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """'http://host:port[/prefix]' -> Endpoint; ValueError for anything else."""
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"{url!r}: give http://host:port")
        return cls(parts.hostname, parts.port or 80, parts.path.rstrip("/"))


async def post(
    endpoint: Endpoint, path: str, body: bytes, headers: Sequence[tuple[str, str]]
) -> tuple[int, bytes]:
    """(status, body) of `POST path`; ScanError for anything that is not an HTTP answer."""
    reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
    try:
        head = [f"POST {endpoint.base_path}{path} HTTP/1.1", f"Host: {endpoint.host}"]
        head += [f"{k}: {_clean(v)}" for k, v in headers]
        head += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
        writer.write("\r\n".join(head).encode("utf-8", "replace") + body)
        await writer.drain()
        return await _read_answer(reader)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def _clean(value: str) -> str:
    """A header value that cannot break the request (client-given HELO, addresses)."""
    return "".join(c if c.isprintable() else "?" for c in value)[:1000]


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    try:
        status_line = await reader.readuntil(b"\r\n")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ScanError(f"not an HTTP answer: {status_line[:60]!r}")
        length: int | None = None
        chunked = False
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length" and value.strip().isdigit():
                length = int(value.strip())
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            body = await _read_chunked(reader)
        elif length is not None:
            if length > MAX_ANSWER:
                raise ScanError(f"answer of {length} bytes is too big")
            body = await reader.readexactly(length)
        else:
            body = await reader.read(MAX_ANSWER + 1)
            if len(body) > MAX_ANSWER:
                raise ScanError("answer is too big")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise ScanError(f"answer cut short ({exc.__class__.__name__})") from None
    return int(parts[1]), body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size_line = (await reader.readuntil(b"\r\n")).split(b";")[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise ScanError("bad chunk size in answer") from None
        if size == 0:
            return bytes(out)
        if len(out) + size > MAX_ANSWER:
            raise ScanError("answer is too big")
        out += await reader.readexactly(size)
        await reader.readexactly(2)
