"""An in-process SmtpService on the test's own event loop, with a small directory.

Directory: org "acme"; mail domain abc.xyz with mailboxes toto@ (also an *account* with another
password), titi@ and full@ (tiny quota); other.test is a hosted DNS zone without mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from swissbox.auth import Authenticator, HashParams, RateLimiter, hash_secret
from swissbox.conf import Config, Settings
from swissbox.directory import Directory
from swissbox.mailstore import MailStore
from swissbox.runtime import Context
from swissbox.smtp.service import SmtpService
from swissbox.tls import CertPaths, client_context, make_local_ca

CHEAP = HashParams(memory_kib=8, iterations=1, lanes=1)
DOMAIN = "abc.xyz"
TOTO, TITI, FULL = f"toto@{DOMAIN}", f"titi@{DOMAIN}", f"full@{DOMAIN}"
MAILBOX_PASSWORD = "mailbox-Secret-1"
ACCOUNT_PASSWORD = "account-Secret-2"
TITI_PASSWORD = "titi-Secret-3"
FULL_QUOTA = 2000


def certificates(base: Path) -> CertPaths:
    return make_local_ca(base / "tls", "mx.abc.xyz")


def build_directory(path: Path) -> Directory:
    d = Directory(path)
    d.add_org("acme")
    d.add_domain(DOMAIN, "acme", nameserver="ns1.abc.xyz")
    d.enable_email(DOMAIN)
    d.add_domain("other.test", "acme", nameserver="ns1.abc.xyz")
    d.add_mailbox(TOTO, hash_secret(MAILBOX_PASSWORD, CHEAP))
    d.add_mailbox(TITI, hash_secret(TITI_PASSWORD, CHEAP))
    d.add_mailbox(FULL, hash_secret("full-Secret-4", CHEAP), quota_bytes=FULL_QUOTA)
    d.add_account(TOTO, hash_secret(ACCOUNT_PASSWORD, CHEAP), "acme")
    return d


def settings(**smtp: Any) -> Settings:
    s = Settings()
    s.server.hostname = "mx.abc.xyz"
    s.server.listen = ["127.0.0.1"]
    s.server.log_level = "warning"
    ports: dict[str, Any] = {"mx_port": 0, "submission_port": 0, "submissions_port": 0}
    # No delivery to the world from in-process tests (the system resolver is not loopback).
    ports["outbound_enabled"] = False
    # Nor DNS checks of senders (SPF/DKIM/DMARC): tests that want them pass inbound_auth=True
    # with their own inbound_resolvers.
    ports["inbound_auth"] = False
    s.smtp = replace(s.smtp, **{**ports, **smtp})
    return s


@dataclass
class Harness:
    service: SmtpService
    ctx: Context
    directory: Directory
    data: Path
    ca: Path

    @property
    def store(self) -> MailStore:
        assert self.service.store is not None
        return self.service.store

    @property
    def mx(self) -> int:
        return self.service.ports["smtp-mx"]

    @property
    def submission(self) -> int:
        return self.service.ports["submission"]

    @property
    def submissions(self) -> int:
        return self.service.ports["submissions"]

    def client_tls(self) -> ssl.SSLContext:
        return client_context(self.ca)

    def inbox(self, address: str = TOTO) -> list[bytes]:
        box = self.store.mailbox(address)
        return [box.fetch("INBOX", m.uid) for m in box.messages("INBOX")]


def make_context(
    tmp_path: Path,
    loop: asyncio.AbstractEventLoop,
    limiter: RateLimiter | None = None,
    tnef: str = "replace",
    **smtp: Any,
) -> Context:
    """The core objects of an SMTP service under `tmp_path/data` (directory, auth, TLS)."""
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    directory = build_directory(data / "swissbox.db")
    s = settings(**smtp)
    s.tnef.mode = tnef
    config = Config(settings=s, data_dir=data, config_path=None)
    auth = Authenticator(
        directory,
        CHEAP,
        limiter or RateLimiter(5, 1000, 300.0, delay_base=0.0, delay_max=0.0),
    )
    return Context(config, directory, auth, certificates(data), loop)


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path,
    limiter: RateLimiter | None = None,
    tnef: str = "replace",
    **smtp: Any,
) -> AsyncIterator[Harness]:
    ctx = make_context(tmp_path, asyncio.get_running_loop(), limiter, tnef, **smtp)
    service = SmtpService(ctx)
    await service.start()
    try:
        assert ctx.tls.ca is not None
        yield Harness(service, ctx, ctx.directory, ctx.config.data_dir, ctx.tls.ca)
    finally:
        await service.stop()
        ctx.directory.close()


def run(tmp_path: Path, body: Callable[[Harness], Awaitable[None]], **kw: Any) -> None:
    """`body(harness)` against a fresh in-process service (`running(**kw)`), 30 s at most."""

    async def main() -> None:
        async with running(tmp_path, **kw) as h:
            await asyncio.wait_for(body(h), 30)

    asyncio.run(main())


class Raw:
    """A line-oriented raw client (asyncio streams): write exact bytes, read replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, greet: bool = True) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        raw = cls(reader, writer)
        if greet:
            banner = await raw.reply()
            assert banner.startswith("220"), banner
        return raw

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def reply(self, timeout: float = 5.0) -> str:
        """One complete (possibly multi-line) reply, lines joined by newlines."""
        lines = []
        while True:
            line = await asyncio.wait_for(self.reader.readline(), timeout)
            if not line:
                raise ConnectionError("closed: " + "\n".join(lines))
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                return "\n".join(lines)

    async def cmd(self, line: str | bytes) -> str:
        data = line if isinstance(line, bytes) else line.encode() + b"\r\n"
        await self.send(data)
        return await self.reply()

    async def closed(self, timeout: float = 5.0) -> bool:
        try:
            rest = await asyncio.wait_for(self.reader.read(), timeout)
        except (TimeoutError, ConnectionError):
            return False
        return rest == b"" or rest.endswith(b"\r\n")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


def message(
    subject: str = "hello",
    to: str = TOTO,
    body: str = "Hi there.\r\n",
    sender: str = "alice@example.org",
) -> bytes:
    return (
        f"From: Alice <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.org>\r\nDate: Mon, 2 Jan 2023 10:00:00 +0000\r\n"
        f"\r\n{body}"
    ).encode()
