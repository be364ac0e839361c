"""A forwarding loop through another server ends in one bounce, not a storm: two swissbox
servers on loopback, each the other's relay host; a@example.test forwards to b@world.test,
which forwards back. The message goes round once, is refused as a loop (Delivered-To), and
the one bounce finds its way back to the sender through the second server's SRS address."""

from __future__ import annotations

import email
import email.policy
import imaplib
import smtplib
import ssl
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.polling import eventually
from tests.support.stack import Stack

PW = "Mailbox-pw-123"


def inbox(stack: Stack, address: str) -> list[email.message.EmailMessage]:
    context = ssl.create_default_context(cafile=str(stack.ca_file))
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=context, timeout=10)
    try:
        m.login(address, PW)
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK"
        if data[0] == b"0":
            return []
        _, fetched = m.fetch("1:*", "(BODY.PEEK[])")
        return [
            email.message_from_bytes(item[1], policy=email.policy.default)  # type: ignore[misc]
            for item in fetched
            if isinstance(item, tuple)
        ]
    finally:
        m.logout()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Stack, Stack]]:
    here = Stack(tmp_path / "here", hostname="mx.example.test")
    there = Stack(tmp_path / "there", hostname="mx.world.test")
    here.settings["smtp"]["relay_host"] = f"127.0.0.1:{there.ports['smtp_mx']}"
    there.settings["smtp"]["relay_host"] = f"127.0.0.1:{here.ports['smtp_mx']}"
    for s in (here, there):
        s.settings["smtp"]["retry_schedule"] = [1.0]
    here.provision(mailboxes={"a@example.test": PW, "writer@example.test": PW})
    there.provision(org="world", domain="world.test", mailboxes={"keeper@world.test": PW})
    here.cli("mailbox", "forward", "a@example.test", "b@world.test", check=True)
    there.cli("alias", "add", "b@world.test", "a@example.test", check=True)
    with here, there:
        here.start()
        there.start()
        yield here, there


def test_a_forwarding_loop_ends_in_one_bounce(pair: tuple[Stack, Stack]) -> None:
    here, there = pair
    subject = f"loop-{uuid.uuid4().hex[:8]}"
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "writer@example.test", "a@example.test", subject
    msg.set_content("round and round\n")
    with smtplib.SMTP("127.0.0.1", here.ports["smtp_mx"], timeout=10) as s:
        assert s.send_message(msg, "writer@example.test", ["a@example.test"]) == {}
    eventually(lambda: len(inbox(here, "writer@example.test")) >= 1)
    # time for a storm to show, if there were one (both queues are empty once it settles)
    eventually(lambda: not list((here.data / "queue").glob("*.msg")))
    eventually(lambda: not list((there.data / "queue").glob("*.msg")))
    bounces = inbox(here, "writer@example.test")
    assert len(bounces) == 1
    text = bounces[0].as_string()
    assert "5.4.6" in text and subject in text and "a@example.test" in text
    assert inbox(here, "a@example.test") == []  # forwarded without a copy, never delivered
    assert "mail loop for <a@example.test>" in here.log() or "5.4.6" in there.log()
