"""Mail to other domains leaves the queue: MX lookup (at our own DNS), delivery to a remote
server on loopback, retry after a temporary failure, and a bounce (DSN) for a refusal."""

from __future__ import annotations

import email
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.stack import Stack, free_port

ALICE, PASSWORD = "alice@example.test", "alice-mailbox-pw"


class RemoteMx:
    """The world's mail server for remote.test: 250 for ok@, 451 once then 250 for slow@,
    550 for nouser@."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.tempfailed: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:  # noqa: N802
        local = address.split("@")[0]
        if local == "nouser":
            return "550 5.1.1 no such user here"
        if local == "slow" and address not in self.tempfailed:
            self.tempfailed.add(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self.lock:
            self.received.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or b"")
            )
        return "250 2.0.0 queued remotely"


def wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def inbox_messages(stack: Stack, local: str = "alice") -> list[email.message.Message]:
    root = stack.data / "mail" / "example.test" / local
    files = [p for sub in ("new", "cur") for p in (root / sub).glob("*") if p.is_file()]
    return [email.message_from_bytes(p.read_bytes()) for p in files]


def test_queue_delivers_retries_and_bounces(tmp_path: Path) -> None:
    remote = RemoteMx()
    mx_port = free_port()
    controller = Controller(remote, hostname="127.0.0.1", port=mx_port)
    controller.start()
    stack = Stack(tmp_path)
    stack.settings["smtp"].update(
        {
            "outbound_port": mx_port,
            "outbound_resolvers": [f"127.0.0.1:{stack.ports['dns']}"],
            "retry_schedule": [0.5],
        }
    )
    try:
        stack.provision(mailboxes={ALICE: PASSWORD})
        stack.cli("org", "add", "world", check=True)
        stack.cli("domain", "add", "remote.test", "--org", "world", check=True)
        stack.cli("dns", "add", "remote.test", "@", "MX", "10 mx.remote.test.", check=True)
        stack.cli("dns", "add", "remote.test", "mx", "A", "127.0.0.1", check=True)
        stack.start()

        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = ALICE, "ok@remote.test", "outbound"
        msg.set_content("hello world\n")
        context = ssl.create_default_context(cafile=str(stack.ca_file))
        with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as client:
            client.starttls(context=context)
            client.login(ALICE, PASSWORD)
            refused = client.send_message(
                msg, ALICE, ["ok@remote.test", "slow@remote.test", "nouser@remote.test"]
            )
            assert refused == {}  # accepted into the queue; the world decides later

        # Within 20 s, before the runner's 30 s idle pass: only the wake-up on queueing gets it there.
        wait_for(lambda: sum(len(r) for _, r, _ in remote.received) == 2)
        delivered = {rcpt for _, rcpts, _ in remote.received for rcpt in rcpts}
        assert delivered == {"ok@remote.test", "slow@remote.test"}
        assert all(sender == ALICE for sender, _, _ in remote.received)
        assert "slow@remote.test" in remote.tempfailed  # it was retried
        assert all(b"Subject: outbound" in data for _, _, data in remote.received)

        wait_for(
            lambda: any(
                m["Subject"] == "Undelivered Mail Returned to Sender" for m in inbox_messages(stack)
            )
        )
        bounce = next(
            m
            for m in inbox_messages(stack)
            if m["Subject"] == "Undelivered Mail Returned to Sender"
        )
        assert bounce.get_content_type() == "multipart/report"
        status = next(p for p in bounce.walk() if p.get_content_type() == "message/delivery-status")
        text = status.as_string()
        assert "nouser@remote.test" in text and "5.1.1" in text
        assert "ok@remote.test" not in text
        wait_for(lambda: not list((stack.data / "queue").glob("*.msg")))
    finally:
        stack.stop()
        controller.stop()
