"""Mail over two front ends: two `swissbox serve` over one PostgreSQL (`[store] url`: every
mailbox index there) and one shared `blob_path` (the message files). Mail delivered through A
wakes an IDLE session on B and B serves its bytes; a flag stored through B reaches a session
on A; fifty deliveries at once through both get unique, dense UIDs and each message once."""

from __future__ import annotations

import imaplib
import json
import re
import smtplib
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.support.stack import Stack

MAILBOX, PASSWORD = "toto@example.test", "Mailbox-pw-1"
WAKE_DEADLINE = 3.0  # seconds; the issue asks for 1 s, this leaves room on a busy test machine


class Pair(NamedTuple):
    a: Stack
    b: Stack


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, postgres: Any) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("pgmail")
    url = postgres.new_database()
    store = {"url": url, "blob_path": str(tmp / "blobs")}
    smtp = {"max_connections_per_address": 100}  # the burst comes from one address
    a, b = Stack(tmp / "a", store=store, smtp=smtp), Stack(tmp / "b", store=store, smtp=smtp)
    a.provision(mailboxes={MAILBOX: PASSWORD})
    b.init()
    with a, b:
        a.start(timeout=90)  # slow when the machine is busy
        b.start(timeout=90)  # slow when the machine is busy
        yield Pair(a, b)
        assert a.stop() == 0 and b.stop() == 0
    assert not list((tmp / "blobs").rglob("swissbox-index.sqlite"))  # every index in PostgreSQL


def imap_login(stack: Stack) -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=20)
    imap.starttls(ssl_context=ssl.create_default_context(cafile=str(stack.ca_file)))
    imap.login(MAILBOX, PASSWORD)
    return imap


def send(stack: Stack, subject: str, body: str = "body") -> bytes:
    raw = f"From: far@away.example\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode()
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=30) as mx:
        mx.sendmail("far@away.example", [MAILBOX], raw)
    return raw


def idle(imap: imaplib.IMAP4) -> str:
    tag = imap._new_tag().decode()
    imap.send(f"{tag} IDLE\r\n".encode())
    assert imap.readline().startswith(b"+")
    return tag


def done(imap: imaplib.IMAP4, tag: str) -> None:
    imap.send(b"DONE\r\n")
    while not (line := imap.readline()).startswith(tag.encode()):
        assert line.startswith(b"* "), line
    assert b" OK" in line


def read_until(imap: imaplib.IMAP4, pattern: bytes, deadline: float) -> bytes:
    """The first untagged line matching `pattern`, read before `deadline` (monotonic)."""
    sock = imap.socket()
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no {pattern!r} in time"
        sock.settimeout(left)
        line = imap.readline()
        if re.search(pattern, line):
            return line


def uids(imap: imaplib.IMAP4) -> list[int]:
    status, data = imap.uid("SEARCH", "ALL")
    assert status == "OK"
    return [int(u) for u in (data[0] or b"").split()]


def subjects(imap: imaplib.IMAP4) -> list[bytes]:
    status, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert status == "OK"
    return [item[1].strip() for item in data if isinstance(item, tuple)]


def test_mail_through_a_wakes_idle_on_b_which_serves_its_bytes(pair: Pair) -> None:
    b_imap = imap_login(pair.b)
    b_imap.select("INBOX")
    before = len(uids(b_imap))
    tag = idle(b_imap)
    sent_at = time.monotonic()
    raw = send(pair.a, "through A", "delivered by front end A")
    line = read_until(b_imap, rb"^\* \d+ EXISTS", sent_at + WAKE_DEADLINE)
    assert line == b"* %d EXISTS\r\n" % (before + 1)
    done(b_imap, tag)
    uid = uids(b_imap)[-1]
    status, data = b_imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
    assert status == "OK"
    body = next(item[1] for item in data if isinstance(item, tuple))
    assert body.endswith(raw)  # A's trace headers, then the bytes as sent
    b_imap.logout()


def test_flags_stored_through_b_reach_a_session_on_a(pair: Pair) -> None:
    send(pair.a, "to flag")
    a_imap, b_imap = imap_login(pair.a), imap_login(pair.b)
    a_imap.select("INBOX")
    b_imap.select("INBOX")
    uid = uids(b_imap)[-1]
    tag = idle(a_imap)
    stored_at = time.monotonic()
    assert b_imap.uid("STORE", str(uid), "+FLAGS", r"(\Flagged)")[0] == "OK"
    line = read_until(a_imap, rb"FETCH \(.*FLAGS", stored_at + WAKE_DEADLINE)
    assert rb"\Flagged" in line and b"UID %d" % uid in line
    done(a_imap, tag)
    status, data = a_imap.uid("FETCH", str(uid), "(FLAGS)")
    assert status == "OK" and rb"\Flagged" in data[0]
    # and an expunge through A is told to B's session
    assert a_imap.uid("STORE", str(uid), "+FLAGS", r"(\Deleted)")[0] == "OK"
    tag = idle(b_imap)
    expunged_at = time.monotonic()
    assert a_imap.expunge()[0] == "OK"
    read_until(b_imap, rb"^\* \d+ EXPUNGE", expunged_at + WAKE_DEADLINE)
    done(b_imap, tag)
    assert uid not in uids(b_imap)
    a_imap.logout()
    b_imap.logout()


