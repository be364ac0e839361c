"""Several users of one address: grants with an access, owners, what a mailbox's password may
act as, the directory card's addresses, and the migration of an existing database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from swissbox.directory import Conflict, Directory, DirectoryError, MailboxUser, NotFound
from swissbox.directory.schema import MIGRATIONS

H = "hash"
BOB, CAROL, INFO, SALES = "bob@x.test", "carol@x.test", "info@x.test", "sales@x.test"


@pytest.fixture
def d(store_location: str) -> Directory:
    directory = Directory(store_location)
    directory.add_org("acme")
    directory.add_account(BOB, H, "acme", "legal", "Bob B")
    directory.add_account(CAROL, H, "acme")
    directory.add_domain("x.test", "acme", "ns.x.test")
    directory.enable_email("x.test")
    for address in (BOB, CAROL, INFO, SALES):
        directory.add_mailbox(address, H)
    return directory


def test_login_owns_its_address_and_grants_add_shared_ones(d: Directory) -> None:
    assert d.usable_mailboxes(BOB) == {BOB: "own"}
    assert d.grant(INFO, BOB) == ""
    assert d.grant(SALES, BOB, "read") == ""
    assert d.usable_mailboxes(BOB) == {BOB: "own", INFO: "full", SALES: "read"}
    assert d.usable_mailboxes("BOB@X.test") == d.usable_mailboxes(BOB)
    # the shared address has no owner: its password stands for nobody's other addresses
    assert d.usable_mailboxes(INFO) == {}
    assert d.usable_mailboxes("nobody@x.test") == {}


def test_a_delegate_on_my_mailbox_gives_my_password_nothing_of_theirs(d: Directory) -> None:
    d.grant(BOB, CAROL)  # carol (an assistant) may use bob's address
    assert d.usable_mailboxes(CAROL) == {CAROL: "own", BOB: "full"}
    assert d.usable_mailboxes(BOB) == {BOB: "own"}  # not carol's mailbox


def test_grant_changes_access_and_revoke_ends_it(d: Directory) -> None:
    d.grant(INFO, BOB, "read")
    assert d.grant(INFO, BOB, "full") == "read"
    assert d.revoke(INFO, BOB) == "full"
    assert d.usable_mailboxes(BOB) == {BOB: "own"}
    with pytest.raises(NotFound, match="no grant"):
        d.revoke(INFO, BOB)
    with pytest.raises(Conflict, match="own address"):
        d.revoke(BOB, BOB)  # the login's own mailbox
    with pytest.raises(NotFound):
        d.grant("nobody@x.test", BOB)
    with pytest.raises(NotFound):
        d.grant(INFO, "nobody@x.test")
    with pytest.raises(DirectoryError, match="access"):
        d.grant(INFO, BOB, "admin")


def test_explicit_owner_for_a_login_elsewhere(d: Directory) -> None:
    d.add_account("dora@home.example", H, "acme")
    d.add_mailbox("dora@x.test", H)
    assert d.usable_mailboxes("dora@x.test") == {}
    d.grant("dora@x.test", "dora@home.example", "own")
    d.grant(INFO, "dora@home.example")
    assert d.usable_mailboxes("dora@x.test") == {"dora@x.test": "own", INFO: "full"}
    with pytest.raises(Conflict, match="already the own address"):
        d.grant("dora@x.test", BOB, "own")
    with pytest.raises(Conflict, match="already the own address"):
        d.grant(BOB, CAROL, "own")  # bob's login owns it
    # an explicit owner wins over the login: the login's account only keeps its grant
    d.add_mailbox("eve@x.test", H)
    d.grant("eve@x.test", "dora@home.example", "own")
    d.add_account("eve@x.test", H, "acme")
    assert d.usable_mailboxes("eve@x.test") == {
        "dora@x.test": "own",
        "eve@x.test": "own",
        INFO: "full",
    }


def test_mailbox_users_lists_the_owner_first(d: Directory) -> None:
    d.grant(INFO, CAROL, "read")
    d.grant(INFO, BOB)
    d.grant(BOB, CAROL)
    boxes = {m.address: m for m in d.mailboxes()}
    users = d.mailbox_users(list(boxes.values()))
    assert users[boxes[INFO].id] == [MailboxUser(BOB, "full"), MailboxUser(CAROL, "read")]
    assert users[boxes[BOB].id] == [MailboxUser(BOB, "own"), MailboxUser(CAROL, "full")]
    assert users[boxes[SALES].id] == []


def test_directory_card_lists_own_address_first_then_shared(d: Directory) -> None:
    """Issue 11: after `mailbox grant info@ bob` the directory listed info@ instead of bob@."""
    d.grant(INFO, BOB)
    d.grant(SALES, BOB, "read")
    d.grant(BOB, BOB)  # a redundant grant of one's own address changes nothing
    members, _ = d.directory_rows(d.org("acme").id)
    emails = {m[1]: m[6] for m in members}
    assert list(dict.fromkeys(emails[BOB].split())) == [BOB, INFO, SALES]
    assert emails[CAROL] == CAROL


def test_migration_keeps_existing_grants_as_full(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    conn.execute("INSERT INTO orgs VALUES (1, 'acme', 0)")
    conn.execute("INSERT INTO accounts VALUES (1, 'bob@x.test', '', '', 'h', 0, 0)")
    conn.execute(
        "INSERT INTO domains (id, name, org_id, serial, soa_mname, soa_rname, created)"
        " VALUES (1, 'x.test', 1, 1, 'ns', 'h', 0)"
    )
    conn.execute("INSERT INTO email_services VALUES (1, NULL, 0)")
    conn.execute("INSERT INTO mailboxes VALUES (1, 1, 'info', 'h', NULL, 0)")
    conn.execute("INSERT INTO mailbox_grants VALUES (1, 1)")
    conn.commit()
    conn.close()
    d = Directory(path)
    assert d.usable_mailboxes(INFO) == {}
    assert d.mailbox_users(d.mailboxes())[1] == [MailboxUser(BOB, "full")]


def test_account_mailboxes_and_personal_notices_skip_shared_addresses(d: Directory) -> None:
    """A role-change notice goes to the member's own address, not to a shared one that sorts
    first (info@ before a login elsewhere's own address)."""
    from swissbox.dav.notify import recipient

    d.add_account("zed@home.example", H, "acme")
    d.add_mailbox("zed@x.test", H)
    d.grant(INFO, "zed@home.example")
    d.grant("zed@x.test", "zed@home.example", "own")
    assert d.account_mailboxes("zed@home.example") == {INFO: "full", "zed@x.test": "own"}
    assert recipient(d, "acme", "zed@home.example") == ("zed@x.test", True)
    d.grant(INFO, BOB)
    assert recipient(d, "acme", BOB) == (BOB, True)
    d.add_account("amy@home.example", H, "acme")
    d.grant(INFO, "amy@home.example")  # shared only: the notice goes to the login elsewhere
    assert recipient(d, "acme", "amy@home.example") == ("amy@home.example", False)
