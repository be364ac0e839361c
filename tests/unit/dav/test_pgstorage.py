"""The PostgreSQL storage plugin through Radicale's storage API, without a server: two
storage objects over one database stand for two front ends."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import radicale.config
import radicale.item as radicale_item
import vobject
from radicale.storage import ComponentNotFoundError

from swissbox.dav.pgstorage import PgStorage, open_pool

ALICE, BOB = "alice@example.test", "bob@example.test"
CALENDAR = {"tag": "VCALENDAR", "D:displayname": "Calendar"}


def ics(uid: str, start: str = "20260310T090000Z", summary: str = "x") -> Any:
    return vobject.readOne(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDURATION:PT1H\r\n"
        f"SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def item(uid: str, **kw: Any) -> radicale_item.Item:
    obj = ics(uid, **kw)
    radicale_item.check_and_sanitize_items([obj], tag="VCALENDAR", max_vevent_rrule_occurrence=100)
    made = radicale_item.Item(collection_path=f"{ALICE}/calendar", vobject_item=obj)
    made.prepare()
    return made


@pytest.fixture
def fronts(postgres: Any) -> Iterator[tuple[PgStorage, PgStorage]]:
    url = postgres.new_database()
    pools = [open_pool(url, 3), open_pool(url, 3)]
    cfg = radicale.config.load()
    cfg.update({"storage": {"max_sync_token_age": "60"}}, "test", privileged=True)
    try:
        yield PgStorage.over(pools[0])(cfg), PgStorage.over(pools[1])(cfg)
    finally:
        for pool in pools:
            pool.close()


def calendar(storage: PgStorage, login: str = ALICE) -> Any:
    with storage.acquire_lock("w", login):
        storage.create_collection(f"/{login}/")
        storage.create_collection(f"/{login}/calendar/", props=CALENDAR)
    return found(storage, f"/{login}/calendar/")


def found(storage: PgStorage, path: str) -> Any:
    with storage.acquire_lock("r"):
        return next(iter(storage.discover(path)), None)


def test_written_on_one_read_on_the_other(fronts: tuple[PgStorage, PgStorage]) -> None:
    a, b = fronts
    coll = calendar(a)
    with a.acquire_lock("w", ALICE):
        new, old = coll.upload("one.ics", item("one"))
    assert old is None
    got = found(b, f"/{ALICE}/calendar/one.ics")
    assert got.etag == new.etag and got.uid == "one" and got.component_name == "VEVENT"
    with b.acquire_lock("r"):
        listed = list(b.discover(f"/{ALICE}/", "1"))
    assert [getattr(x, "path", None) for x in listed] == [ALICE, f"{ALICE}/calendar"]
    assert found(b, f"/{ALICE}/calendar/").etag == found(a, f"/{ALICE}/calendar/").etag


def test_sync_tokens_are_incremental_and_checked(fronts: tuple[PgStorage, PgStorage]) -> None:
    a, b = fronts
    coll = calendar(a)
    with a.acquire_lock("w", ALICE):
        coll.upload("one.ics", item("one"))
        coll.upload("two.ics", item("two"))
    token, hrefs = found(b, f"/{ALICE}/calendar/").sync()
    assert sorted(hrefs) == ["one.ics", "two.ics"]
    with a.acquire_lock("w", ALICE):
        coll.upload("one.ics", item("one"))  # the same content: no change
        coll.upload("two.ics", item("two", summary="changed"))
        coll.upload("three.ics", item("three"))
        coll.delete("one.ics")
        with pytest.raises(ComponentNotFoundError):
            coll.delete("one.ics")
    newer, changed = found(b, f"/{ALICE}/calendar/").sync(token)
    assert sorted(changed) == ["one.ics", "three.ics", "two.ics"]
    assert found(b, f"/{ALICE}/calendar/").sync(newer) == (newer, [])
    other = calendar(a, BOB)
    for bad in (
        other.sync()[0],  # another collection's
        token.rsplit("/", 1)[0] + "/999",  # from the future
        token + "x",
        "http://radicale.org/ns/sync/" + "0" * 64,
    ):
        with pytest.raises(ValueError):
            found(b, f"/{ALICE}/calendar/").sync(bad)


def test_old_deletions_are_forgotten_with_their_tokens(
    fronts: tuple[PgStorage, PgStorage],
) -> None:
    a, _ = fronts
    coll = calendar(a)
    with a.acquire_lock("w", ALICE):
        coll.upload("one.ics", item("one"))
    before, _ = found(a, f"/{ALICE}/calendar/").sync()
    with a.acquire_lock("w", ALICE):
        coll.delete("one.ics")
    after, _ = found(a, f"/{ALICE}/calendar/").sync()
    with a.connection() as conn:  # the deletion is older than max_sync_token_age
        conn.execute("UPDATE dav_changes SET changed = changed - 3600")
    with a.acquire_lock("w", ALICE):
        coll.upload("two.ics", item("two"))
        coll.delete("two.ics")  # a delete prunes the old tombstone
    with pytest.raises(ValueError):  # it may not have seen one.ics go: resync
        found(a, f"/{ALICE}/calendar/").sync(before)
    _, changed = found(a, f"/{ALICE}/calendar/").sync(after)  # it had
    assert changed == ["two.ics"]


def test_whole_collection_put_move_and_filters(fronts: tuple[PgStorage, PgStorage]) -> None:
    a, b = fronts
    coll = calendar(a)
    with a.acquire_lock("w", ALICE):
        coll.upload("keep.ics", item("keep"))
        coll.upload("gone.ics", item("gone"))
    token, _ = found(b, f"/{ALICE}/calendar/").sync()
    with a.acquire_lock("w", ALICE):
        _, replaced, new = a.create_collection(
            f"/{ALICE}/calendar/", [item("keep"), item("fresh", start="20270101T000000Z")],
            CALENDAR,
        )  # fmt: skip
    assert list(replaced) == ["keep.ics"] and new == ["fresh.ics"]
    _, changed = found(b, f"/{ALICE}/calendar/").sync(token)
    assert sorted(changed) == ["fresh.ics", "gone.ics", "keep.ics"]
    # time-range prefilter in SQL: only 2026
    query = (
        '<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp-filter name="VCALENDAR">'
        '<C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z"'
        ' end="20261231T000000Z"/></C:comp-filter></C:comp-filter></C:filter>'
    )
    with b.acquire_lock("r"):
        hits = list(found(b, f"/{ALICE}/calendar/").get_filtered([ET.fromstring(query)]))
    assert [(i.href, simple) for i, simple in hits] == [("keep.ics", True)]
    with a.acquire_lock("w", ALICE):
        a.create_collection(f"/{ALICE}/other/", props=CALENDAR)
        moving = found(a, f"/{ALICE}/calendar/keep.ics")
        a.move(moving, found(a, f"/{ALICE}/other/"), "kept.ics")
    assert found(b, f"/{ALICE}/calendar/keep.ics") is None
    assert found(b, f"/{ALICE}/other/kept.ics").uid == "keep"
    _, changed = found(b, f"/{ALICE}/calendar/").sync(token)
    assert "keep.ics" in changed
    with a.acquire_lock("w", ALICE):
        found(a, f"/{ALICE}/other/").delete()
    assert found(b, f"/{ALICE}/other/") is None and found(b, f"/{ALICE}/other/kept.ics") is None


def test_an_existing_principal_is_not_made_again(fronts: tuple[PgStorage, PgStorage]) -> None:
    a, b = fronts
    with a.acquire_lock("w", ALICE):
        made, _, _ = a.create_collection(f"/{ALICE}/")
    with b.acquire_lock("w", ALICE):
        again, _, _ = b.create_collection(f"/{ALICE}/")
    assert made is not None and again is None  # Radicale then skips the predefined ones


def holds(storage: PgStorage, mode: str, user: str, entered: threading.Event) -> threading.Thread:
    def run() -> None:
        with storage.acquire_lock(mode, user):
            entered.set()

    t = threading.Thread(target=run)
    t.start()
    return t


def test_locks_hold_across_front_ends(fronts: tuple[PgStorage, PgStorage]) -> None:
    a, b = fronts
    with a.acquire_lock("w", ALICE):
        other_member, same_member = threading.Event(), threading.Event()
        t1 = holds(b, "w", BOB, other_member)
        t2 = holds(b, "r", ALICE, same_member)
        assert other_member.wait(10)  # bob does not wait for alice
        t1.join(10)
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:  # alice's reader waits for alice's writer
            assert not same_member.is_set()
            time.sleep(0.05)
    assert same_member.wait(10)
    t2.join(10)
    with b.acquire_lock("w"):  # a tool acting for nobody excludes everyone
        member = threading.Event()
        t3 = holds(a, "r", BOB, member)
        assert not member.wait(0.5)
    assert member.wait(10)
    t3.join(10)


def test_a_dropped_connection_is_replaced(fronts: tuple[PgStorage, PgStorage]) -> None:
    """After PostgreSQL dropped the pool's connections (a restart, a failover), the next
    request gets a fresh one instead of an error."""
    a, b = fronts
    calendar(a)
    with b.connection() as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = current_database()"
        )
    assert found(a, f"/{ALICE}/calendar/") is not None


def test_postgresql_probes_the_front_ends_connections(fronts: tuple[PgStorage, PgStorage]) -> None:
    """A vanished front end's locks are freed once PostgreSQL's keepalives find it gone."""
    a, _ = fronts
    with a.connection() as conn:
        idle, count = (
            conn.execute(f"SHOW tcp_keepalives_{k}").fetchone()[0] for k in ("idle", "count")
        )
    assert (idle, count) == ("30", "3")


def test_the_root_is_never_deleted(fronts: tuple[PgStorage, PgStorage]) -> None:
    a, b = fronts
    calendar(a)
    with a.acquire_lock("w"), pytest.raises(ValueError):
        found(a, "/").delete()
    assert found(b, f"/{ALICE}/calendar/") is not None


def test_moves_in_opposite_directions_at_once_never_deadlock(
    fronts: tuple[PgStorage, PgStorage],
) -> None:
    """Alice's front end moves her items into Bob's calendar while Bob's moves his into
    Alice's (different members: their locks do not keep them apart). Before, each move
    locked its target collection's row, then its source's: PostgreSQL found a deadlock and
    one request failed."""
    a, b = fronts
    mine, theirs = calendar(a, ALICE), calendar(b, BOB)
    rounds = 12
    with a.acquire_lock("w", ALICE):
        for n in range(rounds):
            mine.upload(f"a{n}.ics", item(f"a{n}"))
    with b.acquire_lock("w", BOB):
        for n in range(rounds):
            theirs.upload(f"b{n}.ics", item(f"b{n}"))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def mover(storage: PgStorage, login: str, source: str, target: str, prefix: str) -> None:
        try:
            for n in range(rounds):
                start.wait(10)
                with storage.acquire_lock("w", login):
                    moving = found(storage, f"/{source}/calendar/{prefix}{n}.ics")
                    storage.move(
                        moving, found(storage, f"/{target}/calendar/"), f"m{prefix}{n}.ics"
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)
            start.abort()

    threads = [
        threading.Thread(target=mover, args=(a, ALICE, ALICE, BOB, "a")),
        threading.Thread(target=mover, args=(b, BOB, BOB, ALICE, "b")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with a.acquire_lock("r"):
        in_alice = sorted(i.href for i in found(a, f"/{ALICE}/calendar/").get_all())
    assert in_alice == sorted(f"mb{n}.ics" for n in range(rounds))
