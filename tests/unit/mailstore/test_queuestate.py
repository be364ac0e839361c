"""The outbound queue's state store on both backends: adoption, claims with a lease, outcomes
written only by the claim's holder, and fifty claimers at once taking each message once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from swissbox.mailstore.queue import OutboundQueue, adopt_files
from swissbox.mailstore.queuestate import (
    FAILED,
    SENT,
    DeliveryState,
    Envelope,
    QueueState,
    RecipientState,
    migrate_state,
)


def envelope(qid: str, *rcpts: str, created: float = 100.0) -> Envelope:
    return Envelope(qid, "alice@example.test", list(rcpts or ("bob@remote.test",)), created)


def test_adopt_is_idempotent_and_claims_take_due_messages_once(store_location: str) -> None:
    state = QueueState.open(store_location)
    try:
        assert state.adopt([(envelope("A", "x@r.test", "y@r.test"), None)]) == ["A"]
        assert state.adopt([(envelope("A", "z@r.test"), None)]) == []  # known: left as it is
        later = DeliveryState(attempts=2, next_attempt=500.0)
        assert state.adopt([(envelope("B"), later)]) == ["B"]
        (claimed,) = state.claim("one", now=200.0, lease=30.0, limit=10)  # B is not due yet
        assert claimed.id == "A" and claimed.until == 230.0
        assert list(claimed.state.recipients) == ["x@r.test", "y@r.test"]
        assert state.claim("two", now=201.0, lease=30.0, limit=10) == []  # A is held
        assert state.next_due(201.0) == 230.0  # when the claim on A lapses
        claimed.state.recipients["x@r.test"] = RecipientState(SENT, "250 ok", "mx.r.test")
        claimed.state.attempts, claimed.state.next_attempt = 1, 260.0
        assert state.record("one", "A", claimed.state)
        (entry_a, entry_b) = state.entries()
        assert (entry_a.id, entry_a.attempts, entry_a.claimed_by) == ("A", 1, None)
        assert entry_a.recipients["x@r.test"] == RecipientState(SENT, "250 ok", "mx.r.test")
        assert entry_a.recipients["y@r.test"].status == "pending"
        assert (entry_b.id, entry_b.attempts, entry_b.next_attempt) == ("B", 2, 500.0)
        assert state.next_due(201.0) == 260.0
        assert [c.id for c in state.claim("two", now=600.0, lease=30.0, limit=10)] == ["A", "B"]
        assert state.finish("two", "B") and not state.finish("one", "A")  # A is two's
        assert state.ids() == {"A"}
    finally:
        state.close()


def test_a_lapsed_lease_is_taken_over_and_the_old_holder_writes_nothing(
    store_location: str,
) -> None:
    state = QueueState.open(store_location)
    try:
        state.adopt([(envelope("M"), None)])
        (first,) = state.claim("crashed", now=100.0, lease=10.0, limit=5)
        assert state.claim("other", now=109.0, lease=10.0, limit=5) == []
        assert state.renew("crashed", 115.0) == 1  # still alive: kept longer
        assert state.claim("other", now=114.0, lease=10.0, limit=5) == []
        (second,) = state.claim("other", now=116.0, lease=10.0, limit=5)  # lapsed: taken over
        assert second.id == "M"
        first.state.recipients["bob@remote.test"] = RecipientState(FAILED, "550 no")
        assert not state.record("crashed", "M", first.state)  # no longer its claim
        assert not state.finish("crashed", "M")
        assert state.entries()[0].recipients["bob@remote.test"].status == "pending"
        assert state.entries()[0].claimed_by == "other"
        assert state.release("other") == 1
        assert state.claim("third", now=117.0, lease=10.0, limit=5)[0].id == "M"
    finally:
        state.close()


def test_fifty_claimers_at_once_take_every_message_exactly_once(store_location: str) -> None:
    setup = QueueState.open(store_location)
    messages = [f"Q{i:03d}" for i in range(150)]
    setup.adopt([(envelope(qid, f"r{qid}@remote.test"), None) for qid in messages])
    setup.close()
    taken: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(50)

    def claimer(n: int) -> None:
        owner = f"node{n}"
        state = QueueState.open(store_location)  # a connection each, like separate front ends
        try:
            start.wait()
            mine = taken.setdefault(owner, [])
            while batch := state.claim(owner, now=1000.0, lease=600.0, limit=2):
                mine += [c.id for c in batch]
                if n % 3 == 0:  # some record an outcome and release: not due again before 2000
                    for c in batch:
                        c.state.next_attempt = 2000.0
                        assert state.record(owner, c.id, c.state)
        except BaseException as exc:
            errors.append(exc)
        finally:
            state.close()

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    everything = [qid for ids in taken.values() for qid in ids]
    assert sorted(everything) == messages  # each claimed once, none left over
    assert sum(1 for ids in taken.values() if ids) > 1  # the work was shared


def test_files_from_before_the_state_store_are_adopted_with_their_state(
    tmp_path: Path, store_location: str
) -> None:
    queue = OutboundQueue(tmp_path / "queue")
    qid = queue.enqueue("alice@example.test", ["a@r.test", "b@r.test"], b"Subject: x\r\n\r\nx\r\n")
    fresh = queue.enqueue("alice@example.test", ["c@r.test"], b"Subject: y\r\n\r\ny\r\n")
    # the `.state` file an older version kept beside the message: a sent, b retried
    (tmp_path / "queue" / f"{qid}.state").write_text(
        '{"attempts": 3, "next_attempt": 1234.5, "recipients": {'
        '"a@r.test": {"status": "sent", "reply": "250 ok", "remote": "mx.r.test"},'
        ' "b@r.test": {"status": "pending", "reply": "451 later", "remote": ""}}}'
    )
    (tmp_path / "queue" / "broken.msg").write_bytes(b"not an envelope\n")
    state = QueueState.open(store_location)
    try:
        assert adopt_files(queue, state) == 2
        assert adopt_files(queue, state) == 0
        entries = {e.id: e for e in state.entries()}
        assert set(entries) == {qid, fresh}
        old = entries[qid]
        assert (old.attempts, old.next_attempt) == (3, 1234.5)
        assert old.recipients["a@r.test"] == RecipientState(SENT, "250 ok", "mx.r.test")
        assert old.recipients["b@r.test"].reply == "451 later"
        assert not (tmp_path / "queue" / f"{qid}.state").exists()  # moved into the row
        assert entries[fresh].recipients == {"c@r.test": RecipientState()}
        queue.remove(fresh)
        assert adopt_files(queue, state, [fresh]) == 0  # gone meanwhile: nothing to adopt
    finally:
        state.close()


def test_migrate_state_to_postgresql_and_back(tmp_path: Path, postgres: Any) -> None:
    """`swissbox migrate`'s queue step: rows (attempts, recipients' replies) arrive whole,
    checked by counts and checksums; again, the same target; and back."""
    box = tmp_path / "queue.db"
    state = QueueState.open(box)
    state.adopt(
        [(envelope("A", "x@r.test", "y@r.test"), DeliveryState(2, 300.0)), (envelope("B"), None)]
    )
    (held,) = state.claim("me", now=400.0, lease=10.0, limit=1)
    held.state.recipients["x@r.test"] = RecipientState(SENT, "250 ok", "mx.r.test")
    state.record("me", held.id, held.state)
    before = state.entries()
    state.close()
    url = postgres.new_database()
    report = migrate_state(box, url)
    assert [(t.table, t.rows) for t in report] == [("queue_messages", 2), ("queue_recipients", 3)]
    assert migrate_state(box, url) == report  # idempotent
    moved = QueueState.open(url)
    try:
        assert moved.entries() == before
    finally:
        moved.close()
    back = tmp_path / "back.db"
    assert migrate_state(url, back) == report
