"""The index remembers expunged UIDs with the MODSEQ of their expunge (QRESYNC's VANISHED,
RFC 7162 3.2.5): per folder, bounded (the oldest records go and the folder's horizon rises
to them), and an index file made before the records existed is migrated in place on open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from swissbox.mailstore import INBOX, MailStore, MailStoreError
from swissbox.mailstore import folders as folder_ops
from swissbox.mailstore.index import INDEX_VERSION, Index
from swissbox.mailstore.paths import INDEX_NAME

ADDR = "vera@abc.xyz"


def message(n: int) -> bytes:
    return f"From: a@example.org\r\nSubject: m{n}\r\n\r\nbody\r\n".encode()


@pytest.fixture
def store(tmp_path: Path):
    s = MailStore(tmp_path / "mail")
    yield s
    s.close()


def expunge(box, folder: str, uids: list[int]) -> list[int]:
    box.set_flags(folder, uids, ["\\Deleted"], "add")
    return box.expunge(folder, uids)


def test_expunges_are_recorded_with_their_modseq(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    for n in range(5):
        box.append(INBOX, message(n))
    before = box.folder(INBOX)
    assert box.index.vanished_since(before.id, before.highestmodseq) == []
    assert expunge(box, INBOX, [2, 4]) == [2, 4]
    after = box.folder(INBOX)
    assert box.index.vanished_since(before.id, before.highestmodseq) == [2, 4]
    assert box.index.vanished_since(before.id, after.highestmodseq) == []
    box.move(INBOX, [5], "Archive")  # a move expunges from its source too
    assert box.index.vanished_since(before.id, after.highestmodseq) == [5]
    assert box.index.vanished_since(before.id, 0) == [2, 4, 5]  # a new folder: all known


def test_records_go_with_their_folder(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    info = box.create_folder("Work")
    box.append("Work", message(1))
    expunge(box, "Work", [1])
    folder_ops.delete_folder(box, "Work")
    with box.index.lock:
        left = box.index.conn.execute(
            "SELECT COUNT(*) FROM vanished WHERE folder_id = ?", (info.id,)
        ).fetchone()
    assert left == (0,)


def test_pruned_records_raise_the_horizon(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    box.index.vanished_keep = 4
    for n in range(10):
        box.append(INBOX, message(n))
    info = box.folder(INBOX)
    marks = []
    for uid in range(1, 8):  # seven expunges, one MODSEQ each
        marks.append(box.folder(INBOX).highestmodseq)
        expunge(box, INBOX, [uid])
    # the sixth record was more than 4 + 4 // 4: the newest four stayed (UIDs 3-6), then 7
    assert box.index.vanished_since(info.id, marks[-4]) == [4, 5, 6, 7]
    assert box.index.vanished_since(info.id, marks[-5]) == [3, 4, 5, 6, 7]
    assert box.index.vanished_since(info.id, marks[-6]) is None  # UID 2's: forgotten
    assert box.index.vanished_since(info.id, 0) is None
    top = box.folder(INBOX).highestmodseq
    assert box.index.vanished_since(info.id, top) == []  # HIGHESTMODSEQ itself unchanged


def _downgrade(path: Path) -> None:
    """Makes the file what a swissbox before INDEX_VERSION 1 left: no expunge tables."""
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE vanished; DROP TABLE vanished_horizon; PRAGMA user_version = 0;")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert tables == {"folders", "messages", "folder_high_water"}


def test_an_index_from_before_is_migrated_in_place(tmp_path: Path, index_backend: str) -> None:
    if index_backend != "sqlite":
        pytest.skip("an index file of a swissbox before version 1: SQLite only")
    root = tmp_path / "mail"
    s = MailStore(root)
    box = s.mailbox(ADDR)
    for n in range(4):
        box.append(INBOX, message(n))
    expunge(box, INBOX, [2])
    old = box.folder(INBOX)
    path = box.path / INDEX_NAME
    s.close()
    _downgrade(path)

    s = MailStore(root)
    box = s.mailbox(ADDR)
    info = box.folder(INBOX)
    assert info == old
    assert [m.uid for m in box.messages(INBOX)] == [1, 3, 4]
    # the expunge of UID 2 was never recorded: below the horizon nothing is known
    assert box.index.vanished_since(info.id, old.highestmodseq - 1) is None
    assert box.index.vanished_since(info.id, old.highestmodseq) == []
    expunge(box, INBOX, [3])
    assert box.index.vanished_since(info.id, old.highestmodseq) == [3]
    assert box.append(INBOX, message(9)).uid == 5
    s.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (INDEX_VERSION,)
    conn.close()


def test_an_index_from_a_newer_swissbox_is_refused(tmp_path: Path) -> None:
    path = tmp_path / INDEX_NAME
    Index(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {INDEX_VERSION + 1}")
    conn.close()
    with pytest.raises(MailStoreError, match="newer"):
        Index(path)


def test_the_lowest_modseq_of_some_expunges(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    for n in range(4):
        box.append(INBOX, message(n))
    info = box.folder(INBOX)
    expunge(box, INBOX, [3])
    first = box.folder(INBOX).highestmodseq
    expunge(box, INBOX, [1])
    assert box.index.expunge_modseq(info.id, [1, 3]) == first
    assert box.index.expunge_modseq(info.id, [1]) == box.folder(INBOX).highestmodseq
    assert box.index.expunge_modseq(info.id, [2, 4]) is None  # never expunged
