"""\\Seen kept per user (several people reading one shared address): independent per user,
apart from the mailbox's own flags, gone with its message, carried over by copy/move."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from swissbox.mailstore import INBOX, MailboxStore, MailStore, query, seen
from swissbox.mailstore.paths import INDEX_NAME

ADDR = "info@abc.xyz"


@pytest.fixture
def box(tmp_path: Path) -> Iterator[MailboxStore]:
    store = MailStore(tmp_path / "mail")
    for i in range(3):
        d = store.begin()
        d.add_recipient(ADDR)
        d.write(b"Subject: m%d\r\n\r\nbody\r\n" % i)
        d.commit_sync()
    yield store.mailbox(ADDR)
    store.close()


def test_each_user_has_their_own_seen_and_the_box_flags_stay(box: MailboxStore) -> None:
    folder = box.folder(INBOX).id
    before = query.rows(box, folder, ["uid", "flags", "modseq"], [1, 2, 3])
    changed, modseq = seen.set_seen(box, folder, "Bob@abc.xyz", [1, 2, 99], True)
    assert changed == [1, 2] and modseq > max(r[2] for r in before)  # 99: no such message
    assert seen.set_seen(box, folder, "bob@ABC.xyz", [1], True) == ([], 0)  # no change
    seen.set_seen(box, folder, "carol@abc.xyz", [3], True)
    assert seen.seen_uids(box, folder, "bob@abc.xyz") == {1, 2}
    assert seen.seen_uids(box, folder, "carol@abc.xyz") == {3}
    assert seen.seen_count(box, folder, "dora@abc.xyz") == 0
    after = query.rows(box, folder, ["uid", "flags", "modseq"], [1, 2, 3])
    assert [r[1] for r in after] == [r[1] for r in before]  # the mailbox's own flags
    assert [r[2] > b[2] for r, b in zip(after, before, strict=True)] == [True, True, True]
    changed, _ = seen.set_seen(box, folder, "bob@abc.xyz", [2], False)
    assert changed == [2] and seen.seen_uids(box, folder, "bob@abc.xyz") == {1}


def test_rows_go_with_their_message_and_copies_carry_them(box: MailboxStore) -> None:
    folder = box.folder(INBOX).id
    seen.set_seen(box, folder, "bob@abc.xyz", [1, 2], True)
    seen.set_seen(box, folder, "carol@abc.xyz", [2], True)
    taken = seen.snapshot(box, folder, [2])
    assert sorted(taken) == [(2, "bob@abc.xyz"), (2, "carol@abc.xyz")]
    assert seen.snapshot(box, folder, [2], "Carol@abc.xyz") == [(2, "carol@abc.xyz")]
    archive = box.create_folder("Filed")
    mapping = box.move(INBOX, [2], "Filed")
    seen.carry(box, archive.id, taken, mapping)
    assert seen.seen_uids(box, folder, "bob@abc.xyz") == {1}  # the original's row went
    assert seen.seen_uids(box, archive.id, "bob@abc.xyz") == {mapping[2]}
    assert seen.seen_uids(box, archive.id, "carol@abc.xyz") == {mapping[2]}
    box.set_flags(INBOX, [1], ["\\Deleted"], "add")
    box.expunge(INBOX)
    assert seen.seen_uids(box, folder, "bob@abc.xyz") == set()


def test_a_mailbox_nobody_shares_gets_no_table(tmp_path: Path, index_backend: str) -> None:
    store = MailStore(tmp_path / "mail")
    box = store.mailbox("solo@abc.xyz")
    assert seen.snapshot(box, box.folder(INBOX).id, [1]) == []
    assert not box.index.has_table("user_seen")
    assert (box.path / INDEX_NAME).exists() == (index_backend == "sqlite")
    store.close()
