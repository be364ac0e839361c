"""postmaster@ and abuse@ (RFC 5321 4.5.1, RFC 2142) on every hosted mail domain, and the
bare `Postmaster` of RFC 5321 4.1.1.3: accepted at RCPT and delivered to the organization's
administrators until a mailbox of that name exists. System mail comes from
postmaster@<server.hostname>."""

from __future__ import annotations

import email
import email.policy
import imaplib
import smtplib
import ssl
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from swissbox.auth import HashParams, hash_secret
from swissbox.conf import load
from swissbox.directory import Directory
from tests.support.polling import eventually
from tests.support.stack import Stack, free_port

HOST = "mx.example.test"
PW = {
    "lena@example.test": "lena-mailbox-pw",  # the legal representative's login is hosted here
    "adam@example.test": "adam-mailbox-pw",  # granted to the admin adam@elsewhere.org
    "carl@example.test": "carl-mailbox-pw",  # a collaborator: gets no postmaster mail
    "info@example.test": "info-mailbox-pw",  # shared by carl and adam: gets none either
}


def cli(stack: Stack, *args: str, stdin: str | None = None) -> str:
    return stack.cli(*args, stdin=stdin, check=True).stdout


class RefusingMx:
    """The world's mail server (our relay host): refuses every recipient for good."""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:  # noqa: N802
        return "550 5.1.1 no such user here"


@pytest.fixture(scope="module")
def remote_port() -> Iterator[int]:
    port = free_port()
    controller = Controller(RefusingMx(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, remote_port: int) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("postmaster"), hostname=HOST)
    # Everything for other domains goes to the refusing server: bounces come at once.
    s.settings["smtp"]["relay_host"] = f"127.0.0.1:{remote_port}"
    s.settings["smtp"]["max_connections_per_address"] = 100  # fifty senders at once
    s.init()
    for org, domain in (("acme", "example.test"), ("beta", "beta.test")):
        cli(s, "org", "add", org)
        cli(s, "domain", "add", domain, "--org", org)
        cli(s, "mail", "enable", domain)
    # People and grants straight into the directory (the CLI path is tested elsewhere).
    cheap = HashParams(8, 1, 1)
    with Directory(load(data=str(s.data)).db_path) as d:
        for login, org, role in (
            ("lena@example.test", "acme", "legal"),
            ("adam@elsewhere.org", "acme", "admin"),
            ("carl@elsewhere.org", "acme", "collaborator"),
            ("bea@elsewhere.org", "beta", "legal"),  # beta's only administrator: no mailbox
        ):
            d.add_account(login, hash_secret("account-pw-123", cheap), org, role)
        for address, password in PW.items():
            d.add_mailbox(address, hash_secret(password, cheap))
        for address, login, access in (
            ("adam@example.test", "adam@elsewhere.org", "own"),  # their own, login elsewhere
            ("info@example.test", "adam@elsewhere.org", "full"),
            ("carl@example.test", "carl@elsewhere.org", "own"),
            ("info@example.test", "carl@elsewhere.org", "full"),
        ):
            d.grant(address, login, access)
    s.start()
    yield s
    s.stop()


def tls(stack: Stack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.ca_file))


def inbox(stack: Stack, address: str) -> list[email.message.EmailMessage]:
    """Every message in the mailbox's INBOX, over IMAP."""
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls(stack), timeout=10)
    try:
        m.login(address, PW.get(address, "postmaster-pw-123"))
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK"
        if data[0] == b"0":
            return []
        _, fetched = m.fetch("1:*", "(BODY.PEEK[])")
        return [
            email.message_from_bytes(item[1], policy=email.policy.default)  # type: ignore[misc]
            for item in fetched
            if isinstance(item, tuple)
        ]
    finally:
        m.logout()


def subjects(stack: Stack, address: str) -> list[str]:
    return [str(msg["Subject"]) for msg in inbox(stack, address)]


def rcpt_replies(stack: Stack, *addresses: str) -> dict[str, tuple[int, str]]:
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as s:
        s.ehlo("client.example.org")
        assert s.mail("someone@example.org")[0] == 250
        out = {}
        for address in addresses:
            code, text = s.rcpt(address)
            out[address] = (code, text.decode())
        s.rset()
    return out


