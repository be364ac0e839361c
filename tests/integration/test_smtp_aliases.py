"""Addresses that are not mailboxes, with real clients: swaks and smtplib in, IMAP to look,
an aiosmtpd server on loopback as the rest of the world (our relay host): aliases, catch-all,
plus-addressing, forwarding with SRS, bounces to SRS addresses, and fifty RCPTs at once."""

from __future__ import annotations

import email
import email.policy
import imaplib
import smtplib
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from swissbox.smtp.srs import DAY, SrsCodec, load_keys
from tests.conftest import require_tool
from tests.support.polling import eventually
from tests.support.stack import Stack, free_port

HOST = "mx.example.test"
PW = "Mailbox-pw-123"
BOXES = ("ann", "bob", "cat", "dan")


class World:
    """Every other domain's mail server: keeps what it is given; refuses nouser@ for good."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:  # noqa: N802
        if address.startswith("nouser@"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

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


def cli(stack: Stack, *args: str) -> str:
    return stack.cli(*args, check=True).stdout


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, world: World) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("aliases"), hostname=HOST)
    s.settings["smtp"]["relay_host"] = f"127.0.0.1:{world.port}"
    s.settings["smtp"]["max_connections_per_address"] = 100  # fifty clients at once
    s.provision(mailboxes={f"{b}@example.test": PW for b in BOXES})
    cli(s, "alias", "add", "team@example.test", *(f"{b}@example.test" for b in BOXES[:3]))
    cli(s, "alias", "add", "fw@example.test", "dan@example.test", "far@world.test")
    cli(s, "alias", "add", "gone@example.test", "nouser@world.test")
    cli(s, "domain", "add", "example.org", "--org", "acme")
    cli(s, "domain", "alias", "example.org", "example.test")
    s.start()
    yield s
    s.stop()


def tls(stack: Stack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.ca_file))


def subjects(stack: Stack, address: str) -> list[str]:
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls(stack), timeout=10)
    try:
        m.login(address, PW)
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK"
        if data[0] == b"0":
            return []
        _, fetched = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        return [
            str(email.message_from_bytes(item[1], policy=email.policy.default)["Subject"])
            for item in fetched
            if isinstance(item, tuple)
        ]
    finally:
        m.logout()


def send(stack: Stack, sender: str, rcpts: list[str], subject: str, extra: str = "") -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender or "mailer-daemon@world.test", rcpts[0], subject
    msg.set_content(f"body of {subject}\n")
    raw = (extra.encode() + msg.as_bytes().replace(b"\n", b"\r\n")).replace(b"\r\r\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as s:
        assert s.sendmail(sender, rcpts, raw) == {}


def rcpt(stack: Stack, address: str, sender: str = "someone@world.test") -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as s:
        s.ehlo("client.world.test")
        assert s.mail(sender)[0] == 250
        code, text = s.rcpt(address)
        s.rset()
    return code, text.decode()


def test_swaks_to_an_alias_with_three_targets_lands_in_each_mailbox_once(stack: Stack) -> None:
    swaks = require_tool("swaks")
    subject = f"team-{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [
            swaks,
            "--server",
            f"127.0.0.1:{stack.ports['smtp_mx']}",
            "--from",
            "someone@world.test",
            "--to",
            "team@example.test,ann@example.test,Team+x@example.org",
            "--header",
            f"Subject: {subject}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for box in BOXES[:3]:
        assert subjects(stack, f"{box}@example.test").count(subject) == 1, box
    assert subject not in subjects(stack, "dan@example.test")


def test_catch_all_catches_and_plus_addressing_reaches_the_base(stack: Stack) -> None:
    assert rcpt(stack, "whoever@example.test")[0] == 550  # off by default
    cli(stack, "mail", "catch-all", "example.test", "dan@example.test")
    try:
        send(stack, "someone@world.test", ["whoever@example.test"], "caught")
        send(stack, "someone@world.test", ["bob+news@example.test"], "tagged")
        assert "caught" in subjects(stack, "dan@example.test")
        assert "tagged" in subjects(stack, "bob@example.test")
        assert "tagged" not in subjects(stack, "dan@example.test")
    finally:
        cli(stack, "mail", "catch-all", "example.test", "off")
    assert rcpt(stack, "whoever@example.test")[0] == 550


def test_external_forward_has_an_srs_sender_and_its_bounce_reaches_the_sender(
    stack: Stack, world: World
) -> None:
    subject = f"fw-{uuid.uuid4().hex[:8]}"
    send(stack, "orig@sender.test", ["fw@example.test"], subject)
    assert subject in subjects(stack, "dan@example.test")  # the local target
    eventually(lambda: any(subject.encode() in m[2] for m in world.to("far@world.test")))
    sender, rcpts, data = next(m for m in world.to("far@world.test") if subject.encode() in m[2])
    assert sender.startswith("SRS0=") and sender.endswith("=sender.test=orig@example.test")
    assert rcpts == ["far@world.test"]
    assert data.startswith(b"Delivered-To: fw@example.test\r\nReceived: from ")
    # the world bounces it: MAIL FROM:<> to the SRS address, which leads to the sender
    before = len(world.to("orig@sender.test"))
    send(stack, "", [sender], f"bounce of {subject}")
    eventually(lambda: len(world.to("orig@sender.test")) > before)
    bounce_from, _, bounce = world.to("orig@sender.test")[-1]
    assert bounce_from == "<>" and f"bounce of {subject}".encode() in bounce  # null sender


def test_a_refused_forward_bounces_to_the_original_sender(stack: Stack, world: World) -> None:
    """The queue's own DSN for a forward the world refused goes to the sender behind SRS."""
    subject = f"gone-{uuid.uuid4().hex[:8]}"
    send(stack, "writer@sender.test", ["gone@example.test"], subject)
    eventually(lambda: any(subject.encode() in m[2] for m in world.to("writer@sender.test")))
    bounce_from, _, dsn = world.to("writer@sender.test")[-1]
    assert bounce_from == "<>" and b"nouser@world.test" in dsn and b"5.1.1" in dsn


