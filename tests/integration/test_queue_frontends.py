"""Two `swissbox serve` front ends over one PostgreSQL and one shared blob path work one
outbound queue: mail submitted on both reaches the remote MX exactly once each, and when the
front end holding messages in delivery is killed, the other delivers them once its lease ran
out (the remote server saw no DATA from the dead one: it was stalled at RCPT)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from swissbox.mailstore.queuestate import QueueState
from tests.support.polling import eventually
from tests.support.stack import Stack, free_port

ALICE, PASSWORD = "alice@example.test", "alice-mailbox-pw"
LEASE = 2.0  # seconds: how soon the survivor takes over a dead front end's messages


class SinkMx:
    """remote.test's MX: records every accepted message by its Subject; RCPT to stall-*
    waits while `stall` is set (the sending front end holds its claim meanwhile)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.subjects: Counter[str] = Counter()
        self.stalled: list[str] = []  # EHLO names of the sessions that waited at RCPT
        self.stall = threading.Event()

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("stall-"):
            with self.lock:
                self.stalled.append(session.host_name or "")
            while self.stall.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        data = envelope.original_content or b""
        subject = next(
            (line[9:].decode() for line in data.split(b"\r\n") if line.startswith(b"Subject: ")),
            "",
        )
        with self.lock:
            self.subjects[subject] += 1
        return "250 2.0.0 accepted"

    def count(self, prefix: str) -> int:
        with self.lock:
            return sum(n for s, n in self.subjects.items() if s.startswith(prefix))


@pytest.fixture
def world(tmp_path: Path, postgres: Any) -> Iterator[tuple[Stack, Stack, SinkMx, str]]:
    url = postgres.new_database()
    sink = SinkMx()
    mx_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=mx_port)
    controller.start()
    store = {"url": url, "blob_path": str(tmp_path / "blobs")}
    smtp = {"outbound_port": mx_port, "retry_schedule": [0.5], "queue_lease": LEASE}
    a = Stack(tmp_path / "a", hostname="a.example.test", store=store, smtp=smtp)
    b = Stack(tmp_path / "b", hostname="b.example.test", store=store, smtp=smtp)
    try:
        a.provision(mailboxes={ALICE: PASSWORD})
        a.cli("org", "add", "world", check=True)
        a.cli("domain", "add", "remote.test", "--org", "world", check=True)
        a.cli("dns", "add", "remote.test", "@", "MX", "10 mx.remote.test.", check=True)
        a.cli("dns", "add", "remote.test", "mx", "A", "127.0.0.1", check=True)
        b.init()
        with a, b:
            a.start()
            b.start()
            yield a, b, sink, url
    finally:
        sink.stall.clear()
        controller.stop()


def submit(stack: Stack, subjects: list[str], to: Callable[[str], str]) -> None:
    """Each subject as one message over one authenticated submission session."""
    context = ssl.create_default_context(cafile=str(stack.ca_file))
    with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=30) as client:
        client.starttls(context=context)
        client.login(ALICE, PASSWORD)
        for subject in subjects:
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = ALICE, to(subject), subject
            msg.set_content("hello\n")
            assert client.send_message(msg) == {}


def queue_entries(url: str) -> list[Any]:
    state = QueueState.open(url)
    try:
        return state.entries()
    finally:
        state.close()


def test_two_front_ends_deliver_each_message_once_and_take_over_a_killed_ones(
    world: tuple[Stack, Stack, SinkMx, str], tmp_path: Path
) -> None:
    a, b, sink, url = world
    queue_dir = tmp_path / "blobs" / "queue"

    # 44 messages, half through each front end at the same time
    batches = {a: [f"burst-a{i}" for i in range(22)], b: [f"burst-b{i}" for i in range(22)]}
    errors: list[BaseException] = []

    def send(stack: Stack) -> None:
        try:
            submit(stack, batches[stack], lambda s: f"{s}@remote.test")
        except BaseException as exc:
            errors.append(exc)

    senders = [threading.Thread(target=send, args=(s,)) for s in (a, b)]
    for t in senders:
        t.start()
    for t in senders:
        t.join(60)
    assert errors == []
    eventually(lambda: sink.count("burst-") >= 44, 20, "not every message arrived")
    eventually(
        lambda: not list(queue_dir.glob("*.msg")) and not queue_entries(url),
        10,
        "the queue did not empty",
    )
    assert sink.subjects == Counter({s: 1 for batch in batches.values() for s in batch})

    # messages held in delivery (stalled at the remote RCPT) when their holder is killed
    sink.stall.set()
    stalled = [f"stall-{i}" for i in range(6)]
    submit(a, stalled, lambda s: f"{s}@remote.test")
    eventually(lambda: len(sink.stalled) == 6, 15, "not every message reached the remote RCPT")
    held = Counter(e.claimed_by.split(":")[1] for e in queue_entries(url) if e.claimed_by)
    assert sum(held.values()) == 6
    assert a.proc is not None and b.proc is not None
    victim, survivor = (a, b) if held[str(a.proc.pid)] >= held[str(b.proc.pid)] else (b, a)
    victim.kill()  # SIGKILL: no release of its claims
    sink.stall.clear()
    eventually(lambda: sink.count("stall-") == 6, 20, "the survivor did not deliver them all")
    eventually(lambda: not queue_entries(url), 10, "the queue did not empty")
    assert {s: n for s, n in sink.subjects.items() if s.startswith("stall-")} == {
        s: 1 for s in stalled
    }
    assert not list(queue_dir.glob("*.msg"))
    assert survivor.proc is not None and survivor.proc.poll() is None
