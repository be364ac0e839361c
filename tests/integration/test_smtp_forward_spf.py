"""An external forward as the next hop judges it: swissbox A forwards fw@example.test to
carol@remote.test, hosted by swissbox B (a second server on loopback, checking SPF, DKIM and
DMARC with A's DNS as "the internet"). The copy reaches B with an SRS sender at example.test,
and B's SPF check of it passes (example.test's `v=spf1 mx -all` names A); the original
sender's domain would have failed there."""

from __future__ import annotations

import email
import imaplib
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.polling import eventually
from tests.support.stack import Stack

PW = "Mailbox-pw-123"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Stack, Stack]]:
    a = Stack(tmp_path / "a", hostname="mx.example.test")
    b = Stack(tmp_path / "b", hostname="mx.remote.test")
    a.settings["smtp"]["outbound_port"] = b.ports["smtp_mx"]  # remote.test's MX is B
    b.settings["smtp"].update(
        {"inbound_auth": True, "inbound_resolvers": [f"127.0.0.1:{a.ports['dns']}"]}
    )
    a.provision(mailboxes={"dan@example.test": PW})
    a.cli("alias", "add", "fw@example.test", "carol@remote.test", check=True)
    a.cli("org", "add", "world", check=True)
    for domain in ("remote.test", "sender.test"):
        a.cli("domain", "add", domain, "--org", "world", check=True)
    for domain, name, rtype, value in (
        ("example.test", "mx", "A", "127.0.0.1"),  # A's own address, as an operator sets it
        ("remote.test", "@", "MX", "10 mx.remote.test."),
        ("remote.test", "mx", "A", "127.0.0.1"),
        ("sender.test", "@", "TXT", "v=spf1 ip4:192.0.2.1 -all"),  # not us
    ):
        a.cli("dns", "add", domain, name, rtype, value, check=True)
    b.provision(org="remote", domain="remote.test", mailboxes={"carol@remote.test": PW})
    with a, b:
        a.start()
        b.start()
        yield a, b


def carol_inbox(b: Stack) -> list[email.message.Message]:
    ctx = ssl.create_default_context(cafile=str(b.ca_file))
    m = imaplib.IMAP4_SSL("127.0.0.1", b.ports["imaps"], ssl_context=ctx, timeout=10)
    try:
        m.login("carol@remote.test", PW)
        _, data = m.select("INBOX", readonly=True)
        if data[0] == b"0":
            return []
        _, fetched = m.fetch("1:*", "(BODY.PEEK[])")
        return [email.message_from_bytes(i[1]) for i in fetched if isinstance(i, tuple)]
    finally:
        m.logout()


def test_a_forward_arrives_with_an_srs_sender_and_passes_spf_there(
    servers: tuple[Stack, Stack],
) -> None:
    a, b = servers
    message = (
        b"From: <orig@sender.test>\r\nTo: <fw@example.test>\r\nSubject: forwarded\r\n"
        b"Message-ID: <fwd-1@sender.test>\r\n\r\nplease forward\r\n"
    )
    with smtplib.SMTP("127.0.0.1", a.ports["smtp_mx"], timeout=10) as client:
        client.ehlo("mta.sender.test")
        assert client.sendmail("orig@sender.test", ["fw@example.test"], message) == {}
    (got,) = eventually(lambda: carol_inbox(b), timeout=30)
    (ours,) = [v for v in got.get_all("Authentication-Results") if v.startswith("mx.remote.test")]
    assert "spf=pass smtp.mailfrom=example.test" in " ".join(ours.split())
    # the envelope sender B saw (its Return-Path:) is A's SRS address for the sender
    assert got["Return-Path"].startswith("<SRS0=")
    assert got["Return-Path"].endswith("=sender.test=orig@example.test>")
