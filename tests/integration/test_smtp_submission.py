"""Submission on 587 (STARTTLS) and 465 (implicit TLS): AUTH in the mailbox realm, sender
ownership, Message-ID/Date, local delivery and the outbound queue."""

from __future__ import annotations

import asyncio
import base64
import json
import smtplib
import time
from pathlib import Path

import aiosmtplib
import pytest

from swissbox.auth import RateLimiter
from swissbox.mailstore.queue import OutboundQueue
from tests.unit.smtp.harness import (
    ACCOUNT_PASSWORD,
    MAILBOX_PASSWORD,
    TITI,
    TITI_PASSWORD,
    TOTO,
    Harness,
    Raw,
    message,
    run,
)


def plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


async def starttls(h: Harness) -> Raw:
    r = await Raw.connect(h.submission)
    await r.cmd("EHLO client")
    assert (await r.cmd("STARTTLS")).startswith("220")
    await r.writer.start_tls(h.client_tls(), server_hostname="localhost")
    return Raw(r.reader, r.writer)


def test_nothing_but_starttls_before_tls(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        r = await Raw.connect(h.submission)
        ehlo = await r.cmd("EHLO client")
        assert "STARTTLS" in ehlo and "AUTH" not in ehlo
        assert (await r.cmd(f"AUTH PLAIN {plain(TOTO, MAILBOX_PASSWORD)}")).startswith("530 5.7.0")
        assert (await r.cmd(f"MAIL FROM:<{TOTO}>")).startswith("530 5.7.0")
        await r.close()

    run(tmp_path, body)


def test_auth_offered_after_tls_and_mail_needs_auth(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        tls = await starttls(h)
        ehlo = await tls.cmd("EHLO client")
        assert "AUTH LOGIN PLAIN" in ehlo and "STARTTLS" not in ehlo
        assert (await tls.cmd(f"MAIL FROM:<{TOTO}>")).startswith("530 5.7.0")
        assert (await tls.cmd(f"AUTH PLAIN {plain(TOTO, MAILBOX_PASSWORD)}")).startswith(
            "235 2.7.0"
        )
        assert (await tls.cmd(f"MAIL FROM:<{TOTO}>")).startswith("250")
        await tls.close()

    run(tmp_path, body)


def test_account_password_never_opens_the_mailbox(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        tls = await starttls(h)
        await tls.cmd("EHLO client")
        assert (await tls.cmd(f"AUTH PLAIN {plain(TOTO, ACCOUNT_PASSWORD)}")).startswith(
            "535 5.7.8"
        )
        assert (await tls.cmd(f"AUTH PLAIN {plain('nobody@abc.xyz', 'x')}")).startswith("535 5.7.8")
        assert (await tls.cmd(f"AUTH PLAIN {plain(TOTO, MAILBOX_PASSWORD)}")).startswith("235")
        await tls.close()

    run(tmp_path, body)


def test_auth_login_and_plain_with_challenges(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        tls = await starttls(h)
        await tls.cmd("EHLO client")
        assert (await tls.cmd("AUTH LOGIN")) == "334 " + base64.b64encode(b"Username:").decode()
        assert (await tls.cmd(base64.b64encode(TITI.encode()).decode())).startswith("334 ")
        assert (await tls.cmd(base64.b64encode(TITI_PASSWORD.encode()).decode())).startswith("235")
        await tls.close()
        tls = await starttls(h)
        await tls.cmd("EHLO client")
        assert (await tls.cmd("AUTH PLAIN")) == "334 "
        assert (await tls.cmd(plain(TOTO, "wrong"))).startswith("535 5.7.8")
        assert (await tls.cmd("AUTH PLAIN !!!notbase64")).startswith("501")
        assert (await tls.cmd("AUTH PLAIN " + base64.b64encode(b"no-nuls").decode())).startswith(
            "501"
        )
        assert (await tls.cmd("AUTH LOGIN")).startswith("334")
        assert (await tls.cmd("*")).startswith("501")
        await tls.close()

    run(tmp_path, body)


def test_smtplib_login_plain_and_login_mechanisms(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        def send(mechanism: str) -> None:
            with smtplib.SMTP("127.0.0.1", h.submission) as s:
                s.starttls(context=h.client_tls())
                s.ehlo()
                s.user, s.password = TOTO, MAILBOX_PASSWORD
                code, _ = s.auth(mechanism, getattr(s, f"auth_{mechanism.lower()}"))
                assert code == 235
                s.sendmail(TOTO, [TITI], message(mechanism, to=TITI, sender=TOTO))
            with smtplib.SMTP("127.0.0.1", h.submission) as s:
                s.starttls(context=h.client_tls())
                with pytest.raises(smtplib.SMTPAuthenticationError) as err:
                    s.login(TOTO, ACCOUNT_PASSWORD)
                assert err.value.smtp_code == 535 and err.value.smtp_error.startswith(b"5.7.8")

        await asyncio.to_thread(send, "PLAIN")
        await asyncio.to_thread(send, "LOGIN")
        assert len(h.inbox(TITI)) == 2

    run(tmp_path, body)


def test_sender_must_be_owned(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        tls = await starttls(h)
        await tls.cmd("EHLO client")
        await tls.cmd(f"AUTH PLAIN {plain(TOTO, MAILBOX_PASSWORD)}")
        assert (await tls.cmd(f"MAIL FROM:<{TITI}>")).startswith("553 5.7.1")
        assert (await tls.cmd("MAIL FROM:<>")).startswith(("553 5.7.1", "501"))
        assert (await tls.cmd("MAIL FROM:<ceo@bank.example>")).startswith("553 5.7.1")
        assert (await tls.cmd("MAIL FROM:<TOTO+news@abc.xyz>")).startswith("250")
        await tls.close()

    run(tmp_path, body)


def test_local_delivery_adds_message_id_and_date_and_queues_remote(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        async with aiosmtplib.SMTP(
            hostname="127.0.0.1", port=h.submission, tls_context=h.client_tls()
        ) as c:
            await c.login(TOTO, MAILBOX_PASSWORD)
            errors, reply = await c.sendmail(
                TOTO, [TITI, "bob@remote.example"], b"Subject: plain\r\n\r\nhello\r\n"
            )
            assert errors == {} and "queued as" in reply
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
                await c.sendmail(TOTO, ["nobody@abc.xyz"], b"Subject: x\r\n\r\nx\r\n")
        [got] = h.inbox(TITI)
        head = got.split(b"\r\n\r\n")[0]
        assert b"\r\nMessage-ID: <" in head and b"@mx.abc.xyz>" in head and b"\r\nDate: " in head
        assert b"with ESMTPSA (TLSv1.3:" in head
        [queued] = OutboundQueue(h.data / "queue").list()
        assert queued.sender == TOTO and queued.recipients == ["bob@remote.example"]
        # the same bytes, but for the Return-Path: that final delivery puts on the local copy
        assert b"Return-Path: <" + TOTO.encode() + b">\r\n" + queued.data == got
        assert json.loads((h.data / "queue" / f"{queued.id}.msg").read_bytes().split(b"\n")[0])

    run(tmp_path, body)


def test_existing_message_id_is_kept(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        async with aiosmtplib.SMTP(
            hostname="127.0.0.1", port=h.submission, tls_context=h.client_tls()
        ) as c:
            await c.login(TOTO, MAILBOX_PASSWORD)
            await c.sendmail(TOTO, [TITI], message("kept", to=TITI, sender=TOTO))
        [got] = h.inbox(TITI)
        assert got.count(b"Message-ID:") == 1 and b"<kept@example.org>" in got

    run(tmp_path, body)


def test_implicit_tls_port(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        async with aiosmtplib.SMTP(
            hostname="127.0.0.1", port=h.submissions, use_tls=True, tls_context=h.client_tls()
        ) as c:
            await c.ehlo()
            assert "starttls" not in c.esmtp_extensions
            assert "auth" in c.esmtp_extensions
            await c.login(TOTO, MAILBOX_PASSWORD)
            await c.sendmail(TOTO, [TITI], message("implicit", to=TITI, sender=TOTO))
        assert b"with ESMTPSA (TLSv1.3:" in h.inbox(TITI)[0]

    run(tmp_path, body)


def test_failures_are_rate_limited(tmp_path: Path) -> None:
    limiter = RateLimiter(3, 1000, 300.0, delay_base=0.05, delay_max=0.2)

    async def body(h: Harness) -> None:
        tls = await starttls(h)
        await tls.cmd("EHLO client")
        t0 = time.monotonic()
        for i in range(3):
            assert (await tls.cmd(f"AUTH PLAIN {plain(TOTO, f'wrong-{i}')}")).startswith(
                "535 5.7.8"
            )
        assert time.monotonic() - t0 >= 0.05 + 0.1
        # locked out now: even the right password gets the same answer
        assert (await tls.cmd(f"AUTH PLAIN {plain(TOTO, MAILBOX_PASSWORD)}")).startswith(
            "535 5.7.8"
        )
        await tls.close()
        # another mailbox is not locked
        tls = await starttls(h)
        await tls.cmd("EHLO client")
        assert (await tls.cmd(f"AUTH PLAIN {plain(TITI, TITI_PASSWORD)}")).startswith("235")
        await tls.close()

    run(tmp_path, body, limiter=limiter)
