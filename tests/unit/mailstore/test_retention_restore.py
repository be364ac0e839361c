"""retention.restore by content: each expunged message once, nothing that still exists."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from swissbox.mailstore import INBOX, MailStore, retention
from swissbox.mailstore.store import MailboxStore

ADDR = "toto@abc.xyz"


def message(subject: str) -> bytes:
    return f"From: a@example.org\r\nSubject: {subject}\r\n\r\nbody {subject}\r\n".encode()


@pytest.fixture
def store(tmp_path: Path):
    s = MailStore(tmp_path / "mail")
    yield s
    s.close()


def delete(box: MailboxStore, folder: str, uids: list[int]) -> None:
    box.set_flags(folder, uids, ["\\Deleted"], "add")
    assert retention.expunge(box, folder, uids) == uids


def test_copies_of_one_message_come_back_once_with_the_latest_flags(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    box.create_folder("Projects")
    box.append(INBOX, message("twice"))
    box.copy(INBOX, [1], "Projects")
    delete(box, INBOX, [1])
    box.set_flags("Projects", [1], ["\\Flagged"], "add")
    delete(box, "Projects", [1])
    assert len(retention.pending(box)) == 2
    assert retention.restore(box) == 1
    (row,) = box.messages(retention.RESTORED)
    assert row.flags == {"\\Flagged"}
    assert box.fetch(retention.RESTORED, row.uid) == message("twice")
    assert retention.pending(box) == []  # the other copy is forgotten, not restored later


def test_what_still_exists_is_not_restored(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    box.append(INBOX, message("kept"))
    box.append(INBOX, message("gone"))
    box.copy(INBOX, [1], "Trash")
    delete(box, INBOX, [1, 2])
    assert retention.restore(box) == 1
    assert [box.fetch(retention.RESTORED, m.uid) for m in box.messages(retention.RESTORED)] == [
        message("gone")
    ]
    # A restored message is live in Restored: deleting it elsewhere again changes nothing.
    box.append(INBOX, message("gone"))
    delete(box, INBOX, [3])
    assert retention.restore(box) == 0


def test_different_messages_all_come_back(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    for s in ("a", "b", "c"):
        box.append(INBOX, message(s))
    delete(box, INBOX, [1, 2, 3])
    assert retention.restore(box) == 3
    assert len(box.messages(retention.RESTORED)) == 3


RESTORER = """
import sys, time
from pathlib import Path
from swissbox.mailstore import MailStore, retention
store = MailStore(Path(sys.argv[1]), sys.argv[4] or None)
box = store.mailbox(sys.argv[2])
while time.time() < float(sys.argv[3]):  # start together
    time.sleep(0.001)
print(retention.restore(box))
store.close()
"""


def test_restores_started_in_several_processes_at_once_bring_each_message_back_once(
    tmp_path: Path, index_backend: str
) -> None:
    """The CLI beside the server, or two front ends: before, only restores within one process
    waited for each other, and each process brought every message back (or failed making
    the Restored folder another had just made)."""
    store = MailStore(tmp_path / "mail")  # the processes below open the same mailbox
    url = "" if index_backend == "sqlite" else index_backend
    try:
        box = store.mailbox(ADDR)
        for n in range(10):
            box.append(INBOX, message(f"m{n}"))
        delete(box, INBOX, list(range(1, 11)))
        start = time.time() + 1.5
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", RESTORER, str(tmp_path / "mail"), ADDR, str(start), url],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        counts = sorted(int(p.communicate(timeout=60)[0] or -1) for p in procs)
        assert counts == [0, 0, 0, 10]
        box.index.forget_cached()  # what the others made (on PostgreSQL told by the bus)
        restored = [box.fetch(retention.RESTORED, m.uid) for m in box.messages(retention.RESTORED)]
        assert sorted(restored) == sorted(message(f"m{n}") for n in range(10))
    finally:
        store.close()
