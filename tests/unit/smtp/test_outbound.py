"""The queue runner without a network peer: expiry after the queue lifetime, retry timing,
null-sender messages never bounce, and the DSN's shape."""

from __future__ import annotations

import asyncio
import email
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from swissbox.mailstore.queue import OutboundQueue
from swissbox.mailstore.queuestate import QueueState
from swissbox.smtp.outbound import dsn
from swissbox.smtp.outbound.runner import OutboundSettings, QueueRunner
from swissbox.smtp.outbound.state import RecipientState
from tests.support.stack import free_port


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def runner(tmp_path: Path, clock: Clock, bounces: list[tuple[str, bytes]]) -> QueueRunner:
    closed_port = free_port()  # nobody listens: every attempt is a temporary failure

    async def bounce(sender: str, data: bytes) -> None:
        bounces.append((sender, data))

    settings = OutboundSettings(
        hostname="mx.example.test",
        relay=("127.0.0.1", closed_port),
        retry_schedule=(10.0, 20.0),
        max_age=100.0,
        timeout=2.0,
    )
    state = QueueState.open(tmp_path / "queue.db")
    return QueueRunner(OutboundQueue(tmp_path / "queue"), state, settings, bounce, clock=clock)


async def test_temporary_failures_retry_on_schedule_then_expire_and_bounce(tmp_path: Path) -> None:
    queue = OutboundQueue(tmp_path / "queue")
    qid = queue.enqueue("alice@example.test", ["bob@remote.test"], b"Subject: hi\r\n\r\nbody\r\n")
    created = queue.list()[0].created
    clock = Clock(created + 1)
    bounces: list[tuple[str, bytes]] = []
    r = runner(tmp_path, clock, bounces)
    assert await r.run_once() == 10.0  # first failure: next try after the first delay
    assert await r.run_once() == 10.0  # not due yet: nothing attempted
    clock.now += 10
    assert await r.run_once() == 20.0  # second failure: the second delay
    clock.now += 200  # past max_age
    await r.run_once()
    assert not list((tmp_path / "queue").glob(f"{qid}.*"))
    ((sender, data),) = bounces
    assert sender == "alice@example.test"
    report = email.message_from_bytes(data)
    text = report.as_string()
    assert "bob@remote.test" in text and "4.4.7 delivery time expired" in text


async def test_a_delivery_that_raises_backs_off_along_the_schedule(tmp_path: Path) -> None:
    """A bug while delivering one message counts as an attempt (before: retried after the
    schedule's first step forever, attempts never counted)."""
    queue = OutboundQueue(tmp_path / "queue")
    queue.enqueue("alice@example.test", ["bob@remote.test"], b"Subject: hi\r\n\r\nbody\r\n")
    clock = Clock(queue.list()[0].created + 1)
    r = runner(tmp_path, clock, [])

    async def broken(*args: Any) -> None:
        raise RuntimeError("a bug in delivery")

    r._attempt_domain = broken  # type: ignore[method-assign]
    assert await r.run_once() == 10.0
    clock.now += 10
    assert await r.run_once() == 20.0
    clock.now += 20
    assert await r.run_once() == 20.0  # the last step repeats


async def test_a_delivery_that_keeps_raising_expires_and_bounces(tmp_path: Path) -> None:
    """Past max_age a message whose delivery raises every time is bounced like any other
    (before: retried forever, the sender never told)."""
    queue = OutboundQueue(tmp_path / "queue")
    qid = queue.enqueue("alice@example.test", ["bob@remote.test"], b"Subject: hi\r\n\r\nbody\r\n")
    clock = Clock(queue.list()[0].created + 1)
    bounces: list[tuple[str, bytes]] = []
    r = runner(tmp_path, clock, bounces)

    async def broken(*args: Any) -> None:
        raise RuntimeError("a bug in delivery")

    r._attempt_domain = broken  # type: ignore[method-assign]
    assert await r.run_once() == 10.0
    clock.now += 200  # past max_age
    await r.run_once()
    assert not list((tmp_path / "queue").glob(f"{qid}.*"))
    ((sender, data),) = bounces
    text = email.message_from_bytes(data).as_string()
    assert sender == "alice@example.test" and "Subject: hi" in text
    assert "4.4.7 delivery time expired; last: local error while delivering (RuntimeError)" in text


