"""The ManageSieve listener ([managesieve] port, default 14190; STARTTLS; AUTH in the
mailbox realm)."""

from __future__ import annotations

import asyncio
import logging

from swissbox.managesieve.protocol import response
from swissbox.managesieve.session import Session
from swissbox.runtime import Context, fmt_addr, listen_tcp

log = logging.getLogger("swissbox.managesieve")


class ManageSieveService:
    name = "managesieve"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.servers: list[asyncio.Server] = []
        self.connections: dict[str, int] = {}  # per client address

    async def start(self) -> list[str]:
        settings = self.ctx.settings
        conf = settings.managesieve
        tls = self.ctx.certs.ssl_context()
        loop = asyncio.get_running_loop()
        addresses = list(settings.server.listen)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("peername")
            client = str(peer[0]) if peer else ""
            loopback = client in ("127.0.0.1", "::1")
            if self.connections.get(client, 0) >= conf.max_connections_per_address:
                log.info("managesieve: too many connections from %s", client)
                writer.write(response("BYE", "too many connections from your address"))
                writer.close()
                return
            self.connections[client] = self.connections.get(client, 0) + 1
            session = Session(
                reader,
                writer,
                self.ctx.directory,
                self.ctx.authenticator.authenticate_async,
                tls,
                conf.idle_timeout,
                allow_plaintext=conf.allow_plaintext_loopback and loopback,
                login_timeout=conf.login_timeout,
            )
            try:
                await session.run()
            except Exception:  # one connection's bug must not stop the listener
                log.exception("managesieve: session from %s failed", peer)
            finally:
                left = self.connections.get(client, 1) - 1
                if left > 0:
                    self.connections[client] = left
                else:
                    self.connections.pop(client, None)

        def factory() -> asyncio.StreamReaderProtocol:
            reader = asyncio.StreamReader(limit=1 << 16)
            return asyncio.StreamReaderProtocol(reader, handle)

        self.servers = await listen_tcp(loop, factory, addresses, conf.port, "managesieve.port")
        return [f"managesieve {fmt_addr(a, conf.port)}" for a in addresses]

    async def stop(self) -> None:
        for server in self.servers:
            server.close()
        for server in self.servers:
            await server.wait_closed()
        self.servers = []
