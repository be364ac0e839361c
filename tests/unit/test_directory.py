"""directory: every invariant, migrations from an empty file, a concurrent writer while reading."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from swissbox.directory import (
    Conflict,
    Directory,
    DirectoryError,
    InvalidName,
    NotFound,
    next_serial,
    normalize_domain,
    normalize_login,
    split_address,
)
from swissbox.directory.schema import MIGRATIONS
from swissbox.store import StoreError

H = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


@pytest.fixture
def d(store_location: str) -> Directory:
    directory = Directory(store_location)
    directory.add_org("acme")
    directory.add_domain("example.test", "acme", "ns1.example.test")
    return directory


def test_migrations_from_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    path.touch()
    with Directory(path):
        pass
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # reopening is a no-op
    with Directory(path):
        pass


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    Directory(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(StoreError, match="newer than this swissbox"):
        Directory(path)


def test_names_are_normalised() -> None:
    assert normalize_domain("Bücher.Example.") == "xn--bcher-kva.example"
    assert normalize_domain("_dmarc.EXAMPLE.test") == "_dmarc.example.test"
    assert split_address("Toto.Smith@ABC.xyz") == ("Toto.Smith", "abc.xyz")
    assert normalize_login("Toto@ABC.xyz") == "toto@abc.xyz"
    for bad in ("", "a..b", "-a.b", "a b.c", "x" * 64 + ".com"):
        with pytest.raises(InvalidName):
            normalize_domain(bad)
    for bad in ("noat", "@x.y", "a b@x.y", ".a@x.y", "a..b@x.y"):
        with pytest.raises(InvalidName):
            split_address(bad)


def test_org_and_account_invariants(d: Directory) -> None:
    with pytest.raises(Conflict):
        d.add_org("ACME")
    with pytest.raises(DirectoryError):
        d.add_org("a/b")
    d.add_account("Toto@Abc.XYZ", H, "acme", "legal", "Toto", "+41")
    with pytest.raises(Conflict):
        d.add_account("toto@abc.xyz", H, "acme")
    with pytest.raises(NotFound):
        d.add_account("x@abc.xyz", H, "no-such-org")
    with pytest.raises(DirectoryError, match="role"):
        d.add_account("y@abc.xyz", H, "acme", "boss")
    with pytest.raises(DirectoryError, match="login"):
        d.add_account("not-an-address", H, "acme")
    assert d.account("TOTO@abc.xyz").display_name == "Toto"
    assert [m.role for m in d.members("acme")] == ["legal"]


def test_a_legal_representative_always_remains(d: Directory) -> None:
    d.add_account("boss@x.test", H, "acme", "legal")
    d.add_account("helper@x.test", H, "acme", "admin")
    with pytest.raises(Conflict, match="only legal representative"):
        d.set_role("acme", "boss@x.test", "admin")
    with pytest.raises(Conflict, match="only legal representative"):
        d.remove_account("boss@x.test")
    d.set_role("acme", "helper@x.test", "legal")
    assert d.set_role("acme", "boss@x.test", "collaborator") == "legal"
    d.remove_account("boss@x.test")


def test_domains(d: Directory) -> None:
    with pytest.raises(Conflict):
        d.add_domain("EXAMPLE.test.", "acme", "ns1.example.test")
    dom = d.domain("Example.Test")
    assert dom.serial == next_serial(0)
    assert dom.soa_rname == "hostmaster.example.test"
    assert [(r.name, r.type, r.rdata) for r in d.records("example.test")] == [
        ("example.test", "NS", "ns1.example.test.")
    ]
    d.add_domain("sub.example.test", "acme", "ns1.example.test")
    assert d.zone_for("a.b.sub.example.test").name == "sub.example.test"  # type: ignore[union-attr]
    assert d.zone_for("www.example.test").name == "example.test"  # type: ignore[union-attr]
    assert d.zone_for("example.org") is None


def test_serial_is_date_based_and_monotonic() -> None:
    assert next_serial(0, now=0) == 1970010100
    assert next_serial(2030010105, now=0) == 2030010106
    assert next_serial(1970010100, now=86400 * 365) == 1971010100


def test_record_changes_bump_serial_once_and_dedupe(d: Directory) -> None:
    before = d.domain("example.test").serial
    n = d.change_records("example.test", add=[("www.example.test", "A", 300, "192.0.2.1")] * 2)
    assert n == 1
    assert d.domain("example.test").serial == before + 1
    assert d.change_records("example.test", add=[("www.example.test", "A", 300, "192.0.2.1")]) == 0
    assert d.domain("example.test").serial == before + 1
    d.change_records("example.test", add=[("www.example.test", "A", 60, "192.0.2.2")])
    assert {r.ttl for r in d.records("example.test", "www.example.test")} == {
        60
    }  # one TTL per RRset
    assert d.change_records("example.test", delete=[("www.example.test", "A", None)]) == 2


def test_mailbox_needs_email_service_and_respects_quota(d: Directory) -> None:
    with pytest.raises(NotFound, match="no Email Service"):
        d.add_mailbox("a@example.test", H)
    d.enable_email("example.test", max_addresses=2)
    d.add_mailbox("Alice@example.test", H)
    with pytest.raises(Conflict):
        d.add_mailbox("alice@EXAMPLE.test", H)
    d.add_mailbox("bob@example.test", H)
    with pytest.raises(Conflict, match="limit of 2"):
        d.add_mailbox("carol@example.test", H)
    with pytest.raises(Conflict, match="more than"):
        d.enable_email("example.test", max_addresses=1)
    mb = d.mailbox("ALICE@example.test")
    assert mb is not None and mb.address == "Alice@example.test"  # local part kept as given
    assert d.mailbox("nobody@example.test") is None
    assert d.mailbox("garbage") is None
    assert d.is_mail_domain("EXAMPLE.test") and not d.is_mail_domain("other.test")


def test_deleting_keeps_nothing_dangling(d: Directory) -> None:
    d.enable_email("example.test")
    d.add_account("keeper@x.test", H, "acme", "legal")
    d.add_account("t@x.test", H, "acme", "legal")
    d.add_mailbox("t@example.test", H)
    d.grant("t@example.test", "t@x.test")
    d.add_ddns_user("router", H, owner="t@x.test")
    d.add_ddns_host("home.example.test", "router")
    assert [m.address for m in d.granted_mailboxes("t@x.test")] == ["t@example.test"]
    with pytest.raises(Conflict, match="still has mailboxes"):
        d.remove_domain("example.test")
    with pytest.raises(Conflict, match="still has domains"):
        d.remove_org("acme")
    d.remove_account("t@x.test")
    assert d.secret_hash("ddns", "router") is not None  # the DDNS user outlives its owner
    d.remove_mailbox("t@example.test")
    d.remove_domain("example.test")
    assert d.ddns_hosts() == []
    with pytest.raises(Conflict):
        d.remove_account("keeper@x.test")  # the organization's last legal representative
    db = d._db
    for table in ("records", "mailbox_grants", "ddns_hosts", "email_services"):
        assert db.all(f"SELECT COUNT(*) FROM {table}")[0][0] == 0
    assert db.all("SELECT COUNT(*) FROM memberships")[0][0] == 1
    if db.dialect == "sqlite":  # PostgreSQL never lets a foreign key dangle
        assert db.all("PRAGMA foreign_key_check") == []


def test_ddns_hosts(d: Directory) -> None:
    d.add_ddns_user("router", H)
    with pytest.raises(Conflict):
        d.add_ddns_user("ROUTER", H)
    with pytest.raises(DirectoryError):
        d.add_ddns_user("bad user", H)
    d.add_ddns_host("home.example.test", "router")
    d.add_ddns_host("example.test", "router")  # the main domain itself
    with pytest.raises(DirectoryError, match="not inside any domain"):
        d.add_ddns_host("home.elsewhere.test", "router")
    with pytest.raises(Conflict):
        d.add_ddns_host("HOME.example.test", "router")
    with pytest.raises(NotFound):
        d.add_ddns_host("x.example.test", "nobody")
    assert [h.hostname for h in d.ddns_hosts("router")] == ["example.test", "home.example.test"]


def test_generation_sees_another_process_commit(d: Directory, tmp_path: Path) -> None:
    before = d.generation()
    script = textwrap.dedent(
        f"""
        from swissbox.directory import Directory
        d = Directory({str(d.location)!r})
        d.add_org("from-cli")
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    assert d.generation() != before
    assert "from-cli" in [o.name for o in d.orgs()]


