"""retention.restore by content: each expunged message once, nothing that still exists."""

from __future__ import annotations

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
