"""Message bytes in flight: a DATA body past DATA_IN_MEMORY waits on disk and is stored byte
for byte; one user's share of the in-flight budget is refused with 452 4.3.1 while other
users' mail goes through, and everything is returned when the sessions end."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import aiosmtplib

from swissbox.smtp.session import DATA_IN_MEMORY
from tests.unit.smtp.harness import MAILBOX_PASSWORD, TITI, TITI_PASSWORD, TOTO, Harness, run

SHARE = 1_000_000


class Client:
    """A submission session over implicit TLS, line by line."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def login(cls, h: Harness, user: str, password: str) -> Client:
        tls = h.client_tls()
        tls.check_hostname = False
        reader, writer = await asyncio.open_connection("127.0.0.1", h.submissions, ssl=tls)
        c = cls(reader, writer)
        assert (await c.reply()).startswith("220")
        assert (await c.cmd(b"EHLO client.example")).startswith("250")
        blob = base64.b64encode(f"\0{user}\0{password}".encode())
        assert (await c.cmd(b"AUTH PLAIN " + blob)).startswith("235")
        return c

    async def reply(self) -> str:
        while True:
            line = (await asyncio.wait_for(self.reader.readline(), 10)).decode()
            if line[3:4] != "-":
                return line.strip()

    async def cmd(self, data: bytes) -> str:
        self.writer.write(data + b"\r\n")
        await self.writer.drain()
        return await self.reply()

    async def start_data(self, sender: str, rcpt: str) -> None:
        assert (await self.cmd(f"MAIL FROM:<{sender}>".encode())).startswith("250")
        assert (await self.cmd(f"RCPT TO:<{rcpt}>".encode())).startswith("250")
        assert (await self.cmd(b"DATA")).startswith("354")

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()


def body(subject: str, size: int) -> bytes:
    line = b"0123456789" * 7 + b"\r\n"
    return f"Subject: {subject}\r\n\r\n".encode() + line * (size // len(line))


def test_a_large_body_is_stored_byte_for_byte(tmp_path: Path) -> None:
    raw = body("large", 3_000_000) + b".starts with a dot\r\n"

    async def main(h: Harness) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=h.mx, start_tls=False) as c:
            await c.sendmail("a@example.org", [TOTO], raw)
        [got] = h.inbox(TOTO)
        assert got.endswith(b"\r\n\r\n" + raw.split(b"\r\n\r\n", 1)[1])
        assert len(raw) > DATA_IN_MEMORY * 10

    run(tmp_path, main)


def test_one_users_share_is_refused_while_others_go_through(tmp_path: Path) -> None:
    async def main(h: Harness) -> None:
        budget = h.service.tracker.data_budget  # type: ignore[union-attr]
        assert budget is not None
        budget.per_key = SHARE
        stalled = await Client.login(h, TOTO, MAILBOX_PASSWORD)
        await stalled.start_data(TOTO, TITI)
        await stalled.send(body("stalled", SHARE - 200_000))  # most of TOTO's share, no dot
        second = await Client.login(h, TOTO, MAILBOX_PASSWORD)
        await second.start_data(TOTO, TITI)
        reply = await second.cmd(body("over", 400_000) + b".")
        assert reply.startswith("452 4.3.1"), reply
        other = await Client.login(h, TITI, TITI_PASSWORD)
        await other.start_data(TITI, TOTO)
        assert (await other.cmd(body("other user", 400_000) + b".")).startswith("250")
        assert (await stalled.cmd(b".")).startswith("250")  # the stalled one completes
        await second.start_data(TOTO, TITI)  # and the refused one may try again
        assert (await second.cmd(body("again", 400_000) + b".")).startswith("250")
        for c in (stalled, second, other):
            await c.close()
        subjects = sorted(m.split(b"Subject: ")[1].split(b"\r\n")[0] for m in h.inbox(TITI))
        assert subjects == [b"again", b"stalled"]
        assert len(h.inbox(TOTO)) == 1
        assert budget.used == 0 and budget.by_key == {}

    run(tmp_path, main)


def test_a_session_gone_mid_data_returns_its_share(tmp_path: Path) -> None:
    async def main(h: Harness) -> None:
        budget = h.service.tracker.data_budget  # type: ignore[union-attr]
        assert budget is not None
        c = await Client.login(h, TOTO, MAILBOX_PASSWORD)
        await c.start_data(TOTO, TITI)
        await c.send(body("gone", 500_000))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while budget.used < 400_000:
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        c.writer.transport.abort()
        while budget.used:
            assert loop.time() < deadline, budget.used
            await asyncio.sleep(0.01)
        assert h.inbox(TITI) == []

    run(tmp_path, main)
