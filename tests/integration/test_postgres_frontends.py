"""The directory on PostgreSQL, as an operator meets it: `[store] url` in swissbox.toml, the
CLI provisioning into it, and two `swissbox serve` front ends over the same database — a DDNS
update through front end A is in front end B's next DNS answers; mail to a mailbox the CLI
made in PostgreSQL is accepted and read back over IMAP."""

from __future__ import annotations

import base64
import http.client
import imaplib
import smtplib
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import pytest

from tests.support.stack import Stack

MAILBOX, MAILBOX_PW = "toto@example.test", "mailbox-pw-1"


@pytest.fixture
def frontends(tmp_path: Path, postgres: Any) -> Iterator[tuple[Stack, Stack]]:
    url = postgres.new_database()
    a = Stack(tmp_path / "a", store={"url": url})
    b = Stack(tmp_path / "b", store={"url": url})
    a.provision(mailboxes={MAILBOX: MAILBOX_PW})
    a.cli(
        "ddns", "add", "nas.example.test", "--user", "router1", "--password-stdin",
        stdin="Router1Pass\n", check=True,
    )  # fmt: skip
    b.init()
    assert not (a.data / "swissbox.db").exists()  # nothing went to SQLite
    with a, b:
        a.start()
        b.start()
        yield a, b
        assert a.stop() == 0 and b.stop() == 0


def a_records(stack: Stack, name: str) -> set[str]:
    query = dns.message.make_query(name, dns.rdatatype.A)
    reply = dns.query.udp(query, "127.0.0.1", port=stack.ports["dns"], timeout=5)
    return {rr.to_text() for rrset in reply.answer for rr in rrset}


def test_a_ddns_update_on_a_is_answered_by_b(frontends: tuple[Stack, Stack]) -> None:
    a, b = frontends
    assert b.cli("mailbox", "list", check=True).stdout.count(MAILBOX) == 1
    conn = http.client.HTTPConnection("127.0.0.1", a.ports["http"], timeout=30)
    token = base64.b64encode(b"router1:Router1Pass").decode()
    conn.request(
        "GET",
        "/nic/update?hostname=nas.example.test&myip=192.0.2.77",
        headers={"Authorization": f"Basic {token}", "User-Agent": "swissbox-test/1.0"},
    )
    assert conn.getresponse().read().decode().strip() == "good 192.0.2.77"
    deadline = time.monotonic() + 10
    while a_records(b, "nas.example.test") != {"192.0.2.77"}:
        assert time.monotonic() < deadline, "front end B never answered the new address"
        time.sleep(0.1)
    assert a_records(a, "nas.example.test") == {"192.0.2.77"}


def test_mail_to_a_mailbox_made_in_postgresql(frontends: tuple[Stack, Stack]) -> None:
    a, _ = frontends
    context = ssl.create_default_context(cafile=str(a.ca_file))
    with smtplib.SMTP("127.0.0.1", a.ports["smtp_mx"], timeout=30) as smtp:
        smtp.ehlo("mx.elsewhere.example")
        assert smtp.mail("someone@elsewhere.example")[0] == 250
        assert smtp.rcpt("nobody@example.test")[0] == 550  # unknown users still refused
        smtp.rset()
        smtp.sendmail(
            "someone@elsewhere.example",
            [MAILBOX],
            b"From: someone@elsewhere.example\r\nTo: toto@example.test\r\n"
            b"Subject: over postgres\r\n\r\nhello\r\n",
        )
    with imaplib.IMAP4_SSL("127.0.0.1", a.ports["imaps"], ssl_context=context) as imap:
        imap.login(MAILBOX, MAILBOX_PW)
        imap.select("INBOX")
        _, data = imap.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
        assert b"over postgres" in data[0][1]  # type: ignore[index]
