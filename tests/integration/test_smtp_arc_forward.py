"""ARC on forwarded mail, as the next hop meets it: mail from another domain reaches an alias
of ours that forwards to remote.test; the copy remote.test's server receives carries our ARC
set (by example.test, whose RSA DKIM key our DNS publishes) over our Authentication-Results,
and it validates when the next hop fetches the key from our DNS server. Mail our checks send
to Junk is not forwarded at all."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import dkim
import pytest
from aiosmtpd.controller import Controller

from tests.integration.test_smtp_dkim import dkim_keys, txt_lookup
from tests.integration.test_smtp_outbound import RemoteMx
from tests.support.polling import eventually
from tests.support.stack import Stack, free_port

ALICE, PASSWORD = "alice@example.test", "alice-mailbox-pw"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Stack, RemoteMx]]:
    remote = RemoteMx()
    mx_port = free_port()
    controller = Controller(remote, hostname="127.0.0.1", port=mx_port)
    controller.start()
    stack = Stack(tmp_path, hostname="mx.example.test")
    stack.settings["smtp"].update(
        {
            "outbound_port": mx_port,
            "inbound_auth": True,
            "inbound_resolvers": [f"127.0.0.1:{stack.ports['dns']}"],
            "inbound_dns_timeout": 2.0,
        }
    )
    try:
        stack.provision(mailboxes={ALICE: PASSWORD})
        stack.cli("alias", "add", "fw@example.test", ALICE, "far@remote.test", check=True)
        stack.cli("org", "add", "world", check=True)
        stack.cli("domain", "add", "remote.test", "--org", "world", check=True)
        stack.cli("dns", "add", "remote.test", "@", "MX", "10 mx.remote.test.", check=True)
        stack.cli("dns", "add", "remote.test", "mx", "A", "127.0.0.1", check=True)
        stack.cli("dns", "add", "remote.test", "@", "TXT", "v=spf1 ip4:127.0.0.1 -all", check=True)
        stack.cli("domain", "add", "quar.test", "--org", "world", check=True)
        stack.cli("dns", "add", "quar.test", "@", "TXT", "v=spf1 -all", check=True)
        stack.cli("dns", "add", "quar.test", "_dmarc", "TXT", "v=DMARC1; p=quarantine", check=True)
        stack.start()
        eventually(lambda: {k["state"] for k in dkim_keys(stack)} == {"signing"})
        yield stack, remote
    finally:
        stack.stop()
        controller.stop()


def test_a_forwarded_copy_carries_an_arc_set_that_validates(
    world: tuple[Stack, RemoteMx],
) -> None:
    stack, remote = world
    message = (
        b"From: <someone@remote.test>\r\nTo: <fw@example.test>\r\nSubject: arc\r\n"
        b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <arc-1@remote.test>\r\n"
        b"\r\nforward me\r\n"
    )
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as client:
        client.ehlo("mx.remote.test")
        assert client.sendmail("someone@remote.test", ["fw@example.test"], message) == {}
    eventually(lambda: any(b"forward me" in m[2] for m in remote.received))
    sender, rcpts, data = next(m for m in remote.received if b"forward me" in m[2])
    assert rcpts == ["far@remote.test"] and sender.startswith("SRS0=")
    head = data.split(b"\r\n\r\n")[0].decode()
    assert head.startswith("ARC-Seal: i=1; ") and "cv=none" in head
    assert "d=example.test" in head.split("ARC-Message-Signature:")[1]
    aar = head.split("ARC-Authentication-Results: i=1; ")[1]
    assert aar.startswith("mx.example.test;") and "spf=pass" in aar
    cv, _, comment = dkim.arc_verify(data, dnsfunc=txt_lookup(stack.ports["dns"]))
    assert cv == dkim.CV_Pass, comment
    # the local copy is not sealed: ARC is for the next hop
    local = [p.read_bytes() for p in (stack.data / "mail/example.test/alice").rglob("new/*")]
    assert local and all(b"ARC-Seal" not in copy for copy in local)


def send(stack: Stack, sender: str, subject: str) -> None:
    message = (
        f"From: <{sender}>\r\nTo: <fw@example.test>\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject}@x.test>\r\n\r\nbody of {subject}\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as client:
        client.ehlo("mx.sender.test")
        assert client.sendmail(sender, ["fw@example.test"], message) == {}


def test_mail_bound_for_junk_is_not_forwarded(world: tuple[Stack, RemoteMx]) -> None:
    stack, remote = world
    send(stack, "x@quar.test", "quarantined")  # DMARC p=quarantine fails: Junk
    send(stack, "someone@remote.test", "fine")
    eventually(lambda: any(b"body of fine" in m[2] for m in remote.received))
    junk = stack.data / "mail/example.test/alice/.Junk"
    assert [p for p in junk.rglob("new/*") if b"body of quarantined" in p.read_bytes()]
    assert not any(b"body of quarantined" in m[2] for m in remote.received)
