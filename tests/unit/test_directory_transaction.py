"""Directory.transaction: several write methods committed together or not at all; a
concurrent connection never sees half of it; replace_zone moves the serial once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from swissbox.directory import Conflict, Directory, NotFound
from swissbox.store import open_database
from tests.conftest import table_dump

H = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


@pytest.fixture
def d(store_location: str) -> Directory:
    directory = Directory(store_location)
    directory.add_org("acme")
    directory.add_domain("example.test", "acme", "ns1.example.test")
    return directory


def dump(d: Directory) -> list[tuple[Any, ...]]:
    return table_dump(d._db)


def test_every_step_commits_together(d: Directory) -> None:
    before = d.generation()
    with d.transaction():
        d.add_ddns_user("u1", H)
        d.add_ddns_host("nas.example.test", "u1")
        d.change_records("example.test", add=[("nas.example.test", "A", 60, "192.0.2.1")])
    assert d.ddns_host("nas.example.test") is not None
    assert [r.rdata for r in d.records("example.test", "nas.example.test")] == ["192.0.2.1"]
    assert d.generation() != before


def test_a_late_failure_undoes_the_earlier_steps(d: Directory) -> None:
    before = dump(d)
    with pytest.raises(NotFound), d.transaction():
        d.add_ddns_user("u1", H)
        d.add_org("other")
        d.add_ddns_host("nas.example.test", "nobody")
    assert dump(d) == before
    assert not d.ddns_user_exists("u1")
    # the connection is usable afterwards, inside and outside a transaction
    d.add_org("later")
    with d.transaction():
        d.add_org("later2")
    assert {o.name for o in d.orgs()} == {"acme", "later", "later2"}


def test_a_refused_step_caught_inside_undoes_only_itself(d: Directory) -> None:
    with d.transaction():
        d.add_org("kept")
        with pytest.raises(Conflict):
            d.change_records(
                "example.test",
                add=[("www.example.test", "A", 60, "192.0.2.1"),
                     ("www.example.test", "CNAME", 60, "x.example.test.")],
            )  # fmt: skip
        d.add_org("also-kept")
    assert {o.name for o in d.orgs()} == {"acme", "kept", "also-kept"}
    assert d.records("example.test", "www.example.test") == []


def test_another_connection_sees_all_or_nothing(d: Directory) -> None:
    inside, release = threading.Event(), threading.Event()

    def writer() -> None:
        with d.transaction():
            d.add_org("one")
            inside.set()
            release.wait(10)
            d.add_org("two")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert inside.wait(10)
        with Directory(d.location) as other:
            assert {o.name for o in other.orgs()} == {"acme"}
    finally:
        release.set()
        thread.join(10)
    with Directory(d.location) as other:
        assert {o.name for o in other.orgs()} == {"acme", "one", "two"}


def test_replace_zone_bumps_the_serial_once(d: Directory) -> None:
    serial = d.domain("example.test").serial
    d.replace_zone(
        "example.test",
        delete=[],
        add=[("www.example.test", "A", 60, "192.0.2.1")],
        soa={"refresh": 1234, "default_ttl": 600},
    )
    domain = d.domain("example.test")
    assert (domain.serial, domain.soa_refresh, domain.default_ttl) == (serial + 1, 1234, 600)
    d.replace_zone("example.test", delete=[], add=[], soa={"retry": 99})
    assert d.domain("example.test").serial == serial + 2
    assert d.replace_zone("example.test", delete=[], add=[], soa={}) == 0
    assert d.domain("example.test").serial == serial + 2


def _add_host(d: Directory, n: int) -> None:
    """User, host and address of client n in one transaction; odd n fail at the last step."""
    with d.transaction():
        d.add_ddns_user(f"u{n}", H)
        d.add_ddns_host(f"h{n}.example.test", f"u{n}")
        address = f"192.0.2.{n}" if n % 2 == 0 else "192.0.2.1"
        d.change_records(
            "example.test",
            add=[(f"h{n}.example.test", "A", 60, address)]
            + ([(f"h{n}.example.test", "CNAME", 60, "x.example.test.")] if n % 2 else []),
        )


@pytest.mark.parametrize("shared", [True, False], ids=["one connection", "one each"])
def test_fifty_writers_at_once_right_and_wrong_mixed(d: Directory, shared: bool) -> None:
    """Fifty compound writes at once (one shared connection as in the server, or one
    connection each as concurrent CLI processes); a reader never sees a user without its
    host and address; the good half is all there, the bad half left nothing."""
    serial = d.domain("example.test").serial
    start, done = threading.Barrier(51), threading.Event()
    errors: dict[int, str] = {}
    torn: list[str] = []

    def writer(n: int) -> None:
        own = d if shared else Directory(d.location)
        try:
            start.wait(10)
            _add_host(own, n)
        except Conflict as exc:
            errors[n] = str(exc)
        finally:
            if not shared:
                own.close()

    def reader() -> None:
        with open_database(d.location) as db:
            while not done.is_set():
                with db.read() as c:  # one snapshot for the three reads
                    users = {row[0] for row in c.execute("SELECT username FROM ddns_users")}
                    hosts = {row[0] for row in c.execute("SELECT hostname FROM ddns_hosts")}
                    named = {row[0] for row in c.execute("SELECT name FROM records")}
                for user in users:
                    host = f"h{user[1:]}.example.test"
                    if host not in hosts or host not in named:
                        torn.append(user)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2, 52)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    start.wait(10)
    for t in threads:
        t.join(30)
    done.set()
    watcher.join(10)
    assert not torn
    assert sorted(errors) == list(range(3, 52, 2))
    assert all("CNAME" in e for e in errors.values())
    assert sorted(h.hostname for h in d.ddns_hosts()) == sorted(
        f"h{n}.example.test" for n in range(2, 52, 2)
    )
    assert not any(d.ddns_user_exists(f"u{n}") for n in range(3, 52, 2))
    assert d.domain("example.test").serial == serial + 25