def send_mx(stack: Stack, rcpt: str, subject: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "reporter@example.org", rcpt, subject
    msg.set_content("a report\n")
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as s:
        assert s.send_message(msg, "reporter@example.org", [rcpt]) == {}


def test_role_addresses_are_accepted_and_unknown_users_still_refused(stack: Stack) -> None:
    replies = rcpt_replies(
        stack,
        "postmaster@example.test",
        "abuse@example.test",
        "PostMaster@EXAMPLE.test",
        "Postmaster",
        f"postmaster@{HOST}",
        "nobody@example.test",
        "postmaster@gmail.com",
    )
    for accepted in (
        "postmaster@example.test",
        "abuse@example.test",
        "PostMaster@EXAMPLE.test",
        "Postmaster",
        f"postmaster@{HOST}",
    ):
        assert replies[accepted][0] == 250, (accepted, replies[accepted])
    assert replies["nobody@example.test"][0] == 550
    assert replies["nobody@example.test"][1].startswith("5.1.1")
    assert replies["postmaster@gmail.com"][0] == 554  # still no relay


def test_postmaster_mail_reaches_the_administrators(stack: Stack) -> None:
    send_mx(stack, "postmaster@example.test", "dmarc report")
    send_mx(stack, "abuse@example.test", "abuse report")
    send_mx(stack, "Postmaster", "for the server postmaster")
    for admin_box in ("lena@example.test", "adam@example.test"):
        got = subjects(stack, admin_box)
        for subject in ("dmarc report", "abuse report", "for the server postmaster"):
            assert got.count(subject) == 1, (admin_box, got)
    for other in ("carl@example.test", "info@example.test"):
        assert not {"dmarc report", "abuse report"} & set(subjects(stack, other))


def test_no_administrator_mailbox_refuses_clearly_until_a_mailbox_exists(stack: Stack) -> None:
    code, text = rcpt_replies(stack, "postmaster@beta.test")["postmaster@beta.test"]
    assert code == 550 and text.startswith("5.1.1") and "administrator" in text, text
    warnings = [line for line in stack.log().splitlines() if "<postmaster@beta.test>" in line]
    assert len(warnings) == 1 and "no administrator" in warnings[0], warnings
    # A mailbox of that name takes over (the running server sees it without restart).
    cli(stack, "mailbox", "add", "postmaster@beta.test", "--password-stdin",
        stdin="postmaster-pw-123\n")  # fmt: skip
    send_mx(stack, "postmaster@beta.test", "now a mailbox")
    assert subjects(stack, "postmaster@beta.test") == ["now a mailbox"]


def test_system_mail_comes_from_postmaster_at_the_hostname(stack: Stack) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "carl@example.test", "gone@remote.test", "lost"
    msg.set_content("this will bounce\n")
    with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as s:
        s.starttls(context=tls(stack))
        s.login("carl@example.test", PW["carl@example.test"])
        assert s.send_message(msg) == {}
    bounce = "Undelivered Mail Returned to Sender"
    eventually(lambda: bounce in subjects(stack, "carl@example.test"))
    (dsn,) = [m for m in inbox(stack, "carl@example.test") if m["Subject"] == bounce]
    assert dsn["From"].addresses[0].addr_spec == f"postmaster@{HOST}"
    # The role-change notice too.
    cli(stack, "org", "member", "set-role", "carl@elsewhere.org", "admin", "--org", "acme")
    (notice,) = [m for m in inbox(stack, "carl@example.test") if "role" in str(m["Subject"])]
    assert notice["From"].addresses[0].addr_spec == f"postmaster@{HOST}"
    cli(stack, "org", "member", "set-role", "carl@elsewhere.org", "collaborator", "--org", "acme")


def test_fifty_senders_at_once_to_role_and_unknown_addresses(stack: Stack) -> None:
    """Role lookups share the directory with every session: each answer right under load."""
    targets = ["abuse@example.test", "nobody@example.test", "Postmaster", "postmaster@gmail.com"]

    def one(i: int) -> tuple[str, int]:
        rcpt = targets[i % len(targets)]
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "r@example.org", rcpt, f"burst {i}"
        msg.set_content("x\n")
        try:
            with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=20) as s:
                s.send_message(msg, "r@example.org", [rcpt])
            return rcpt, 250
        except smtplib.SMTPRecipientsRefused as exc:
            return rcpt, exc.recipients[rcpt][0]

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(one, range(50)))
    expected = {targets[0]: 250, targets[1]: 550, targets[2]: 250, targets[3]: 554}
    assert all(code == expected[rcpt] for rcpt, code in answers), answers
    accepted = {f"burst {i}" for i in range(50) if i % 4 in (0, 2)}
    for admin_box in ("lena@example.test", "adam@example.test"):
        got = [s for s in subjects(stack, admin_box) if s.startswith("burst")]
        assert sorted(got) == sorted(accepted)