def test_concurrent_cli_write_while_reading(d: Directory) -> None:
    """A writer process adds records while this connection reads: every read is consistent."""
    script = textwrap.dedent(
        f"""
        from swissbox.directory import Directory
        d = Directory({str(d.location)!r})
        for i in range(60):
            d.change_records("example.test", add=[(f"h{{i}}.example.test", "A", 60, "192.0.2.1"),
                                                  (f"h{{i}}.example.test", "AAAA", 60, "2001:db8::1")])
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    seen = 0
    while proc.poll() is None or seen < 1:
        records = d.records("example.test")
        names = [r.name for r in records if r.type != "NS"]
        # both records of a change land together
        assert len(names) % 2 == 0
        seen += 1
    assert proc.wait() == 0
    assert len(d.records("example.test")) == 121


def test_cname_stands_alone_inside_the_transaction(d: Directory) -> None:
    d.change_records("example.test", add=[("alias.example.test", "CNAME", 60, "www.example.test.")])
    serial = d.domain("example.test").serial
    with pytest.raises(Conflict, match="CNAME beside other records"):
        d.change_records("example.test", add=[("alias.example.test", "A", 60, "192.0.2.1")])
    with pytest.raises(Conflict, match="two CNAME"):
        d.change_records(
            "example.test", add=[("alias.example.test", "CNAME", 60, "x.example.test.")]
        )
    with pytest.raises(Conflict, match="CNAME beside"):
        d.change_records(
            "example.test",
            add=[
                ("www.example.test", "A", 60, "192.0.2.1"),
                ("www.example.test", "CNAME", 60, "x.example.test."),
            ],
        )
    assert d.domain("example.test").serial == serial  # nothing half-written
    assert [r.type for r in d.records("example.test", "alias.example.test")] == ["CNAME"]
    # replacing the CNAME in one change is fine
    d.change_records(
        "example.test",
        delete=[("alias.example.test", "CNAME", None)],
        add=[("alias.example.test", "CNAME", 60, "x.example.test.")],
    )


def test_lock_board_keeps_wall_clock_times_exact(d: Directory) -> None:
    until = time.time() + 300.25
    d.publish_lock("pair\x1fmailbox\x1fx@y.z\x1f192.0.2.1", "tag1", until)
    assert d.active_locks() == {"pair\x1fmailbox\x1fx@y.z\x1f192.0.2.1": ("tag1", until)}
    d.publish_lock("addr\x1f192.0.2.9", "", time.time() - 1)  # already over
    assert "addr\x1f192.0.2.9" not in d.active_locks()
