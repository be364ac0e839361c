"""SMTP smuggling and STARTTLS command injection, with raw bytes on a socket.

Published payloads (SEC Consult, 2023): a DATA body carrying `<LF>.<LF>`, `<LF>.<CR><LF>`,
`<CR>.<CR><LF>` ... followed by a second MAIL FROM. swissbox must never turn one DATA into two
messages, and refuses bare line ends outright (550 5.5.2).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.unit.smtp.harness import TITI, TOTO, Harness, Raw, run

SMUGGLED = (
    b"MAIL FROM:<admin@bank.example>\r\nRCPT TO:<titi@abc.xyz>\r\nDATA\r\n"
    b"From: admin@bank.example\r\nSubject: smuggled\r\n\r\nsmuggled\r\n"
)
ENDINGS = [
    b"\n.\n",
    b"\n.\r\n",
    b"\r.\r\n",
    b"\r\n.\r",
    b"\r\n.\n",
    b"\r.\n",
    b"\r\n\x00.\r\n",
    b"\n.",
]


@pytest.mark.parametrize("ending", ENDINGS, ids=[repr(e) for e in ENDINGS])
def test_smuggling_payloads_never_make_two_messages(tmp_path: Path, ending: bytes) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO attacker.example")
        await r.cmd("MAIL FROM:<user@attacker.example>")
        assert (await r.cmd(f"RCPT TO:<{TOTO}>")).startswith("250")
        assert (await r.cmd("DATA")).startswith("354")
        await r.send(
            b"From: user@attacker.example\r\nSubject: first\r\n\r\nfirst"
            + ending
            + SMUGGLED
            + b"\r\n.\r\n"
        )
        reply = await r.reply()
        # one reply for the whole DATA: refused for its bare line end, never "250" then more
        if b"\x00" in ending:  # no bare line end: one (odd) message, never two
            assert reply.startswith("250 2.0.0"), reply
        else:
            assert reply.startswith("550 5.5.2"), reply
        assert (await r.cmd("NOOP")).startswith("250"), "no leftover replies"
        await r.close()
        assert len(h.inbox(TOTO)) == (1 if b"\x00" in ending else 0)
        assert h.inbox(TITI) == []

    run(tmp_path, body)


def test_clean_message_is_one_message_even_with_smtp_inside(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        await r.cmd("MAIL FROM:<user@attacker.example>")
        await r.cmd(f"RCPT TO:<{TOTO}>")
        await r.cmd("DATA")
        # a dot-stuffed line and SMTP commands in the body are just text
        await r.send(b"Subject: one\r\n\r\n..\r\n" + SMUGGLED + b".\r\n")
        assert (await r.reply()).startswith("250 2.0.0")
        assert (await r.cmd("NOOP")).startswith("250 2.0.0")
        await r.close()
        [only] = h.inbox(TOTO)
        assert only.endswith(b"\r\n\r\n.\r\n" + SMUGGLED)
        assert h.inbox(TITI) == []

    run(tmp_path, body)


def test_bare_lf_command_is_refused_and_disconnects(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        reply = await r.cmd(b"MAIL FROM:<a@example.org>\n")
        assert reply.startswith("500 5.5.2"), reply
        assert await r.closed()

    run(tmp_path, body)


@pytest.mark.parametrize("port_name", ["mx", "submission"])
def test_starttls_discards_pipelined_plaintext(tmp_path: Path, port_name: str) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(getattr(h, port_name))
        await r.cmd("EHLO c")
        # injected commands ride in the same segment as STARTTLS
        await r.send(b"STARTTLS\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<toto@abc.xyz>\r\n")
        assert (await r.reply()).startswith("220")
        await r.writer.start_tls(h.client_tls(), server_hostname="localhost")
        tls = Raw(r.reader, r.writer)
        # the first reply inside TLS answers our NOOP: nothing injected was processed
        assert (await tls.cmd("NOOP")).startswith("250 2.0.0")
        with pytest.raises(asyncio.TimeoutError):
            await tls.reply(timeout=0.3)
        if port_name == "mx":
            await tls.cmd("EHLO c")
            # no MAIL was accepted before: RCPT needs MAIL first
            assert (await tls.cmd(f"RCPT TO:<{TOTO}>")).startswith("503")
        await tls.close()

    run(tmp_path, body)


def test_failed_tls_handshake_closes_and_frees_the_slot(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.mx)
        await r.cmd("EHLO c")
        assert (await r.cmd("STARTTLS")).startswith("220")
        await r.send(b"MAIL FROM:<plaintext@after.starttls>\r\n" * 3)
        assert await r.closed()
        await asyncio.sleep(0.1)
        assert h.service.tracker is not None and h.service.tracker.counts == {}
        again = await Raw.connect(h.mx)
        assert (await again.cmd("NOOP")).startswith("250")
        await again.close()

    run(tmp_path, body)
