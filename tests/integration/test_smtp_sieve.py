"""Sieve at delivery, with real clients: scripts uploaded with the CLI, smtplib in, IMAP to
look, an aiosmtpd server on loopback as the rest of the world (our relay host)."""

from __future__ import annotations

import imaplib
import smtplib
import ssl
import threading
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.polling import eventually
from tests.support.stack import Stack, free_port

HOST = "mx.example.test"
PW = "Mailbox-pw-123"
BOXES = ("ann", "bob", "cat", "dan", "eve")
SCRIPTS = {
    "ann": 'require ["envelope", "subaddress", "fileinto", "mailbox", "imap4flags"];\n'
    'if envelope :detail "to" "news" { fileinto :create :flags ["\\\\Flagged", "$News"] "news"; }\n',
    "bob": 'require "vacation";\nvacation :days 1 :subject "Away" "Back on Monday.";\n',
    "cat": 'redirect "far@world.test";\n',
    "dan": 'require "reject";\nif header :contains "subject" "spam" { reject "no thanks"; }\n',
    # six redirects: the fifth is past the bound, the script fails, the message stays
    "eve": "".join(f'redirect "r{i}@world.test";\n' for i in range(6)),
}


class World:
    """Every other domain's mail server: keeps what it is given."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self.lock:
            self.received.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or b"")
            )
        return "250 2.0.0 queued remotely"

    def to(self, address: str) -> list[tuple[str, list[str], bytes]]:
        with self.lock:
            return [m for m in self.received if address in m[1]]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    world = World(free_port())
    controller = Controller(world, hostname="127.0.0.1", port=world.port)
    controller.start()
    yield world
    controller.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, world: World) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("sieve")
    s = Stack(base, hostname=HOST)
    s.settings["smtp"]["relay_host"] = f"127.0.0.1:{world.port}"
    s.provision(mailboxes={f"{b}@example.test": PW for b in BOXES})
    for box, text in SCRIPTS.items():
        path = base / f"{box}.sieve"
        path.write_text(text)
        s.cli("mailbox", "sieve", f"{box}@example.test", str(path), check=True)
    before = base / "before.sieve"
    before.write_text(
        'require "fileinto";\nif header :contains "subject" "[SPAM]" { fileinto "Junk"; stop; }\n'
    )
    s.cli("mail", "sieve-before", "example.test", str(before), check=True)
    s.start()
    yield s
    s.stop()


def send(stack: Stack, sender: str, rcpt: str, subject: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, rcpt, subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@world.test>"
    msg.set_content(f"body of {subject}\n")
    raw = msg.as_bytes().replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as s:
        assert s.sendmail(sender, [rcpt], raw) == {}


def folder(stack: Stack, address: str, name: str) -> list[tuple[str, str]]:
    """(subject, flags) of each message in folder `name` (empty when there is no such folder)."""
    ctx = ssl.create_default_context(cafile=str(stack.ca_file))
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx, timeout=10)
    try:
        m.login(address, PW)
        typ, data = m.select(name, readonly=True)
        if typ != "OK" or data[0] == b"0":
            return []
        _, fetched = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        out = []
        for item in fetched:
            if isinstance(item, tuple):
                subject = item[1].decode().strip().removeprefix("Subject: ")
                out.append((subject, item[0].decode()))
        return out
    finally:
        m.logout()


def subjects(stack: Stack, address: str, name: str = "INBOX") -> list[str]:
    return [s for s, _ in folder(stack, address, name)]


def test_plus_address_files_into_news_with_a_flag(stack: Stack) -> None:
    subject = f"deal-{uuid.uuid4().hex[:8]}"
    send(stack, "shop@world.test", "ann+news@example.test", subject)
    eventually(lambda: subject in subjects(stack, "ann@example.test", "news"))
    [(_, flags)] = [m for m in folder(stack, "ann@example.test", "news") if m[0] == subject]
    assert "\\Flagged" in flags and "$News" in flags
    assert subject not in subjects(stack, "ann@example.test")
    plain = f"plain-{uuid.uuid4().hex[:8]}"
    send(stack, "shop@world.test", "ann@example.test", plain)
    eventually(lambda: plain in subjects(stack, "ann@example.test"))


def test_vacation_reply_once_per_sender_per_days(stack: Stack, world: World) -> None:
    first, second = f"v1-{uuid.uuid4().hex[:8]}", f"v2-{uuid.uuid4().hex[:8]}"
    send(stack, "pat@world.test", "bob@example.test", first)
    eventually(lambda: len(world.to("pat@world.test")) == 1)
    mail_from, _, reply = world.to("pat@world.test")[0]
    assert mail_from == "<>"  # RFC 5230 section 5: replies go from the null sender
    assert b"Auto-Submitted: auto-replied" in reply
    assert b"Subject: Away" in reply and b"Back on Monday." in reply
    send(stack, "pat@world.test", "bob@example.test", second)
    send(stack, "quinn@world.test", "bob@example.test", f"v3-{uuid.uuid4().hex[:8]}")
    eventually(lambda: len(world.to("quinn@world.test")) == 1)
    eventually(lambda: "vacation reply to pat@world.test already sent" in stack.log())
    assert len(world.to("pat@world.test")) == 1
    eventually(lambda: {first, second} <= set(subjects(stack, "bob@example.test")))


def test_redirect_goes_out_with_an_srs_sender_and_no_local_copy(stack: Stack, world: World) -> None:
    subject = f"redir-{uuid.uuid4().hex[:8]}"
    send(stack, "sam@world.test", "cat@example.test", subject)
    eventually(lambda: any(subject.encode() in m[2] for m in world.to("far@world.test")))
    [(mail_from, _, data)] = [m for m in world.to("far@world.test") if subject.encode() in m[2]]
    assert mail_from.upper().startswith("SRS0=") and mail_from.endswith("@example.test")
    assert b"Delivered-To: cat@example.test" in data
    assert subject not in subjects(stack, "cat@example.test")


def test_reject_sends_a_report_to_the_sender(stack: Stack, world: World) -> None:
    subject = f"spam-{uuid.uuid4().hex[:8]}"
    send(stack, "spammer@world.test", "dan@example.test", subject)
    eventually(lambda: len(world.to("spammer@world.test")) == 1)
    mail_from, _, report = world.to("spammer@world.test")[0]
    assert mail_from == "<>"
    assert b"no thanks" in report and b"5.7.1" in report
    assert subject not in subjects(stack, "dan@example.test")


def test_a_failing_script_keeps_the_message(stack: Stack, world: World) -> None:
    subject = f"fail-{uuid.uuid4().hex[:8]}"
    send(stack, "sam@world.test", "eve@example.test", subject)
    eventually(lambda: subject in subjects(stack, "eve@example.test"))
    assert "more than 4 redirects" in stack.log()
    assert not world.to("r0@world.test")


def test_cli_refuses_a_broken_script_with_its_line(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "bad.sieve"
    path.write_text('require "fileinto";\nfileinto "x"\nkeep;\n')
    result = stack.cli("mailbox", "sieve", "ann@example.test", str(path))
    assert result.returncode != 0
    assert "line 3" in result.stdout + result.stderr


def test_the_domain_script_runs_before_the_mailbox_s(stack: Stack, world: World) -> None:
    subject = f"[SPAM] {uuid.uuid4().hex[:8]}"
    send(stack, "sam@world.test", "cat@example.test", subject)
    eventually(lambda: subject in subjects(stack, "cat@example.test", "Junk"))
    # its stop skipped cat's own script (a redirect): nothing went out
    plain = f"redir-{uuid.uuid4().hex[:8]}"
    send(stack, "sam@world.test", "cat@example.test", plain)
    eventually(lambda: any(plain.encode() in m[2] for m in world.to("far@world.test")))
    assert not any(subject.encode() in m[2] for m in world.to("far@world.test"))
