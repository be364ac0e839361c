"""ARC on Sieve redirects, as the next hop meets it: mail from another domain reaches a
mailbox whose script redirects it to remote.test; the copy remote.test's server receives
carries our ARC set (by example.test, the mailbox's domain) over our Authentication-Results,
and dkimpy validates it with the key fetched from our DNS server, as for alias forwards."""

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
        script = tmp_path / "alice.sieve"
        script.write_text('redirect "far@remote.test";\n')
        stack.cli("mailbox", "sieve", ALICE, str(script), check=True)
        stack.cli("org", "add", "world", check=True)
        stack.cli("domain", "add", "remote.test", "--org", "world", check=True)
        stack.cli("dns", "add", "remote.test", "@", "MX", "10 mx.remote.test.", check=True)
        stack.cli("dns", "add", "remote.test", "mx", "A", "127.0.0.1", check=True)
        stack.cli("dns", "add", "remote.test", "@", "TXT", "v=spf1 ip4:127.0.0.1 -all", check=True)
        stack.start()
        eventually(lambda: {k["state"] for k in dkim_keys(stack)} == {"signing"})
        yield stack, remote
    finally:
        stack.stop()
        controller.stop()


def test_a_redirected_copy_carries_an_arc_set_that_validates(
    world: tuple[Stack, RemoteMx],
) -> None:
    stack, remote = world
    message = (
        b"From: <someone@remote.test>\r\nTo: <alice@example.test>\r\nSubject: arc\r\n"
        b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <arc-2@remote.test>\r\n"
        b"\r\nredirect me\r\n"
    )
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as client:
        client.ehlo("mx.remote.test")
        assert client.sendmail("someone@remote.test", [ALICE], message) == {}
    eventually(lambda: any(b"redirect me" in m[2] for m in remote.received))
    sender, rcpts, data = next(m for m in remote.received if b"redirect me" in m[2])
    assert rcpts == ["far@remote.test"] and sender.startswith("SRS0=")
    head = data.split(b"\r\n\r\n")[0].decode()
    assert head.startswith("ARC-Seal: i=1; ") and "cv=none" in head
    assert "d=example.test" in head.split("ARC-Message-Signature:")[1]
    aar = head.split("ARC-Authentication-Results: i=1; ")[1]
    assert aar.startswith("mx.example.test;") and "spf=pass" in aar
    assert f"Delivered-To: {ALICE}" in head
    cv, _, comment = dkim.arc_verify(data, dnsfunc=txt_lookup(stack.ports["dns"]))
    assert cv == dkim.CV_Pass, comment
