"""App passwords in the Authenticator: each opens only its realm and address, the account
realm takes them only where asked (DAV), two-factor authentication bars the account password
from DAV, and a revoked one misses the verified cache at once."""

from __future__ import annotations

import pytest

from swissbox.auth import Authenticator, HashParams, hash_secret
from swissbox.auth.apppasswords import APP_HASH, hash_app_password, new_app_password
from swissbox.directory import Directory

FAST = HashParams(memory_kib=1024, iterations=1, lanes=1)
BOB, CAROL = "bob@x.test", "carol@x.test"
PASSWORD, MAILBOX_PASSWORD = "bob account password 1", "bob mailbox password 1"


@pytest.fixture
def d(tmp_path) -> Directory:
    directory = Directory(str(tmp_path / "directory.db"))
    directory.add_org("acme")
    directory.add_account(BOB, hash_secret(PASSWORD, FAST), "acme", "legal")
    directory.add_account(CAROL, hash_secret("carol password 1", FAST), "acme")
    directory.add_domain("x.test", "acme", "ns.x.test")
    directory.enable_email("x.test")
    directory.add_mailbox(BOB, hash_secret(MAILBOX_PASSWORD, FAST))
    directory.add_mailbox(CAROL, hash_secret("carol mailbox 1", FAST))
    return directory


@pytest.fixture
def auth(d: Directory) -> Authenticator:
    return Authenticator(d, FAST)


def test_app_password_shape_and_cost() -> None:
    password = new_app_password()
    assert len(password) == 24 and password.count("-") == 4 and password != new_app_password()
    assert hash_app_password(password).startswith(
        f"$argon2id$v=19$m={APP_HASH.memory_kib},t={APP_HASH.iterations},p={APP_HASH.lanes}$"
    )


def test_mailbox_app_password_opens_that_address_only(d: Directory, auth: Authenticator) -> None:
    imap = new_app_password()
    d.add_app_password(BOB, "mailbox", BOB, "phone", hash_app_password(imap))
    assert auth.authenticate("mailbox", BOB, imap)
    assert auth.authenticate("mailbox", BOB, MAILBOX_PASSWORD)  # the mailbox password too
    assert not auth.authenticate("mailbox", CAROL, imap)  # another address
    assert not auth.authenticate("account", BOB, imap, apps=True)  # DAV
    assert not auth.authenticate("account", BOB, imap)  # the admin API
    assert not auth.authenticate("ddns", BOB, imap)
    assert d.app_passwords(BOB)[0].last_used is not None


def test_dav_app_password_opens_dav_only(d: Directory, auth: Authenticator) -> None:
    dav = new_app_password()
    d.add_app_password(BOB, "account", None, "laptop", hash_app_password(dav))
    assert auth.authenticate("account", BOB, dav, apps=True)
    assert not auth.authenticate("account", BOB, dav)  # not the admin API
    assert not auth.authenticate("mailbox", BOB, dav)  # not IMAP/SMTP
    assert not auth.authenticate("account", CAROL, dav, apps=True)


def test_two_factor_bars_the_account_password_from_dav(d: Directory, auth: Authenticator) -> None:
    assert auth.authenticate("account", BOB, PASSWORD, apps=True)  # cached now
    d.begin_totp(BOB, "JBSWY3DPEHPK3PXP")
    d.confirm_totp(BOB, 1, [])
    assert not auth.authenticate("account", BOB, PASSWORD, apps=True)  # cache missed too
    assert auth.authenticate("account", BOB, PASSWORD)  # the API's first step still works
    dav = new_app_password()
    d.add_app_password(BOB, "account", None, "laptop", hash_app_password(dav))
    assert auth.authenticate("account", BOB, dav, apps=True)
    d.disable_totp(BOB)
    assert auth.authenticate("account", BOB, PASSWORD, apps=True)


def test_revoked_app_password_misses_the_cache(d: Directory, auth: Authenticator) -> None:
    imap = new_app_password()
    app = d.add_app_password(BOB, "mailbox", BOB, "phone", hash_app_password(imap))
    assert auth.authenticate("mailbox", BOB, imap)
    assert auth.remembered("mailbox", BOB, imap) is not None
    d.revoke_app_password(BOB, app.id)
    assert auth.remembered("mailbox", BOB, imap) is None
    assert not auth.authenticate("mailbox", BOB, imap)
    assert auth.authenticate("mailbox", BOB, MAILBOX_PASSWORD)
