"""The event bus between front ends: a real PostgreSQL with two buses standing for two front
ends, and the single-node bus that SQLite uses."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from swissbox.store import StoreError, open_database
from swissbox.store.events import (
    MAX_PAYLOAD,
    EventBus,
    LocalBus,
    PostgresBus,
    notify_on_commit,
    open_bus,
    release_bus,
    shared_bus,
)
from tests.support.polling import eventually
from tests.support.stack import free_port

CHANNEL = "swissbox_test"


class Inbox:
    """What one subscriber received, thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[str] = []

    def __call__(self, payload: str) -> None:
        with self.lock:
            self.items.append(payload)

    def got(self) -> list[str]:
        with self.lock:
            return list(self.items)


@pytest.fixture
def url(postgres: Any) -> str:
    return str(postgres.new_database())


@pytest.fixture
def buses(url: str) -> Iterator[tuple[PostgresBus, PostgresBus]]:
    a, b = PostgresBus(url), PostgresBus(url)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def terminate(url: str, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_an_event_reaches_the_other_front_end_and_not_the_publisher(
    buses: tuple[PostgresBus, PostgresBus],
) -> None:
    a, b = buses
    at_a, at_b, elsewhere = Inbox(), Inbox(), Inbox()
    a.subscribe(CHANNEL, at_a)
    b.subscribe(CHANNEL, at_b)
    b.subscribe("swissbox_other", elsewhere)
    a.publish(CHANNEL, "zone example.test")
    eventually(lambda: at_b.got() == ["zone example.test"], 10, "B never heard A")
    # B's answer is sent after A's event was committed, so A would have had its own first
    b.publish(CHANNEL, "from b")
    eventually(lambda: at_a.got(), 10, "A never heard B")
    assert at_a.got() == ["from b"]
    assert at_b.got() == ["zone example.test"]
    assert elsewhere.got() == []


def test_unsubscribe_stops_delivery(buses: tuple[PostgresBus, PostgresBus]) -> None:
    a, b = buses
    kept, dropped = Inbox(), Inbox()
    b.subscribe(CHANNEL, kept)
    unsubscribe = b.subscribe(CHANNEL, dropped)
    unsubscribe()
    a.publish(CHANNEL, "x")
    eventually(lambda: kept.got() == ["x"], 10)
    assert dropped.got() == []


def test_a_failing_subscriber_does_not_stop_the_others(
    buses: tuple[PostgresBus, PostgresBus],
) -> None:
    a, b = buses
    inbox = Inbox()

    def broken(payload: str) -> None:
        raise RuntimeError("subscriber bug")

    b.subscribe(CHANNEL, broken)
    b.subscribe(CHANNEL, inbox)
    a.publish(CHANNEL, "1")
    a.publish(CHANNEL, "2")
    eventually(lambda: inbox.got() == ["1", "2"], 10)


@pytest.mark.parametrize("make", [LocalBus, "postgres"])
def test_payload_and_channel_limits_are_refused_clearly(make: Any, url: str) -> None:
    bus: EventBus = LocalBus() if make is LocalBus else PostgresBus(url)
    try:
        bus.publish(CHANNEL, "x" * MAX_PAYLOAD)  # at the limit: fine
        with pytest.raises(ValueError, match="7001 bytes is over the 7000-byte limit"):
            bus.publish(CHANNEL, "x" * (MAX_PAYLOAD + 1))
        with pytest.raises(ValueError, match="over the 7000-byte limit"):
            bus.publish(CHANNEL, "é" * (MAX_PAYLOAD // 2 + 1))  # bytes, not characters
        for bad in ("Swissbox_Mail", "mail; DROP TABLE x", "", "x" * 80):
            with pytest.raises(ValueError, match="bad event channel name"):
                bus.publish(bad, "")
            with pytest.raises(ValueError, match="bad event channel name"):
                bus.subscribe(bad, print)
    finally:
        bus.close()


def test_the_largest_payload_arrives_whole(buses: tuple[PostgresBus, PostgresBus]) -> None:
    a, b = buses
    inbox = Inbox()
    b.subscribe(CHANNEL, inbox)
    big = "ü" * (MAX_PAYLOAD // 2)
    a.publish(CHANNEL, big)
    eventually(lambda: inbox.got() == [big], 10)


def test_a_killed_listen_connection_reconnects(
    buses: tuple[PostgresBus, PostgresBus], url: str
) -> None:
    a, b = buses
    inbox, told = Inbox(), Inbox()
    b.subscribe(CHANNEL, inbox)
    b.on_reconnect(lambda: told("events may have been lost"))
    terminate(url, b._listen_conn.info.backend_pid)
    eventually(lambda: b.reconnects >= 1, 10, "the listener never reconnected")
    assert told.got() == ["events may have been lost"]
    a.publish(CHANNEL, "after the cut")
    eventually(lambda: inbox.got() == ["after the cut"], 10, "no event after reconnecting")


def test_a_killed_sending_connection_is_replaced(
    buses: tuple[PostgresBus, PostgresBus], url: str
) -> None:
    a, b = buses
    inbox = Inbox()
    b.subscribe(CHANNEL, inbox)
    a.publish(CHANNEL, "first")
    eventually(lambda: inbox.got() == ["first"], 10)
    terminate(url, a._send_conn.info.backend_pid)
    a.publish(CHANNEL, "second")
    eventually(lambda: inbox.got() == ["first", "second"], 10, "the event after the cut was lost")


def test_fifty_publishers_at_once_every_event_delivered_once(url: str) -> None:
    senders = [PostgresBus(url), PostgresBus(url)]
    receiver = PostgresBus(url)
    inbox = Inbox()
    try:
        receiver.subscribe(CHANNEL, inbox)
        # also subscribed on the senders: they must not hear one another's... own events
        own = [Inbox(), Inbox()]
        for bus, box in zip(senders, own, strict=True):
            bus.subscribe(CHANNEL, box)
        start = threading.Barrier(50)

        def publisher(n: int) -> None:
            start.wait()
            for k in range(4):
                senders[n % 2].publish(CHANNEL, f"{n}-{k}")

        threads = [threading.Thread(target=publisher, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        expected = {f"{n}-{k}" for n in range(50) for k in range(4)}
        eventually(lambda: len(inbox.got()) >= len(expected), 20, "events missing")
        counts = Counter(inbox.got())
        assert set(counts) == expected and max(counts.values()) == 1
        # each sender hears exactly the other sender's events, once
        for n, box in enumerate(own):
            theirs = {p for p in expected if int(p.split("-")[0]) % 2 != n}
            eventually(lambda box=box, theirs=theirs: len(box.got()) >= len(theirs), 20)
            assert Counter(box.got()) == Counter(theirs)
    finally:
        for bus in (*senders, receiver):
            bus.close()


def test_an_unreachable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
        PostgresBus(f"postgresql://swissbox@127.0.0.1:{free_port()}/none")


def test_sqlite_gets_the_local_bus_and_one_bus_per_location(tmp_path: Path, url: str) -> None:
    local = open_bus(tmp_path / "swissbox.db")
    assert isinstance(local, LocalBus)
    inbox = Inbox()
    local.subscribe(CHANNEL, inbox)
    local.publish(CHANNEL, "nobody else")
    assert inbox.got() == []  # one node: the publisher already acted
    local.close()

    first, second = shared_bus(url), shared_bus(url)
    assert first is second and isinstance(first, PostgresBus)
    release_bus(url)
    assert not first._stop.is_set()
    release_bus(url)
    assert first._stop.is_set()
    assert shared_bus(url) is not first
    release_bus(url)


def test_an_event_of_a_transaction_is_sent_at_its_commit_only(
    buses: tuple[PostgresBus, PostgresBus], url: str, tmp_path: Path
) -> None:
    _, b = buses
    inbox = Inbox()
    b.subscribe(CHANNEL, inbox)
    with open_database(url, "events_test") as db:
        with pytest.raises(RuntimeError), db.write() as tx:
            notify_on_commit(db, tx, CHANNEL, "rolled back")
            raise RuntimeError("refused")
        with db.write() as tx:
            notify_on_commit(db, tx, CHANNEL, "committed")
            notify_on_commit(db, tx, CHANNEL, "committed")  # the same event once
            assert inbox.got() == []  # not before the commit
        eventually(lambda: inbox.got(), 10)
        assert inbox.got() == ["committed"]
    with open_database(tmp_path / "one.db") as lite, lite.write() as tx:
        notify_on_commit(lite, tx, CHANNEL, "SQLite: one node, nobody to tell")


def test_a_callback_may_subscribe_to_another_channel(
    buses: tuple[PostgresBus, PostgresBus],
) -> None:
    a, b = buses
    later = Inbox()

    def first(payload: str) -> None:
        b.subscribe("swissbox_later", later)  # on the bus's own thread: must not stall it

    b.subscribe(CHANNEL, first)
    a.publish(CHANNEL, "go")
    eventually(lambda: "swissbox_later" in b._listening, 10, "never listened")
    a.publish("swissbox_later", "here")
    eventually(lambda: later.got() == ["here"], 10)


def test_this_process_hears_its_own_commit_only_when_asked(url: str) -> None:
    here = shared_bus(url)  # this process's bus: PROCESS_ORIGIN marks its own events
    try:
        inbox = Inbox()
        here.subscribe(CHANNEL, inbox)
        with open_database(url, "events_test") as db:
            with db.write() as tx:
                notify_on_commit(db, tx, CHANNEL, "for the others")
            with db.write() as tx:
                notify_on_commit(db, tx, CHANNEL, "for everyone", to_this_process=True)
        eventually(lambda: inbox.got(), 10)
        assert inbox.got() == ["for everyone"]  # the first was sent before it, and dropped
    finally:
        release_bus(url)
