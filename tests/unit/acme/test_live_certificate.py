"""tls.LiveCertificate: new connections get the certificate loaded last, open ones keep theirs,
an unusable pair is refused and the served one kept."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from swissbox.tls import CertPaths, LiveCertificate, TlsError, make_local_ca


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        writer.write(line)
        await writer.drain()
    writer.close()


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, x509.Certificate]:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    return reader, writer, x509.load_der_x509_certificate(der)


async def roundtrip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"ping\n")
    await writer.drain()
    return await reader.readline()


async def test_new_connections_get_the_new_certificate(tmp_path: Path) -> None:
    a = make_local_ca(tmp_path / "a", "a.example.org")
    b = make_local_ca(tmp_path / "b", "b.example.org")
    live = LiveCertificate(a)
    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=live.ssl_context())
    port = server.sockets[0].getsockname()[1]
    try:
        r1, w1, first = await connect(port)
        assert first.subject.rfc4514_string() == "CN=a.example.org"
        live.load(b)
        r2, w2, second = await connect(port)
        assert second.subject.rfc4514_string() == "CN=b.example.org"
        assert await roundtrip(r1, w1) == b"ping\n"  # the old connection goes on
        assert await roundtrip(r2, w2) == b"ping\n"

        broken = CertPaths(a.cert, b.key)  # a key that is not the certificate's
        with pytest.raises(TlsError, match="does not belong"):
            live.load(broken)
        _, w3, third = await connect(port)
        assert third.subject.rfc4514_string() == "CN=b.example.org"
        for w in (w1, w2, w3):
            w.close()
    finally:
        server.close()
        await server.wait_closed()
