"""A front end killed mid-burst: two `swissbox serve` over one PostgreSQL and one blob_path,
fifty SMTP clients delivering through both, front end A SIGKILLed while they send. Every
message that got its 250 (from A or B) is readable over IMAP on B afterwards, once; B keeps
accepting and serving mail."""

from __future__ import annotations

import imaplib
import smtplib
import ssl
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.support.polling import eventually
from tests.support.stack import Stack

MAILBOX, PASSWORD = "kill@example.test", "Mailbox-pw-1"
CLIENTS, MESSAGES_EACH = 50, 4
KILL_AFTER = 20  # 250s from A before it is killed


class Pair(NamedTuple):
    a: Stack
    b: Stack


@pytest.fixture
def pair(tmp_path: Path, postgres: Any) -> Iterator[Pair]:
    url = postgres.new_database()
    store = {"url": url, "blob_path": str(tmp_path / "blobs")}
    smtp = {"max_connections_per_address": 100}  # the burst comes from one address
    a, b = (
        Stack(tmp_path / "a", store=store, smtp=smtp),
        Stack(tmp_path / "b", store=store, smtp=smtp),
    )
    a.provision(mailboxes={MAILBOX: PASSWORD})
    b.init()
    with a, b:
        a.start()
        b.start()
        yield Pair(a, b)
        assert b.stop() == 0


def subjects_on(stack: Stack) -> list[str]:
    with imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=30) as imap:
        imap.starttls(ssl_context=ssl.create_default_context(cafile=str(stack.ca_file)))
        imap.login(MAILBOX, PASSWORD)
        imap.select("INBOX", readonly=True)
        status, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert status == "OK"
        lines = [item[1].decode().strip() for item in data if isinstance(item, tuple)]
        return [line.removeprefix("Subject: ") for line in lines]


def test_every_acknowledged_message_survives_a_sigkill_of_a(pair: Pair) -> None:
    a, b = pair
    acknowledged: list[str] = []
    from_a = threading.Semaphore(0)
    lock = threading.Lock()

    def client(n: int) -> None:
        stack = a if n % 2 else b
        try:
            with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=60) as mx:
                for k in range(MESSAGES_EACH):
                    subject = f"burst {n}-{k} via {'A' if stack is a else 'B'}"
                    raw = f"From: far@away.example\r\nSubject: {subject}\r\n\r\nx\r\n".encode()
                    mx.sendmail("far@away.example", [MAILBOX], raw)  # raises unless 250
                    with lock:
                        acknowledged.append(subject)
                    if stack is a:
                        from_a.release()
        except (smtplib.SMTPException, OSError):
            pass  # A died under this client: whatever had no 250 yet may be lost

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for _ in range(KILL_AFTER):
        assert from_a.acquire(timeout=60), "front end A acknowledged too few messages"
    a.kill()  # SIGKILL, mid-burst
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)

    with lock:
        acked = Counter(acknowledged)
    via_a = [s for s in acked if s.endswith("via A")]
    assert len(via_a) >= KILL_AFTER and len(acked) > len(via_a)  # both front ends took mail
    assert len(via_a) < CLIENTS // 2 * MESSAGES_EACH  # A really died mid-burst
    on_b = Counter(subjects_on(b))
    lost = [s for s in acked if on_b[s] != 1]
    assert not lost, f"acknowledged but not on B exactly once: {lost[:5]}"

    # B keeps serving: new mail is accepted and read back
    with smtplib.SMTP("127.0.0.1", b.ports["smtp_mx"], timeout=30) as mx:
        raw = b"From: far@away.example\r\nSubject: after the kill\r\n\r\nx\r\n"
        mx.sendmail("far@away.example", [MAILBOX], raw)
    eventually(lambda: "after the kill" in subjects_on(b), 10, "B stopped serving")