def test_forged_or_expired_srs_addresses_are_refused_at_rcpt(stack: Stack) -> None:
    keys = load_keys(stack.data)
    good = SrsCodec(keys).forward("orig@sender.test", "example.test")
    assert rcpt(stack, good, "")[0] == 250
    local, _, domain = good.partition("@")
    tag, hash_, rest = local.split("=", 2)
    forged = f"{tag}={'x' + hash_[1:] if hash_[0] != 'x' else 'y' + hash_[1:]}={rest}@{domain}"
    expired = SrsCodec(keys, clock=lambda: time.time() - 30 * DAY).forward(
        "orig@sender.test", "example.test"
    )
    stranger = SrsCodec([b"not-our-key"]).forward("orig@sender.test", "example.test")
    for address in (forged, expired, stranger, "SRS0=abc=AA=world.test=x@example.test"):
        code, text = rcpt(stack, address, "")
        assert (code, "invalid or expired SRS" in text) == (550, True), address


def test_hop_count_and_delivered_to_loops_are_refused(stack: Stack) -> None:
    hops = "".join(f"Received: from hop{i} by hop{i + 1}; Mon, 2 Jan 2023\r\n" for i in range(101))
    with pytest.raises(smtplib.SMTPDataError) as caught:
        send(stack, "someone@world.test", ["ann@example.test"], "hops", hops)
    assert caught.value.smtp_code == 554 and b"5.4.6" in caught.value.smtp_error
    with pytest.raises(smtplib.SMTPDataError) as caught:
        send(
            stack,
            "someone@world.test",
            ["fw@example.test"],
            "again",
            "Delivered-To: fw@example.test\r\n",
        )
    assert caught.value.smtp_code == 554


def test_fifty_concurrent_rcpts_get_the_right_answers(stack: Stack) -> None:
    keys = load_keys(stack.data)
    good_srs = SrsCodec(keys).forward("x@sender.test", "example.test")
    cases = [
        ("team@example.test", 250),
        ("bob+tag@example.org", 250),
        ("fw@example.test", 250),
        ("nobody@example.test", 550),
        ("someone@world.test", 554),  # relay attempt
        ("ann%world.test@example.test", 550),
        (good_srs, 250),
        (good_srs.replace("SRS0=", "SRS0=Q", 1), 550),
        ("postmaster@example.test", 550),  # its administrators have no mailbox here
        ("ann@[127.0.0.1]", 554),
    ]

    def client(i: int) -> list[tuple[str, int, int]]:
        out = []
        with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=20) as s:
            s.ehlo(f"client{i}.world.test")
            assert s.mail("" if i % 2 else "someone@world.test")[0] == 250
            for j in range(5):
                address, wanted = cases[(i + j) % len(cases)]
                out.append((address, wanted, s.rcpt(address)[0]))
            s.rset()
        return out

    with ThreadPoolExecutor(50) as pool:
        results = [r for batch in pool.map(client, range(50)) for r in batch]
    assert len(results) == 250
    wrong = [r for r in results if r[1] != r[2]]
    assert wrong == []


def test_submission_may_send_as_its_aliases_where_the_alias_allows_it(stack: Stack) -> None:
    cli(stack, "alias", "add", "quiet@example.test", "ann@example.test", "--no-send-as")
    with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as s:
        s.starttls(context=tls(stack))
        s.login("ann@example.test", PW)
        answers = {}
        for sender in ("team@example.test", "ann@example.org", "quiet@example.test"):
            answers[sender] = s.mail(sender)[0]
            s.rset()
    assert answers == {"team@example.test": 250, "ann@example.org": 250, "quiet@example.test": 553}
    cli(stack, "alias", "add", "quiet@example.test", "ann@example.test", "--send-as")
    with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as s:
        s.starttls(context=tls(stack))
        s.login("ann@example.test", PW)
        assert s.mail("quiet@example.test")[0] == 250  # read again at each MAIL


def test_a_loop_for_one_recipient_delivers_the_others_and_bounces_once(
    stack: Stack, world: World
) -> None:
    subject = f"half-{uuid.uuid4().hex[:8]}"
    looped = "Delivered-To: fw@example.test\r\n"
    send(stack, "half@sender.test", ["fw@example.test", "cat@example.test"], subject, looped)
    assert subject in subjects(stack, "cat@example.test")
    assert subject not in subjects(stack, "dan@example.test")  # fw's local target: not again
    eventually(lambda: bool(world.to("half@sender.test")))
    bounce_from, _, dsn = world.to("half@sender.test")[0]
    assert bounce_from == "<>" and b"5.4.6" in dsn and b"fw@example.test" in dsn
    assert subject.encode() in dsn
    assert not any(subject.encode() in m[2] for m in world.to("far@world.test"))