async def test_null_sender_never_bounces(tmp_path: Path) -> None:
    queue = OutboundQueue(tmp_path / "queue")
    queue.enqueue("", ["bob@remote.test"], b"Subject: bounce\r\n\r\nx\r\n")
    clock = Clock(queue.list()[0].created + 1000)
    bounces: list[tuple[str, bytes]] = []
    await runner(tmp_path, clock, bounces).run_once()
    assert bounces == [] and not list((tmp_path / "queue").glob("*.msg"))


def test_dsn_shape() -> None:
    failed = {
        "bob@remote.test": RecipientState("failed", "550 5.1.1 no such user", "mx.remote.test")
    }
    data = dsn.bounce(
        "mx.example.test", "Q1", "alice@example.test", failed, b"Subject: hi\r\n\r\nbody", 0
    )
    msg = email.message_from_bytes(data)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    kinds = [p.get_content_type() for p in msg.get_payload()]
    assert kinds == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    assert b"Status: 5.1.1" in data and b"Remote-MTA: dns; mx.remote.test" in data
    assert b"body" not in data.split(b"text/rfc822-headers")[1]  # headers only, not the body


async def test_a_message_queued_by_an_older_version_is_delivered_to_its_pending_recipients(
    tmp_path: Path,
) -> None:
    """A `.msg` with the `.state` file older versions kept: the recipient already sent is not
    sent again, the pending one is, and both files leave the queue."""
    received: list[list[str]] = []

    class Sink:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
            received.append(list(envelope.rcpt_tos))
            return "250 2.0.0 ok"

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        queue = OutboundQueue(tmp_path / "queue")
        qid = queue.enqueue(
            "alice@example.test",
            ["done@remote.test", "todo@remote.test"],
            b"Subject: x\r\n\r\nx\r\n",
        )
        (tmp_path / "queue" / f"{qid}.state").write_text(
            '{"attempts": 1, "next_attempt": 0, "recipients": {'
            '"done@remote.test": {"status": "sent", "reply": "250 ok", "remote": "mx"},'
            ' "todo@remote.test": {"status": "pending", "reply": "451 later", "remote": ""}}}'
        )
        settings = OutboundSettings(hostname="mx.example.test", relay=("127.0.0.1", port))

        async def bounce(sender: str, data: bytes) -> None:
            raise AssertionError("nothing failed")

        state = QueueState.open(tmp_path / "queue.db")
        await QueueRunner(queue, state, settings, bounce).run_once()
        assert received == [["todo@remote.test"]]
        assert not list((tmp_path / "queue").glob(f"{qid}.*")) and state.ids() == set()
        state.close()
    finally:
        controller.stop()


async def test_a_delivery_longer_than_the_lease_keeps_its_claim(tmp_path: Path) -> None:
    """The runner renews its lease while the remote server is slow: nobody else can claim the
    message meanwhile, and it is sent once."""
    received: list[float] = []
    attempts: list[str] = []  # RCPTs: every delivery that started

    class SlowSink:
        async def handle_RCPT(  # noqa: N802
            self, server: object, session: object, envelope: Any, address: str, options: Any
        ) -> str:
            attempts.append(address)
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
            await asyncio.sleep(1.5)
            received.append(time.time())
            return "250 2.0.0 ok"

    port = free_port()
    controller = Controller(SlowSink(), hostname="127.0.0.1", port=port)
    controller.start()
    queue = OutboundQueue(tmp_path / "queue")
    queue.enqueue("alice@example.test", ["bob@remote.test"], b"Subject: x\r\n\r\nx\r\n")
    settings = OutboundSettings(hostname="mx.example.test", relay=("127.0.0.1", port), lease=0.6)

    async def bounce(sender: str, data: bytes) -> None:
        raise AssertionError("nothing failed")

    state = QueueState.open(tmp_path / "queue.db")
    other = QueueState.open(tmp_path / "queue.db")  # another front end's connection
    runner = QueueRunner(queue, state, settings, bounce)
    runner.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + 10
        while not received:
            assert time.monotonic() < deadline, "never delivered"
            taken = await loop.run_in_executor(None, other.claim, "other", time.time(), 60, 5)
            assert taken == [], "claimed by a second runner while the first delivered it"
            await asyncio.sleep(0.1)
        while state.ids() or runner._in_flight:
            assert time.monotonic() < deadline, "never left the queue"
            await asyncio.sleep(0.05)
        assert len(received) == 1 and attempts == ["bob@remote.test"]
    finally:
        await runner.stop()
        state.close()
        other.close()
        controller.stop()
