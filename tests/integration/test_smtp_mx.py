"""MX ingress, in-process on loopback: EHLO, recipients, relay tricks, limits, Received:."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from pathlib import Path

import aiosmtplib
import pytest

from tests.unit.smtp.harness import (
    DOMAIN,
    FULL,
    FULL_QUOTA,
    TITI,
    TOTO,
    Harness,
    Raw,
    message,
    run,
)


def test_ehlo_extensions_and_no_auth(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        ehlo = await r.cmd("EHLO client.example")
        for ext in (
            "SIZE",
            "8BITMIME",
            "SMTPUTF8",
            "PIPELINING",
            "ENHANCEDSTATUSCODES",
            "STARTTLS",
        ):
            assert f"250-{ext}" in ehlo or f"250 {ext}" in ehlo, ehlo
        assert "AUTH" not in ehlo
        assert (await r.cmd("AUTH PLAIN AHRvdG9AYWJjLnh5egB4")).startswith("502 5.5.1")
        assert (await r.cmd("STARTTLS")).startswith("220")
        reader, writer = r.reader, r.writer
        await writer.start_tls(h.client_tls(), server_hostname="localhost")
        tls = Raw(reader, writer)
        ehlo = await tls.cmd("EHLO client.example")
        assert "STARTTLS" not in ehlo and "AUTH" not in ehlo
        assert (await tls.cmd("AUTH LOGIN")).startswith("502 5.5.1")
        await tls.close()

    run(tmp_path, body)


def test_delivery_with_smtplib_adds_received(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        def send() -> dict[str, tuple[int, bytes]]:
            with smtplib.SMTP("127.0.0.1", h.mx, local_hostname="sender.example") as s:
                return s.sendmail("alice@example.org", [TOTO, "TITI@ABC.XYZ"], message())

        assert await asyncio.to_thread(send) == {}
        [got] = h.inbox(TOTO)
        assert got.endswith(message())
        # RFC 5321 4.4: final delivery puts the envelope sender on top, then our trace line
        assert got.startswith(
            b"Return-Path: <alice@example.org>\r\n"
            b"Received: from sender.example ([127.0.0.1])\r\n\tby mx.abc.xyz"
        )
        assert b"with ESMTP\r\n" in got or b"with ESMTP " in got.split(b"\r\n")[2] + b" "
        assert h.inbox(TITI)[0].endswith(message())

    run(tmp_path, body)


def test_received_names_tls_protocol_and_cipher(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        client = aiosmtplib.SMTP(
            hostname="127.0.0.1", port=h.mx, tls_context=h.client_tls(), start_tls=True
        )
        async with client:
            await client.sendmail("alice@example.org", [TOTO], message())
        [got] = h.inbox(TOTO)
        assert b"with ESMTPS (TLSv1.3:TLS_" in got

    run(tmp_path, body)


def test_unknown_recipient_and_relay_denied(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        assert (await r.cmd("MAIL FROM:<a@example.org>")).startswith("250")
        assert (await r.cmd("RCPT TO:<nobody@abc.xyz>")).startswith("550 5.1.1")
        assert (await r.cmd("RCPT TO:<x@gmail.com>")).startswith("554 5.7.1")
        # a hosted DNS zone without an Email Service is not a mail domain
        assert (await r.cmd("RCPT TO:<x@other.test>")).startswith("554 5.7.1")
        assert (await r.cmd("DATA")).startswith("503 5.5.1")
        await r.close()

    run(tmp_path, body)


RELAY_TRICKS = [
    "<user%gmail.com@abc.xyz>",
    "<user%gmail.com>",
    "<gmail.com!user@abc.xyz>",
    "<gmail.com!user>",
    "<@abc.xyz:user@gmail.com>",
    "<@abc.xyz,@abc.xyz:user@gmail.com>",
    '<"user@gmail.com"@abc.xyz>',
    '<"user@gmail.com">',
    '<"user%gmail.com"@abc.xyz>',
    "<user@[127.0.0.1]>",
    "<toto@[127.0.0.1]>",
    "<user@[IPv6:::1]>",
    "<user@gmail.com.>",
    "<USER@GMAIL.COM>",
    "<user@GMail.Com.>",
    "<toto@abc.xyz@gmail.com>",
    "<user@gmail.com@abc.xyz>",
    "<user@abc.xyz.gmail.com>",
    "<user@gmail.com",
    "user@gmail.com",
    "<user@localhost>",
    "<postmaster@gmail.com>",
    "<user@127.0.0.1>",
]


def test_no_open_relay_trick_relays(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        for trick in RELAY_TRICKS:
            await r.cmd("RSET")
            assert (await r.cmd("MAIL FROM:<a@example.org>")).startswith("250")
            reply = await r.cmd(f"RCPT TO:{trick}")
            assert reply[:1] in ("5",), (trick, reply)
            assert reply.startswith(("550 5.1.1", "554 5.7.1", "553 5.1.3", "501 ")), (trick, reply)
        await r.close()
        assert not (h.data / "queue").exists() or not list((h.data / "queue").glob("*.msg"))

    run(tmp_path, body, max_errors=1000)


def test_source_route_to_hosted_address_is_local_delivery(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        await r.cmd("MAIL FROM:<a@example.org>")
        assert (await r.cmd("RCPT TO:<@gmail.com:toto@abc.xyz>")).startswith("250")
        assert (await r.cmd("DATA")).startswith("354")
        assert (await r.cmd(message() + b".\r\n")).startswith("250")
        await r.close()
        assert len(h.inbox(TOTO)) == 1

    run(tmp_path, body)


def test_mixed_case_reaches_the_mailbox_and_trailing_dot_is_malformed(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=h.mx, start_tls=False) as c:
            await c.sendmail("a@example.org", ["ToTo@Abc.XYZ"], message())
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
                await c.sendmail("a@example.org", ["toto@abc.xyz."], message())
            assert refused.value.recipients[0].code == 553
        assert len(h.inbox(TOTO)) == 1

    run(tmp_path, body)


def test_message_size_limit(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        assert "250-SIZE 4096" in (await r.cmd("EHLO c"))
        assert (await r.cmd("MAIL FROM:<a@example.org> SIZE=5000")).startswith("552 5.3.4")
        assert (await r.cmd("MAIL FROM:<a@example.org>")).startswith("250")
        assert (await r.cmd("RCPT TO:<toto@abc.xyz>")).startswith("250")
        assert (await r.cmd("DATA")).startswith("354")
        big = message(body="x" * 70 + "\r\n") * 80
        assert (await r.cmd(big + b".\r\n")).startswith("552 5.3.4")
        assert (await r.cmd("NOOP")).startswith("250")
        await r.close()
        assert h.inbox(TOTO) == []

    run(tmp_path, body, max_message_size=4096)


def test_long_lines_are_accepted(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        line = "y" * 5000
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=h.mx, start_tls=False) as c:
            await c.sendmail("a@example.org", [TOTO], message(body=line + "\r\n"))
        assert h.inbox(TOTO)[0].endswith(line.encode() + b"\r\n")

    run(tmp_path, body)


def test_recipient_limit(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        await r.cmd("MAIL FROM:<a@example.org>")
        assert (await r.cmd(f"RCPT TO:<{TOTO}>")).startswith("250")
        assert (await r.cmd(f"RCPT TO:<{TITI}>")).startswith("250")
        assert (await r.cmd(f"RCPT TO:<{FULL}>")).startswith("452 4.5.3")
        await r.close()

    run(tmp_path, body, max_recipients=2)


def test_errors_per_session_then_disconnect(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        await r.cmd("MAIL FROM:<a@example.org>")
        assert (await r.cmd("RCPT TO:<x1@gmail.com>")).startswith("554")
        assert (await r.cmd("RCPT TO:<x2@gmail.com>")).startswith("554")
        await r.send(b"RCPT TO:<x3@gmail.com>\r\n")
        last = await r.reply()
        assert last.startswith("554")
        assert (await r.reply()).startswith("421 4.7.0")
        assert await r.closed()

    run(tmp_path, body, max_errors=3)


def test_idle_timeout(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        assert (await r.reply(timeout=5)).startswith("421 4.4.2")
        assert await r.closed()

    run(tmp_path, body, idle_timeout=0.3)


def test_total_session_timeout_even_when_busy(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        got = ""
        for _ in range(40):
            await r.send(b"NOOP\r\n")
            got = await r.reply()
            if got.startswith("421"):
                break
            await asyncio.sleep(0.05)
        assert got.startswith("421 4.4.2"), got
        assert await r.closed()

    run(tmp_path, body, session_timeout=0.5, idle_timeout=30)


def test_connections_per_client_address(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        first = [await Raw.connect(h.mx) for _ in range(3)]
        extra = await Raw.connect(h.mx, greet=False)
        assert (await extra.reply()).startswith("421 4.7.0")
        assert await extra.closed()
        await first[0].cmd("QUIT")
        await first[0].close()
        await asyncio.sleep(0.1)
        again = await Raw.connect(h.mx)
        assert (await again.cmd("NOOP")).startswith("250")
        for r in [*first[1:], again]:
            await r.close()

    run(tmp_path, body, max_connections_per_address=3)


def test_quota_at_rcpt_and_data(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        await r.cmd(f"MAIL FROM:<a@example.org> SIZE={FULL_QUOTA + 1}")
        assert (await r.cmd(f"RCPT TO:<{FULL}>")).startswith("552 5.2.2")
        await r.cmd("RSET")
        await r.cmd("MAIL FROM:<a@example.org>")
        assert (await r.cmd(f"RCPT TO:<{FULL}>")).startswith("250")
        await r.cmd("DATA")
        assert (await r.cmd(message(body="z" * 3000 + "\r\n") + b".\r\n")).startswith("552 5.2.2")
        # something that fits, then fill it up (e.g. IMAP APPEND): full at RCPT time
        await r.cmd("MAIL FROM:<a@example.org>")
        await r.cmd(f"RCPT TO:<{FULL}>")
        await r.cmd("DATA")
        assert (await r.cmd(message(body="z" * 1000 + "\r\n") + b".\r\n")).startswith("250")
        await asyncio.to_thread(h.store.mailbox(FULL).append, "Sent", b"x" * FULL_QUOTA)
        await r.cmd("MAIL FROM:<a@example.org>")
        assert (await r.cmd(f"RCPT TO:<{FULL}>")).startswith("452 4.2.2")
        await r.close()

    run(tmp_path, body)


def test_pipelining_in_one_write(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.send(
            b"EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<toto@abc.xyz>\r\n"
            b"RCPT TO:<nobody@abc.xyz>\r\nDATA\r\n"
        )
        assert (await r.reply()).startswith("250-")
        assert (await r.reply()).startswith("250 2.1.0")
        assert (await r.reply()).startswith("250 2.1.5")
        assert (await r.reply()).startswith("550 5.1.1")
        assert (await r.reply()).startswith("354")
        await r.send(message() + b".\r\nQUIT\r\n")
        assert (await r.reply()).startswith("250 2.0.0")
        assert (await r.reply()).startswith("221")
        assert len(h.inbox(TOTO)) == 1

    run(tmp_path, body)


@pytest.mark.parametrize("utf8", [True])
def test_smtputf8_and_8bit(tmp_path: Path, utf8: bool) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        assert (await r.cmd("MAIL FROM:<jörg@exämple.org> SMTPUTF8 BODY=8BITMIME")).startswith(
            "250"
        )
        assert (await r.cmd(f"RCPT TO:<{TOTO}>")).startswith("250")
        await r.cmd("DATA")
        text = "Subject: Grüße\r\n\r\nÄrger über Öl\r\n".encode()
        assert (await r.cmd(text + b".\r\n")).startswith("250")
        await r.close()
        assert h.inbox(TOTO)[0].endswith(text)

    run(tmp_path, body)


def test_starttls_wrong_client_certificate_is_not_needed(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        async with aiosmtplib.SMTP(
            hostname="127.0.0.1", port=h.mx, tls_context=ctx, start_tls=True
        ) as c:
            assert c.is_connected
            await c.sendmail("a@example.org", [TOTO], message())
        assert len(h.inbox()) == 1

    run(tmp_path, body)


def test_domain_is_case_insensitive_in_store(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=h.mx, start_tls=False) as c:
            await c.sendmail("a@example.org", [f"TOTO@{DOMAIN.upper()}"], message("one"))
            await c.sendmail("a@example.org", [TOTO], message("two"))
        assert len(h.inbox(TOTO)) == 2

    run(tmp_path, body)


def test_data_in_odd_pieces_with_pipelined_commands(tmp_path: Path) -> None:
    """The end of DATA found across writes of any size; bytes after it stay commands."""

    async def body(h: Harness) -> None:
        payloads = [
            b"Subject: a\r\n\r\n..dot\r\nline\r\n",
            b"",  # an empty message
            b"\r\n",
            b".x\r\n..\r\n",  # stuffed lines, one of them a stuffed terminator look-alike
        ]
        for n, payload in enumerate(payloads):
            for piece in (1, 2, 3, 7, 4096):
                r = await Raw.connect(h.mx)
                await r.cmd("EHLO c")
                await r.cmd("MAIL FROM:<a@example.org>")
                await r.cmd(f"RCPT TO:<{TOTO}>")
                assert (await r.cmd("DATA")).startswith("354")
                wire = payload + b".\r\nNOOP\r\nQUIT\r\n"
                for i in range(0, len(wire), piece):
                    await r.send(wire[i : i + piece])
                    await asyncio.sleep(0)
                assert (await r.reply()).startswith("250 2.0.0 OK: delivered"), (n, piece)
                assert (await r.reply()).startswith("250 2.0.0"), (n, piece)
                assert (await r.reply()).startswith("221"), (n, piece)
                await r.close()
        stored = [m.split(b"\r\n", 5)[5] for m in h.inbox(TOTO)]  # Return-Path, Received
        expected = [b"Subject: a\r\n\r\n.dot\r\nline\r\n", b"", b"\r\n", b"x\r\n.\r\n"]
        assert stored == [e for e in expected for _ in range(5)]

    run(tmp_path, body)


def test_oversized_data_is_drained_and_the_session_goes_on(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        for size in (4097 - len(message(body="")) - 2, 300_000):
            await r.cmd("MAIL FROM:<a@example.org>")
            await r.cmd(f"RCPT TO:<{TOTO}>")
            await r.cmd("DATA")
            await r.send(message(body="q" * size + "\r\n") + b".\r\n")
            assert (await r.reply()).startswith("552 5.3.4")
        await r.cmd("MAIL FROM:<a@example.org>")
        await r.cmd(f"RCPT TO:<{TOTO}>")
        await r.cmd("DATA")
        exact = message(body="")
        exact += b"e" * (4096 - len(exact) - 2) + b"\r\n"
        assert len(exact) == 4096
        assert (await r.cmd(exact + b".\r\n")).startswith("250 2.0.0")
        await r.close()
        assert [m.endswith(exact) for m in h.inbox(TOTO)] == [True]

    run(tmp_path, body, max_message_size=4096)


def test_pipelined_replies_leave_in_one_write(tmp_path: Path) -> None:
    """RFC 2920: replies to a pipelined group may be held until the group is answered."""

    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        await r.send(
            b"MAIL FROM:<a@example.org>\r\nRCPT TO:<toto@abc.xyz>\r\nRCPT TO:<x@gmail.com>\r\n"
            b"RCPT TO:<titi@abc.xyz>\r\nDATA\r\n"
        )
        chunk = await asyncio.wait_for(r.reader.readuntil(b"354 "), 5)
        assert chunk.count(b"\r\n") == 4, chunk  # four replies ...
        await r.reader.readline()
        await r.send(message() + b".\r\nRSET\r\nNOOP\r\nQUIT\r\n")
        assert (await r.reply()).startswith("250 2.0.0 OK: delivered")
        assert (await r.reply()).startswith("250")
        assert (await r.reply()).startswith("250")
        assert (await r.reply()).startswith("221")
        assert await r.closed()

    run(tmp_path, body)


def test_shared_data_memory_cap_answers_452(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        assert h.service.tracker is not None and h.service.tracker.data_budget is not None
        h.service.tracker.data_budget.total = h.service.tracker.data_budget.per_key = 5000
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        await r.cmd("MAIL FROM:<a@example.org>")
        await r.cmd(f"RCPT TO:<{TOTO}>")
        await r.cmd("DATA")
        assert (await r.cmd(message(body="m" * 8000 + "\r\n") + b".\r\n")).startswith("452 4.3.1")
        await r.cmd("MAIL FROM:<a@example.org>")
        await r.cmd(f"RCPT TO:<{TOTO}>")
        await r.cmd("DATA")
        assert (await r.cmd(message() + b".\r\n")).startswith("250 2.0.0")
        await r.close()
        assert len(h.inbox(TOTO)) == 1 and h.service.tracker.data_budget.used == 0

    run(tmp_path, body)
