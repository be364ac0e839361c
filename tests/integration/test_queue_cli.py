"""`swissbox queue list|delete` on a data folder: files queued without a state row (as a CLI
notice is) are listed and deleted; unknown ids are refused."""

from __future__ import annotations

import json

from swissbox.mailstore.queue import OutboundQueue
from swissbox.mailstore.queuestate import QueueState
from tests.support.stack import Stack


def test_queue_verbs(stack: Stack) -> None:
    stack.init()
    queue = OutboundQueue(stack.data / "queue")
    first = queue.enqueue("alice@example.test", ["bob@remote.test"], b"Subject: a\r\n\r\na\r\n")
    second = queue.enqueue("", ["carol@remote.test", "dan@remote.test"], b"Subject: b\r\n\r\nb\r\n")

    listed = json.loads(stack.cli("queue", "list", "--json", check=True).stdout)
    assert {m["id"] for m in listed} == {first, second}
    by_id = {m["id"]: m for m in listed}
    assert list(by_id[second]["recipients"]) == ["carol@remote.test", "dan@remote.test"]
    assert by_id[first]["recipients"]["bob@remote.test"]["status"] == "pending"
    text = stack.cli("queue", "list", check=True).stdout
    assert "2 messages, 3 recipients pending" in text and "<bob@remote.test>" in text

    refused = stack.cli("queue", "delete", "NOSUCHID")
    assert refused.returncode == 1 and "not in the queue: NOSUCHID" in refused.stderr
    assert "deleted 1 messages" in stack.cli("queue", "delete", first, check=True).stdout
    assert not (stack.data / "queue" / f"{first}.msg").exists()
    state = QueueState.open(stack.data / "queue.db")
    try:
        assert state.ids() == {second}
        assert state.reschedule(0.0) == 0  # (flush's call: nothing is later than now)
    finally:
        state.close()
