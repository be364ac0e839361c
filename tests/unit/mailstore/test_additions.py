"""The mail store modules added for IMAP: folder delete/rename/subscribe, retention and
restore, Maildir import, the fast read paths."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from swissbox.mailstore import (
    INBOX,
    MailStore,
    MailStoreError,
    NoSuchFolder,
    folders,
    query,
    retention,
)
from swissbox.mailstore.importer import decode_mutf7, import_maildir
from swissbox.mailstore.paths import folder_dir

ADDR = "toto@abc.xyz"


def message(subject: str) -> bytes:
    return f"From: a@example.org\r\nSubject: {subject}\r\n\r\nbody {subject}\r\n".encode()


@pytest.fixture
def store(tmp_path: Path):
    s = MailStore(tmp_path / "mail")
    yield s
    s.close()


def test_rename_moves_children_and_keeps_uids(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    box.create_folder("A/B")
    box.append("A/B", message("x"))
    validity = box.folder("A/B").uidvalidity
    folders.rename_folder(box, "A", "C/D")
    names = {f.name for f in box.folders()}
    assert {"C", "C/D", "C/D/B"} <= names and "A" not in names and "A/B" not in names
    assert box.folder("C/D/B").uidvalidity == validity
    assert [m.uid for m in box.messages("C/D/B")] == [1]
    assert box.fetch("C/D/B", 1).endswith(b"body x\r\n")
    with pytest.raises(MailStoreError):
        folders.rename_folder(box, "C", "C/D/E")


def test_rename_inbox_moves_messages(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    box.append(INBOX, message("one"))
    folders.rename_folder(box, INBOX, "Old")
    assert box.messages(INBOX) == [] and len(box.messages("Old")) == 1


def test_delete_keeps_messages_for_restore(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    box.create_folder("Gone")
    box.append("Gone", message("kept"), ["\\Flagged"])
    with pytest.raises(MailStoreError):
        folders.delete_folder(box, INBOX)
    folders.delete_folder(box, "Gone")
    assert not folder_dir(box.path, "Gone").exists()
    with pytest.raises(NoSuchFolder):
        box.folder("Gone")
    assert retention.restore(box) == 1
    (row,) = box.messages(retention.RESTORED)
    assert row.flags == {"\\Flagged"}
    assert retention.restore(box) == 0  # restored once


def test_expunge_retention_since_and_purge(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    for s in ("a", "b"):
        box.append("Trash", message(s), ["\\Deleted", "\\Seen"])
    assert retention.expunge(box, "Trash", [1]) == [1]
    cutoff = time.time() + 0.01
    time.sleep(0.02)
    assert retention.expunge(box, "Trash") == [2]
    assert len(retention.pending(box)) == 2
    assert retention.restore(box, since=cutoff) == 1
    (row,) = box.messages(retention.RESTORED)
    assert row.flags == {"\\Seen"}
    assert retention.purge(box, days=0, now=time.time() + 1) == 1
    assert retention.pending(box) == []


def test_subscriptions(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    folders.set_subscribed(box, "Junk", False)
    assert not box.folder("Junk").subscribed
    with pytest.raises(NoSuchFolder):
        folders.set_subscribed(box, "Nope", True)


def test_import_maildir(store: MailStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    for folder in (src, src / ".Lists.Python", src / "Work"):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True)
    (src / "cur" / "1.a:2,RSb").write_bytes(b"Subject: one\n\nx\n")
    (src / "dovecot-keywords").write_text("1 $Label\n")
    (src / "new" / "2.b").write_bytes(b"Subject: two\n\ny\n")
    os.utime(src / "new" / "2.b", (1_000_000_000, 1_000_000_000))
    (src / ".Lists.Python" / "cur" / "3.c:2,").write_bytes(b"Subject: three\n\nz\n")
    (src / "Work" / "cur" / "4.d:2,F").write_bytes(b"Subject: four\n\nw\n")
    box = store.mailbox(ADDR)
    first = import_maildir(box, src)
    assert (first.folders, first.added, first.skipped) == (3, 4, 0)
    again = import_maildir(box, src)
    assert (again.added, again.skipped) == (0, 4)
    two, one = box.messages(INBOX)  # UIDs in internal-date order: "two" is older
    assert one.flags == {"\\Answered", "\\Seen", "$Label"}
    assert two.internaldate == 1_000_000_000 and two.flags == frozenset()
    assert box.fetch(INBOX, one.uid) == b"Subject: one\r\n\r\nx\r\n"
    assert [m.flags for m in box.messages("Work")] == [{"\\Flagged"}]
    assert len(box.messages("Lists/Python")) == 1
    assert decode_mutf7("Entw&APw-rfe") == "Entwürfe"


def test_query_rows_by_runs(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    for i in range(30):
        box.append(INBOX, message(str(i)), ["\\Seen"] if i % 2 else [])
    info = query.folder(box, INBOX)
    wanted = [1, 2, *range(5, 25), 29]
    rows = query.rows(box, info.id, ["uid", "flags"], wanted)
    assert [r[0] for r in rows] == wanted
    assert [r[0] for r in query.rows(box, info.id, ["uid"], wanted, changedsince=10**9)] == []
    assert query.counts(box, info.id)[:2] == (30, 15)
    hits = query.header_candidates(box, info.id, "SUBJECT: 2")
    assert {u for u, _ in hits} >= {3, 21}
    assert len(query.light_rows(box, info.id)) == 30
