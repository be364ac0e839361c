"""directory queries for role addresses (admin_mailboxes, host_org, mail_domain_org) and what
becomes of a removed member's mailboxes (settle_member_mailboxes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from swissbox.directory import Conflict, Directory, Mailbox, NotFound
from swissbox.directory.store import DISABLED_HASH

H = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


@pytest.fixture
def d(tmp_path: Path) -> Directory:
    directory = Directory(tmp_path / "db.sqlite")
    directory.add_org("acme")
    directory.add_domain("example.test", "acme", "ns1.example.test")
    directory.enable_email("example.test")
    return directory


def addresses(boxes: list[Mailbox]) -> list[str]:
    return [b.address for b in boxes]


def test_mail_domain_org_and_host_org(d: Directory) -> None:
    assert d.mail_domain_org("EXAMPLE.test.") == "acme"
    d.add_org("beta")
    d.add_domain("beta.test", "beta", "ns1.example.test")
    assert d.mail_domain_org("beta.test") is None  # hosted zone, no Email Service
    assert d.mail_domain_org("gmail.com") is None and d.mail_domain_org("..") is None
    assert d.host_org("mx.beta.test") == "beta"  # the zone holding the host name
    assert d.host_org("mail.provider.example") == "acme"  # else the first organization


def test_admin_mailboxes_own_login_else_grants_held_by_administrators_only(
    d: Directory,
) -> None:
    d.add_account("lena@example.test", H, "acme", "legal")
    d.add_account("adam@elsewhere.org", H, "acme", "admin")
    d.add_account("carl@elsewhere.org", H, "acme", "collaborator")
    assert d.admin_mailboxes("acme") == []  # nobody has a mailbox yet
    for box in ("lena", "adam", "info", "carl"):
        d.add_mailbox(f"{box}@example.test", H)
    d.grant("adam@example.test", "adam@elsewhere.org")
    d.grant("info@example.test", "adam@elsewhere.org")
    d.grant("info@example.test", "carl@elsewhere.org")  # shared with a collaborator
    d.grant("carl@example.test", "carl@elsewhere.org")
    assert addresses(d.admin_mailboxes("acme")) == ["lena@example.test", "adam@example.test"]
    assert d.admin_mailboxes("no such org") == []


def test_settle_keeps_hands_over_or_disables(d: Directory) -> None:
    d.add_account("lena@example.test", H, "acme", "legal")
    d.add_account("bob@elsewhere.org", H, "acme", "collaborator")
    d.add_account("carl@elsewhere.org", H, "acme", "collaborator")
    for box in ("bob", "info", "sales"):
        d.add_mailbox(f"{box}@example.test", H)
    d.grant("bob@example.test", "bob@elsewhere.org")
    d.grant("sales@example.test", "bob@elsewhere.org")
    d.grant("info@example.test", "bob@elsewhere.org")
    d.grant("info@example.test", "carl@elsewhere.org")
    fates = d.settle_member_mailboxes("acme", "bob@elsewhere.org", "lena@example.test")
    assert [(f.address, f.fate, f.holders) for f in fates] == [
        ("bob@example.test", "handed", ("lena@example.test",)),
        ("info@example.test", "kept", ("carl@elsewhere.org",)),
        ("sales@example.test", "handed", ("lena@example.test",)),
    ]
    assert d.secret_hash("mailbox", "bob@example.test") == ("bob@example.test", DISABLED_HASH)
    assert d.secret_hash("mailbox", "info@example.test") == ("info@example.test", H)
    assert addresses(d.granted_mailboxes("lena@example.test")) == [
        "bob@example.test",
        "sales@example.test",
    ]
    d.remove_member("acme", "bob@elsewhere.org")
    # carl goes without a new holder: nobody else holds info@ now, so it is disabled.
    fates = d.settle_member_mailboxes("acme", "carl@elsewhere.org")
    assert [(f.address, f.fate) for f in fates] == [("info@example.test", "disabled")]
    assert d.secret_hash("mailbox", "info@example.test") == ("info@example.test", DISABLED_HASH)


def test_settle_counts_the_mailbox_that_is_the_login(d: Directory) -> None:
    d.add_account("lena@example.test", H, "acme", "legal")
    d.add_account("tom@example.test", H, "acme", "admin")
    d.add_mailbox("tom@example.test", H)
    fates = d.settle_member_mailboxes("acme", "tom@example.test")
    assert [(f.address, f.fate) for f in fates] == [("tom@example.test", "disabled")]


def test_settle_refuses_like_remove_member(d: Directory) -> None:
    d.add_account("lena@example.test", H, "acme", "legal")
    d.add_account("bob@elsewhere.org", H, "acme", "collaborator")
    d.add_mailbox("lena@example.test", H)
    with pytest.raises(Conflict):
        d.settle_member_mailboxes("acme", "lena@example.test")
    assert d.secret_hash("mailbox", "lena@example.test") == ("lena@example.test", H)
    with pytest.raises(NotFound):
        d.settle_member_mailboxes("acme", "bob@elsewhere.org", "nobody@elsewhere.org")


def test_settle_keeps_the_mailbox_that_is_another_login(d: Directory) -> None:
    d.add_account("alice@example.test", H, "acme", "legal")
    d.add_account("bob@elsewhere.org", H, "acme", "collaborator")
    d.add_mailbox("alice@example.test", H)
    d.grant("alice@example.test", "bob@elsewhere.org")
    fates = d.settle_member_mailboxes("acme", "bob@elsewhere.org", "alice@example.test")
    assert [(f.address, f.fate, f.holders) for f in fates] == [
        ("alice@example.test", "kept", ("alice@example.test",))
    ]
    assert d.secret_hash("mailbox", "alice@example.test") == ("alice@example.test", H)


def test_admin_mailboxes_prefer_an_explicit_own_mailbox(d: Directory) -> None:
    d.add_account("adam@elsewhere.org", H, "acme", "admin")
    d.add_account("ann@elsewhere.org", H, "acme", "admin")
    for box in ("adam", "ops"):
        d.add_mailbox(f"{box}@example.test", H)
    d.grant("ops@example.test", "adam@elsewhere.org")
    d.grant("ops@example.test", "ann@elsewhere.org")
    # ann has no own mailbox: ops@ is hers too, and only administrators use it
    assert addresses(d.admin_mailboxes("acme")) == ["ops@example.test"]
    d.grant("adam@example.test", "adam@elsewhere.org", "own")
    assert addresses(d.admin_mailboxes("acme")) == ["adam@example.test", "ops@example.test"]
    # the mailbox that is an administrator's login is not theirs when another owns it
    d.add_mailbox("zoe@example.test", H)
    d.grant("zoe@example.test", "ann@elsewhere.org", "own")
    d.add_account("zoe@example.test", H, "acme", "admin")
    assert addresses(d.admin_mailboxes("acme")) == ["adam@example.test", "zoe@example.test"]
