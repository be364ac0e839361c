"""Several users of one address, on submission: SASL PLAIN with an authorization identity
(RFC 4616), send-as from the directory's grants for MAIL FROM and for the header From: and
Sender:, and a revoked grant refused at the next command. Real clients: smtplib (PLAIN with an
authzid through a custom auth object) and aiosmtplib.

Harness directory: account toto@abc.xyz owns mailbox toto@ (same login); titi@ and full@ are
mailboxes of nobody until granted here."""

from __future__ import annotations

import asyncio
import base64
import smtplib
from pathlib import Path

import aiosmtplib
import pytest

from tests.unit.smtp.harness import (
    FULL,
    MAILBOX_PASSWORD,
    TITI,
    TITI_PASSWORD,
    TOTO,
    Harness,
    Raw,
    message,
    run,
)


def plain(authcid: str, password: str, authzid: str = "") -> str:
    return base64.b64encode(f"{authzid}\0{authcid}\0{password}".encode()).decode()


async def connect(h: Harness) -> Raw:
    """An implicit-TLS submission session after EHLO."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", h.submissions, ssl=h.client_tls(), server_hostname="localhost"
    )
    tls = Raw(reader, writer)
    assert (await tls.reply()).startswith("220")
    await tls.cmd("EHLO client")
    return tls


async def session(
    h: Harness, authcid: str = TOTO, pw: str = MAILBOX_PASSWORD, authzid: str = ""
) -> Raw:
    tls = await connect(h)
    reply = await tls.cmd(f"AUTH PLAIN {plain(authcid, pw, authzid)}")
    assert reply.startswith("235"), reply
    return tls


def test_plain_with_authzid_acts_as_the_shared_address(tmp_path: Path) -> None:
    """Issue 11: submission as Bob with MAIL FROM:<info@...> got 553; now Bob authenticates
    with his own mailbox's password and acts as info@ (here: toto acts as titi@)."""

    async def body(h: Harness) -> None:
        h.directory.grant(TITI, TOTO)

        def send() -> None:
            with smtplib.SMTP("127.0.0.1", h.submission) as s:
                s.starttls(context=h.client_tls())
                s.ehlo()
                code, _ = s.auth(
                    "PLAIN", lambda challenge=None: f"{TITI}\0{TOTO}\0{MAILBOX_PASSWORD}"
                )
                assert code == 235
                s.sendmail(TITI, [FULL], message("as titi", to=FULL, sender=TITI))

        await asyncio.to_thread(send)
        [got] = h.inbox(FULL)
        assert b"From: Alice <titi@abc.xyz>" in got

    run(tmp_path, body)


