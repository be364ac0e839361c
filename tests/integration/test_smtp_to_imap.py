"""The whole stack (`swissbox serve`): mail in over SMTP is seen at once by an IMAP IDLE
session of that mailbox, and FETCH returns the stored bytes."""

from __future__ import annotations

import imaplib
import smtplib
import ssl
import time
from pathlib import Path

from tests.support.stack import Stack

USER, PASSWORD = "user@example.test", "Flow-password-1"
SENDER, SENDER_PASSWORD = "sender@example.test", "Flow-password-2"


def test_smtp_delivery_reaches_imap_idle_and_fetch(tmp_path: Path) -> None:
    with Stack(tmp_path) as stack:
        stack.provision(mailboxes={USER: PASSWORD, SENDER: SENDER_PASSWORD})
        stack.start()
        tls = ssl.create_default_context(cafile=str(stack.ca_file))
        imap = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=10)
        imap.starttls(ssl_context=tls)
        imap.login(USER, PASSWORD)
        assert imap.select("INBOX") == ("OK", [b"0"])
        tag = imap._new_tag().decode()
        imap.send(f"{tag} IDLE\r\n".encode())
        assert imap.readline().startswith(b"+")

        started = time.monotonic()
        with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as mx:
            mx.sendmail("far@away.example", [USER], b"Subject: one\r\n\r\nfrom the MX\r\n")
        assert imap.readline() == b"* 1 EXISTS\r\n"
        assert imap.readline() == b"* 1 RECENT\r\n"  # with every EXISTS (RFC 3501 7.3.2)
        assert time.monotonic() - started < 2

        with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as sub:
            sub.starttls(context=tls)
            sub.login(SENDER, SENDER_PASSWORD)
            sub.sendmail(SENDER, [USER], b"Subject: two\r\n\r\nfrom a colleague\r\n")
        assert imap.readline() == b"* 2 EXISTS\r\n"
        assert imap.readline() == b"* 2 RECENT\r\n"
        imap.send(b"DONE\r\n")
        assert imap.readline().startswith(tag.encode() + b" OK")

        status, data = imap.fetch("1:2", "(BODY.PEEK[])")
        assert status == "OK"
        bodies = [item[1] for item in data if isinstance(item, tuple)]
        assert bodies[0].startswith(b"Return-Path: <far@away.example>\r\nReceived: from ")
        assert bodies[0].endswith(b"from the MX\r\n")
        assert b"\r\nMessage-ID: <" in bodies[1] and bodies[1].endswith(b"from a colleague\r\n")
        imap.logout()
        stack.stop()