def test_fifty_deliveries_at_once_through_both_get_dense_unique_uids(pair: Pair) -> None:
    probe = imap_login(pair.a)
    probe.select("INBOX")
    known = set(subjects(probe))
    probe.logout()
    accepted: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        stack = pair.a if n % 2 else pair.b
        subject = f"burst {n}"
        try:
            with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=60) as mx:
                if n % 10 == 0:  # wrong input mixed in: an unknown recipient is refused
                    mx.ehlo("mx.away.example")
                    mx.mail("far@away.example")
                    if mx.rcpt("nobody@example.test")[0] != 550:
                        raise smtplib.SMTPException("an unknown recipient was accepted")
                    mx.rset()
                raw = f"From: far@away.example\r\nSubject: {subject}\r\n\r\nx\r\n".encode()
                mx.sendmail("far@away.example", [MAILBOX], raw)
            with lock:
                accepted.append(subject)
        except (smtplib.SMTPException, OSError) as exc:
            with lock:
                refused.append(f"{subject}: {exc!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not refused and len(accepted) == 50

    for stack in (pair.a, pair.b):
        imap = imap_login(stack)
        imap.select("INBOX")
        all_uids = uids(imap)
        assert len(all_uids) == len(set(all_uids))
        burst = [s for s in subjects(imap) if s not in known]
        assert sorted(burst) == sorted(f"Subject: {s}".encode() for s in accepted)
        # the burst's UIDs follow each other without a gap (a UID is never given twice)
        status, data = imap.uid("SEARCH", "HEADER", "Subject", "burst")
        got = sorted(int(u) for u in data[0].split())
        assert got == list(range(got[0], got[0] + 50))
        imap.logout()


def flags(line: Any) -> bytes:
    """A FETCH line without \\Recent (this session's, not the message's)."""
    return bytes(line).replace(b" \\Recent", b"").replace(b"\\Recent", b"")


def test_migrate_moves_the_mail_indexes_and_imap_sees_the_same_uids(
    tmp_path: Path, postgres: Any
) -> None:
    """`swissbox migrate --to URL` on a box with mail: the indexes go too (one report row
    per table and mailbox), and the box served from PostgreSQL has the same UIDs, flags and
    UIDVALIDITY; files stay in place."""
    url = postgres.new_database()
    with Stack(tmp_path / "box") as stack:
        stack.provision(mailboxes={MAILBOX: PASSWORD})
        stack.start(timeout=90)  # slow when the machine is busy
        for n in range(3):
            send(stack, f"before the move {n}")
        imap = imap_login(stack)
        _, data = imap.select("INBOX")
        assert imap.uid("STORE", "2", "+FLAGS", r"(\Flagged $Work)")[0] == "OK"
        _, before = imap.uid("FETCH", "1:*", "(UID FLAGS)")
        validity = imap.response("UIDVALIDITY")[1]
        imap.logout()
        stack.stop()

        result = stack.cli("migrate", "--to", url, "--json", check=True)
        rows = {t["table"]: t["rows"] for t in json.loads(result.stdout)}
        assert rows[f"mail {MAILBOX}: messages"] == 3
        assert json.loads(stack.cli("migrate", "--to", url, "--json", check=True).stdout) == (
            json.loads(result.stdout)
        )  # idempotent

        stack.settings["store"] = {"url": url}
        stack.write_config()
        index = next((stack.data / "mail").rglob("swissbox-index.sqlite"))
        index.rename(index.with_suffix(".before-migration"))
        stack.start(timeout=90)  # slow when the machine is busy
        imap = imap_login(stack)
        imap.select("INBOX")
        assert imap.response("UIDVALIDITY")[1] == validity
        after = imap.uid("FETCH", "1:*", "(UID FLAGS)")[1]
        assert [flags(line) for line in after] == [flags(line) for line in before]
        imap.logout()
        stack.stop()


def test_a_folder_made_through_a_is_told_to_a_notify_session_on_b(pair: Pair) -> None:
    b_imap = imap_login(pair.b)
    tag = b_imap._new_tag().decode()
    b_imap.send(f"{tag} NOTIFY SET (PERSONAL (MailboxName SubscriptionChange))\r\n".encode())
    while not (line := b_imap.readline()).startswith(tag.encode()):
        pass
    assert b" OK" in line, line
    tag = idle(b_imap)
    a_imap = imap_login(pair.a)
    made_at = time.monotonic()
    assert a_imap.create("Remote")[0] == "OK"
    line = read_until(b_imap, rb'^\* LIST .*"Remote"', made_at + WAKE_DEADLINE)
    assert line == b'* LIST () "/" "Remote"\r\n'
    renamed_at = time.monotonic()
    assert a_imap.rename("Remote", "Moved")[0] == "OK"
    line = read_until(b_imap, rb'^\* LIST .*"Moved"', renamed_at + WAKE_DEADLINE)
    assert b'"OLDNAME" ("Remote")' in line
    done(b_imap, tag)
    a_imap.logout()
    b_imap.logout()