def test_authzid_refused_without_a_grant_or_with_a_read_grant(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        for grant in (None, "read"):
            if grant:
                h.directory.grant(TITI, TOTO, grant)
            raw = await connect(h)
            reply = await raw.cmd(f"AUTH PLAIN {plain(TOTO, MAILBOX_PASSWORD, TITI)}")
            assert reply.startswith("535 5.7.8"), reply
            # the other direction: titi's password never acts for toto's person
            reply = await raw.cmd(f"AUTH PLAIN {plain(TITI, TITI_PASSWORD, TOTO)}")
            assert reply.startswith("535 5.7.8"), reply
            # a wrong password with a granted authzid is a plain failure too
            reply = await raw.cmd(f"AUTH PLAIN {plain(TOTO, 'wrong', TOTO)}")
            assert reply.startswith("535 5.7.8"), reply
            assert (await raw.cmd(f"AUTH PLAIN {plain(TITI, TITI_PASSWORD)}")).startswith("235")
            await raw.close()

    run(tmp_path, body)


def test_send_as_any_granted_address_and_nothing_else(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        h.directory.grant(TITI, TOTO)
        h.directory.grant(FULL, TOTO, "read")
        tls = await session(h)
        assert (await tls.cmd(f"MAIL FROM:<{TITI}>")).startswith("250")
        await tls.cmd("RSET")
        assert (await tls.cmd("MAIL FROM:<titi+news@abc.xyz>")).startswith("250")
        await tls.cmd("RSET")
        assert (await tls.cmd(f"MAIL FROM:<{FULL}>")).startswith("553 5.7.1")  # read only
        assert (await tls.cmd("MAIL FROM:<ceo@bank.example>")).startswith("553 5.7.1")
        await tls.close()
        # titi's own session may not send as toto: the grant is toto's, not titi's
        tls = await session(h, TITI, TITI_PASSWORD)
        assert (await tls.cmd(f"MAIL FROM:<{TOTO}>")).startswith("553 5.7.1")
        await tls.close()

    run(tmp_path, body)


@pytest.mark.parametrize(
    "header, verdict",
    [
        (f"From: Toto <{TOTO}>", "250"),
        (f"From: <{TITI}>", "250"),  # granted
        ("From: Toto <TOTO+x@abc.xyz>", "250"),
        ("From: Boss <ceo@bank.example>", "550 5.7.1 Header From: <ceo@bank.example>"),
        (f"From: {TOTO} <ceo@bank.example>", "550 5.7.1 Header From:"),
        (f"From: {TOTO}, ceo@bank.example", "550 5.7.1 Header From: <ceo@bank.example>"),
        (f"From: <{TOTO}>\r\nSender: <{FULL}>", "550 5.7.1 Header Sender: <full@abc.xyz>"),
        (f"From: <{TOTO}>\r\nFrom: <{FULL}>", "550 5.7.1 Header From: <full@abc.xyz>"),
        ("From: undisclosed:;", "550 5.7.1 Header From: no address"),
        ("Subject: no From at all", "250"),
    ],
)
def test_header_from_and_sender_follow_the_same_rule(
    tmp_path: Path, header: str, verdict: str
) -> None:
    async def body(h: Harness) -> None:
        h.directory.grant(TITI, TOTO)
        tls = await session(h)
        assert (await tls.cmd(f"MAIL FROM:<{TOTO}>")).startswith("250")
        assert (await tls.cmd(f"RCPT TO:<{TITI}>")).startswith("250")
        assert (await tls.cmd("DATA")).startswith("354")
        reply = await tls.cmd(f"{header}\r\nTo: <{TITI}>\r\n\r\nhello\r\n.\r\n".encode())
        assert reply.startswith(verdict), reply
        await tls.close()
        assert len(h.inbox(TITI)) == (1 if verdict == "250" else 0)

    run(tmp_path, body)


def test_header_check_can_be_turned_off(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        async with aiosmtplib.SMTP(
            hostname="127.0.0.1", port=h.submission, tls_context=h.client_tls()
        ) as c:
            await c.login(TOTO, MAILBOX_PASSWORD)
            await c.sendmail(TOTO, [TITI], message("list", to=TITI, sender="list@lists.example"))
        assert len(h.inbox(TITI)) == 1

    run(tmp_path, body, check_header_from=False)


def test_revoked_grant_is_refused_at_the_next_command(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        h.directory.grant(TITI, TOTO)
        acting = await session(h, TOTO, MAILBOX_PASSWORD, TITI)
        plain_session = await session(h)
        assert (await acting.cmd(f"MAIL FROM:<{TITI}>")).startswith("250")
        assert (await acting.cmd(f"RCPT TO:<{FULL}>")).startswith("250")
        h.directory.revoke(TITI, TOTO)
        # in the middle of a transaction: DATA re-checks the envelope sender
        assert (await acting.cmd("DATA")).startswith("354")
        reply = await acting.cmd(f"From: <{TITI}>\r\n\r\nhi\r\n.\r\n".encode())
        assert reply.startswith("553 5.7.1"), reply
        assert (await acting.cmd(f"MAIL FROM:<{TITI}>")).startswith("553 5.7.1")
        assert (await plain_session.cmd(f"MAIL FROM:<{TITI}>")).startswith("553 5.7.1")
        assert (await plain_session.cmd(f"MAIL FROM:<{TOTO}>")).startswith("250")
        await acting.close()
        await plain_session.close()
        assert h.inbox(FULL) == []

    run(tmp_path, body)


def test_fifty_submissions_at_once_right_and_wrong_senders(tmp_path: Path) -> None:
    """Fifty clients at once: acting as the granted address, sending as it from their own
    login, a forbidden header From:, a forbidden authorization identity; each gets its own
    answer and exactly the good messages arrive."""

    async def body(h: Harness) -> None:
        h.directory.grant(TITI, TOTO)

        async def one(i: int) -> str:
            kind = i % 4
            authzid = TITI if kind == 0 else FULL if kind == 3 else ""
            sender = TITI if kind in (0, 1) else TOTO
            header = "ceo@bank.example" if kind == 2 else sender
            c = aiosmtplib.SMTP(
                hostname="127.0.0.1", port=h.submissions, use_tls=True, tls_context=h.client_tls()
            )
            await c.connect()
            await c.ehlo()
            try:
                reply = await c.execute_command(
                    b"AUTH", b"PLAIN", plain(TOTO, MAILBOX_PASSWORD, authzid).encode()
                )
                if reply.code != 235:
                    return f"auth {reply.code}"
                try:
                    await c.sendmail(sender, [TITI], message(f"n{i}", to=TITI, sender=header))
                except aiosmtplib.SMTPDataError as exc:
                    return f"data {exc.code}"
                return "sent"
            finally:
                c.close()

        results = await asyncio.gather(*(one(i) for i in range(50)))
        good = [r for i, r in enumerate(results) if i % 4 in (0, 1)]
        assert good == ["sent"] * 26
        assert {r for i, r in enumerate(results) if i % 4 == 2} == {"data 550"}
        assert {r for i, r in enumerate(results) if i % 4 == 3} == {"auth 535"}
        assert len(h.inbox(TITI)) == 26

    run(tmp_path, body, max_connections_per_address=100)
