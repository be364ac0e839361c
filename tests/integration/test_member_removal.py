"""`swissbox org member remove` and the mailboxes the member used: the command says what
becomes of each address (kept for the others who hold a grant, handed over to --transfer-to,
or disabled) and does it, against the running server: what the member knew opens nothing."""

from __future__ import annotations

import contextlib
import imaplib
import smtplib
import ssl
from collections.abc import Iterator

import pytest

from swissbox.auth import HashParams, hash_secret
from swissbox.conf import load
from swissbox.directory import Directory
from tests.support.stack import Stack

PW = {
    "lena@example.test": "lena-mailbox-pw",  # the legal representative's own (her login)
    "bob@example.test": "bob-mailbox-pw",  # bob's alone
    "info@example.test": "info-mailbox-pw",  # shared by bob and carl
    "team@example.test": "team-mailbox-pw",  # shared by carl and dora
}
BOB, CARL, DORA, LENA = (
    "bob@elsewhere.org",
    "carl@elsewhere.org",
    "dora@elsewhere.org",
    "lena@example.test",
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("removal"))
    s.init()
    s.cli("org", "add", "acme", check=True)
    s.cli("domain", "add", "example.test", "--org", "acme", check=True)
    s.cli("mail", "enable", "example.test", check=True)
    cheap = HashParams(8, 1, 1)
    with Directory(load(data=str(s.data)).db_path) as d:
        d.add_account(LENA, hash_secret("account-pw-123", cheap), "acme", "legal")
        for login in (BOB, CARL, DORA):
            d.add_account(login, hash_secret("account-pw-123", cheap), "acme")
        for address, password in PW.items():
            d.add_mailbox(address, hash_secret(password, cheap))
        for address, login in (
            ("bob@example.test", BOB),
            ("info@example.test", BOB),
            ("info@example.test", CARL),
            ("team@example.test", CARL),
            ("team@example.test", DORA),
            ("lena@example.test", BOB),  # bob helped lena with her mail
        ):
            d.grant(address, login)
    s.start()
    yield s
    s.stop()


def imap_login(stack: Stack, address: str) -> bool:
    tls = ssl.create_default_context(cafile=str(stack.ca_file))
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls, timeout=10)
    try:
        m.login(address, PW[address])
    except imaplib.IMAP4.error:
        return False
    finally:
        with contextlib.suppress(imaplib.IMAP4.error):
            m.logout()
    return True


def accepted_at_mx(stack: Stack, address: str) -> bool:
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as s:
        s.ehlo("client.example.org")
        s.mail("someone@example.org")
        return s.rcpt(address)[0] == 250


def remove(stack: Stack, login: str, *how: str) -> str:
    result = stack.cli("org", "member", "remove", login, *how, "--confirm", login, check=True)
    return result.stdout


def test_removal_states_and_does_what_becomes_of_each_mailbox(stack: Stack) -> None:
    assert all(imap_login(stack, address) for address in PW)  # and the logins are remembered

    out = remove(stack, BOB, "--transfer-to", CARL)
    lines = {line.split(":", 1)[0].strip(): line for line in out.splitlines() if ": " in line}
    assert "handed over to carl@elsewhere.org" in lines["bob@example.test"], out
    assert "kept for carl@elsewhere.org" in lines["info@example.test"], out
    assert "kept for lena@example.test" in lines["lena@example.test"], out
    # bob's mailbox: what bob knew no longer opens it; carl holds it; its mail still arrives
    assert not imap_login(stack, "bob@example.test")
    assert "bob@example.test" in stack.cli("mailbox", "list", check=True).stdout
    assert accepted_at_mx(stack, "bob@example.test")
    # the shared and the other's own mailboxes are untouched
    assert imap_login(stack, "info@example.test") and imap_login(stack, "lena@example.test")

    out = remove(stack, CARL, "--delete-data")
    lines = {line.split(":", 1)[0].strip(): line for line in out.splitlines() if ": " in line}
    assert "disabled" in lines["bob@example.test"], out  # carl had just taken it over
    assert "disabled" in lines["info@example.test"], out  # nobody else holds it now
    assert "kept for dora@elsewhere.org" in lines["team@example.test"], out
    assert not imap_login(stack, "info@example.test")
    assert imap_login(stack, "team@example.test")


def test_refused_removal_changes_no_mailbox(stack: Stack) -> None:
    result = stack.cli("org", "member", "remove", LENA, "--delete-data", "--confirm", LENA)
    assert result.returncode == 1 and "only legal representative" in result.stderr
    assert imap_login(stack, "lena@example.test")


def test_a_member_without_mailboxes_is_told_so(stack: Stack) -> None:
    with Directory(load(data=str(stack.data)).db_path) as d:
        d.add_account(
            "eve@elsewhere.org", hash_secret("account-pw-123", HashParams(8, 1, 1)), "acme"
        )
    out = remove(stack, "eve@elsewhere.org", "--delete-data")
    assert "eve@elsewhere.org used no mailbox of acme" in out
