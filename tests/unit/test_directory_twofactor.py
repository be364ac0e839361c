"""Two-factor and app-password rows (migration 10) on SQLite and PostgreSQL: TOTP enrolment,
replay refusal across calls, single-use recovery codes, pending logins, and app passwords
scoped to one realm and one address."""

from __future__ import annotations

import pytest

from swissbox.auth.totp import recovery_digest
from swissbox.directory import Directory

H = "!"
BOB, CAROL, INFO, SALES = "bob@x.test", "carol@x.test", "info@x.test", "sales@x.test"


@pytest.fixture
def d(store_location: str):
    directory = Directory(store_location)
    directory.add_org("acme")
    directory.add_account(BOB, H, "acme", "legal")
    directory.add_account(CAROL, H, "acme")
    directory.add_domain("x.test", "acme", "ns.x.test")
    directory.enable_email("x.test")
    for address in (BOB, CAROL, INFO, SALES):
        directory.add_mailbox(address, H)
    yield directory
    directory.close()


def test_totp_is_on_only_after_confirmation(d: Directory) -> None:
    assert d.totp_state(BOB) is None and not d.two_factor_on(BOB)
    d.begin_totp(BOB, "SECRET1")
    d.begin_totp(BOB, "SECRET2")  # a second enrolment replaces an unconfirmed one
    state = d.totp_state(BOB)
    assert state is not None and state.secret == "SECRET2" and state.confirmed is None
    assert not d.two_factor_on(BOB)
    assert d.confirm_totp(BOB, 100, [recovery_digest("aaaaa-bbbbb"), recovery_digest("c")])
    assert d.two_factor_on(BOB) and not d.two_factor_on(CAROL)
    assert not d.confirm_totp(BOB, 101, [])  # nothing left to confirm
    with pytest.raises(ValueError, match="already on"):
        d.begin_totp(BOB, "SECRET3")
    assert d.recovery_codes_left(BOB) == 2


def test_a_time_step_is_accepted_once(d: Directory) -> None:
    d.begin_totp(BOB, "S")
    d.confirm_totp(BOB, 100, [])
    assert not d.accept_totp_step(BOB, 100)  # the confirming code is spent too
    assert d.accept_totp_step(BOB, 101)
    assert not d.accept_totp_step(BOB, 101)  # replay
    assert not d.accept_totp_step(BOB, 100)  # older after newer


def test_recovery_codes_are_single_use_and_go_with_disable(d: Directory) -> None:
    d.begin_totp(BOB, "S")
    d.confirm_totp(BOB, 1, [recovery_digest("aaaaa-bbbbb")])
    assert not d.use_recovery_code(CAROL, recovery_digest("aaaaa-bbbbb"))  # not carol's
    assert d.use_recovery_code(BOB, recovery_digest("AAAAABBBBB"))
    assert not d.use_recovery_code(BOB, recovery_digest("aaaaa-bbbbb"))
    assert d.disable_totp(BOB) and not d.two_factor_on(BOB) and d.totp_state(BOB) is None
    assert not d.disable_totp(BOB)


def test_pending_login_lives_briefly(d: Directory) -> None:
    d.create_pending_login("p1", BOB, 300)
    d.create_pending_login("p2", BOB, 0)
    assert d.pending_login("p1") == BOB and d.pending_login("p2") is None
    d.end_pending_login("p1")
    assert d.pending_login("p1") is None


def test_app_passwords_are_scoped_to_realm_and_address(d: Directory) -> None:
    dav = d.add_app_password(BOB, "account", None, "phone calendar", "hdav")
    imap = d.add_app_password(BOB, "mailbox", BOB, "phone mail", "himap")
    assert (dav.realm, dav.mailbox, imap.realm, imap.mailbox) == ("account", None, "mailbox", BOB)
    assert d.app_password_hashes("account", BOB) == [(dav.id, "hdav")]
    assert d.app_password_hashes("mailbox", BOB) == [(imap.id, "himap")]
    assert d.app_password_hashes("mailbox", CAROL) == []
    assert d.app_password_hashes("account", CAROL) == []
    assert d.app_password_hashes("ddns", BOB) == []
    assert [a.name for a in d.app_passwords(BOB)] == ["phone calendar", "phone mail"]
    assert d.app_passwords(CAROL) == []
    assert not d.revoke_app_password(CAROL, dav.id)  # not hers
    assert d.revoke_app_password(BOB, dav.id)
    assert d.app_password_hashes("account", BOB) == []


def test_mailbox_app_password_needs_own_or_full_use(d: Directory) -> None:
    with pytest.raises(ValueError, match="not an address"):
        d.add_app_password(BOB, "mailbox", INFO, "x", "h")
    d.grant(SALES, BOB, "read")
    with pytest.raises(ValueError, match="not an address"):
        d.add_app_password(BOB, "mailbox", SALES, "x", "h")
    d.grant(INFO, BOB)
    app = d.add_app_password(BOB, "mailbox", INFO, "shared", "h")
    assert d.app_password_hashes("mailbox", INFO) == [(app.id, "h")]
    d.revoke(INFO, BOB)  # the grant goes: the app password opens nothing any more
    assert d.app_password_hashes("mailbox", INFO) == []
    with pytest.raises(ValueError):
        d.add_app_password(BOB, "account", BOB, "x", "h")  # DAV ones name no address


def test_last_use_is_recorded(d: Directory) -> None:
    app = d.add_app_password(BOB, "account", None, "x", "h")
    assert app.last_used is None
    d.app_password_used(app.id)
    assert d.app_passwords(BOB)[0].last_used is not None
