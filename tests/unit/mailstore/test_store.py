"""Mail store: two-phase delivery, the index, flags/MODSEQ, expunge, append, copy, recovery."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from swissbox.mailstore import INBOX, MailStore, MailStoreError, NoSuchFolder, QuotaExceeded
from swissbox.mailstore import store as store_module
from swissbox.mailstore.paths import INDEX_NAME, folder_dir, mailbox_dir

ADDR = "toto@abc.xyz"


def message(subject: str = "hello", body: bytes = b"body\r\n") -> bytes:
    return (
        b"From: Alice <alice@example.org>\r\nTo: toto@abc.xyz\r\n"
        b"Subject: " + subject.encode() + b"\r\nMessage-ID: <1@example.org>\r\n\r\n" + body
    )


@pytest.fixture
def store(tmp_path: Path):
    s = MailStore(tmp_path / "mail")
    yield s
    s.close()


def deliver(store: MailStore, data: bytes, *addresses: str, **kw):
    d = store.begin()
    for a in addresses or (ADDR,):
        d.add_recipient(a, **kw)
    d.write(data)
    return d.commit_sync()


def files(store: MailStore, address: str = ADDR, folder: str = INBOX) -> list[str]:
    fdir = folder_dir(mailbox_dir(store.root, address), folder)
    return sorted(os.listdir(fdir / "new") + os.listdir(fdir / "cur"))


def test_layout_is_maildir_plus_plus(store: MailStore) -> None:
    box = store.mailbox("Toto@ABC.xyz")
    assert box.path == store.root / "abc.xyz" / "toto"
    for sub in ("cur", "new", "tmp"):
        assert (box.path / sub).is_dir()
    for name in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert (box.path / f".{name}" / "cur").is_dir()
    assert [f.name for f in box.folders()][0] == INBOX
    assert {f.name for f in box.folders()} == {
        "INBOX",
        "Sent",
        "Drafts",
        "Trash",
        "Junk",
        "Archive",
    }
    box.create_folder("Archive/2024")
    assert (box.path / ".Archive.2024" / "new").is_dir()


def test_strange_local_parts_stay_inside_the_domain_folder(store: MailStore) -> None:
    box = store.mailbox("../x/y@abc.xyz")
    assert box.path.parent == store.root / "abc.xyz"
    assert "/" not in box.path.name and not box.path.name.startswith(".")


def test_nothing_persists_before_commit_and_abort_leaves_nothing(store: MailStore) -> None:
    d = store.begin()
    d.add_recipient(ADDR)
    d.write(message())
    box = store.mailbox(ADDR)
    assert files(store) == [] and os.listdir(box.path / "tmp") == []
    d.abort()
    assert files(store) == []
    with pytest.raises(MailStoreError):
        d.commit_sync()


def test_deliver_indexes_and_fetches_identical_bytes(store: MailStore) -> None:
    data = message()
    [done] = deliver(store, data)
    assert done.uid == 1 and done.folder == INBOX
    box = store.mailbox(ADDR)
    view = box.select(INBOX)
    assert view.info.uidnext == 2 and view.info.uidvalidity == done.uidvalidity
    [m] = view.messages
    assert m.subdir == "new" and m.size == len(data) and m.flags == frozenset()
    assert box.fetch(INBOX, 1) == data
    [full] = box.messages(INBOX, full=True)
    env = full.envelope
    assert env[1] == "hello" and env[2] == [["Alice", None, "alice", "example.org"]]
    assert env[9] == "<1@example.org>"
    assert full.bodystructure["type"] == "text" and full.headers.startswith(b"From:")
    assert box.usage() == len(data)


def test_uids_increase_and_modseq_grows(store: MailStore) -> None:
    uids = [deliver(store, message(str(i)))[0].uid for i in range(3)]
    assert uids == [1, 2, 3]
    modseqs = [m.modseq for m in store.mailbox(ADDR).messages(INBOX)]
    assert modseqs == sorted(modseqs) and len(set(modseqs)) == 3


def test_several_recipients_get_their_own_copy(store: MailStore) -> None:
    done = deliver(store, message(), ADDR, "other@abc.xyz")
    assert [d.address for d in done] == [ADDR, "other@abc.xyz"]
    assert len(files(store)) == 1 and len(files(store, "other@abc.xyz")) == 1


def test_flags_rename_files_and_bump_modseq(store: MailStore) -> None:
    deliver(store, message())
    box = store.mailbox(ADDR)
    before = box.messages(INBOX)[0].modseq
    rows, refused = box.set_flags(INBOX, [1], ["\\Seen", "$Label1"], mode="add")
    assert refused == [] and rows[0].flags == {"\\Seen", "$Label1"} and rows[0].modseq > before
    assert files(store)[0].endswith(":2,S")
    rows, _ = box.set_flags(INBOX, [1], ["\\Flagged"], mode="add")
    assert files(store)[0].endswith(":2,FS")
    rows, _ = box.set_flags(INBOX, [1], ["\\Seen"], mode="remove")
    assert rows[0].flags == {"\\Flagged", "$Label1"} and files(store)[0].endswith(":2,F")
    # CONDSTORE: UNCHANGEDSINCE older than the message's MODSEQ refuses the change.
    rows, refused = box.set_flags(INBOX, [1], ["\\Seen"], mode="set", unchanged_since=1)
    assert refused == [1] and "\\Seen" not in box.messages(INBOX)[0].flags
    assert box.fetch(INBOX, 1) == message()


def test_expunge_removes_only_deleted(store: MailStore) -> None:
    for i in range(3):
        deliver(store, message(str(i)))
    box = store.mailbox(ADDR)
    box.set_flags(INBOX, [1, 3], ["\\Deleted"], mode="add")
    assert box.expunge(INBOX, uids=[3]) == [3]
    assert box.expunge(INBOX) == [1]
    assert [m.uid for m in box.messages(INBOX)] == [2]
    assert len(files(store)) == 1 and box.usage() == len(message("1"))


def test_append_with_flags_and_internal_date(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    done = box.append("Sent", message(), flags=["\\Seen"], internal_date=1_000_000_000)
    [m] = box.messages("Sent")
    assert m.uid == done.uid == 1 and m.internaldate == 1_000_000_000 and m.subdir == "cur"
    assert files(store, folder="Sent")[0].endswith(":2,S")
    with pytest.raises(NoSuchFolder):
        box.append("Nope", message())


def test_copy_and_move(store: MailStore) -> None:
    deliver(store, message("a"))
    deliver(store, message("b"))
    box = store.mailbox(ADDR)
    box.set_flags(INBOX, [2], ["\\Seen"])
    assert box.copy(INBOX, [1, 2], "Archive") == {1: 1, 2: 2}
    assert [m.flags for m in box.messages("Archive")] == [frozenset(), {"\\Seen"}]
    assert box.fetch("Archive", 2) == message("b")
    assert box.move(INBOX, [1], "Trash") == {1: 1}
    assert [m.uid for m in box.messages(INBOX)] == [2]
    assert box.messages("Trash", full=True)[0].envelope[1] == "a"
    assert box.usage() == 4 * len(message("a"))  # INBOX 1, Archive 2, Trash 1


def test_quota(store: MailStore) -> None:
    size = len(message())
    deliver(store, message(), quota_bytes=size * 2)
    deliver(store, message(), quota_bytes=size * 2)
    with pytest.raises(QuotaExceeded):
        deliver(store, message(), quota_bytes=size * 2)
    assert len(files(store)) == 2


def test_search_header_uses_the_index(store: MailStore) -> None:
    deliver(store, message("Quarterly report"))
    deliver(store, message("lunch"))
    box = store.mailbox(ADDR)
    assert box.search_header(INBOX, "Subject", "REPORT") == [1]
    assert box.search_header(INBOX, "from", "alice@") == [1, 2]


def test_arrival_events_sync_and_async(store: MailStore) -> None:
    seen: list[tuple[str, str, list[int]]] = []
    unsubscribe = store.subscribe(ADDR, lambda *a: seen.append(a))
    deliver(store, message())
    assert seen == [(ADDR, INBOX, [1])]
    unsubscribe()
    deliver(store, message())
    assert len(seen) == 1

    async def main() -> list[object]:
        got: list[object] = []
        arrived = asyncio.Event()

        def on(*a: object) -> None:
            assert threading.current_thread() is threading.main_thread()
            got.append(a)
            arrived.set()

        store.subscribe(ADDR, on)
        d = store.begin()
        d.add_recipient(ADDR)
        d.write(message())
        await d.commit()
        await asyncio.wait_for(arrived.wait(), 5)
        return got

    assert asyncio.run(main()) == [(ADDR, INBOX, [3])]


def test_concurrent_commits_are_grouped(store: MailStore) -> None:
    async def main() -> None:
        async def one(i: int) -> int:
            d = store.begin()
            d.add_recipient(ADDR)
            d.write(message(str(i)))
            return (await d.commit())[0].uid

        uids = await asyncio.gather(*(one(i) for i in range(100)))
        assert sorted(uids) == list(range(1, 101))

    asyncio.run(main())
    assert store.batches < 100
    assert len(files(store)) == 100


def test_recovery_indexes_orphan_files_and_drops_missing_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_backend: str
) -> None:
    monkeypatch.setattr(store_module, "ADOPT_AFTER", 0.0)  # shared index: adopt at once
    root = tmp_path / "mail"
    s = MailStore(root)
    deliver(s, message("kept"))
    deliver(s, message("lost"))
    box = s.mailbox(ADDR)
    lost = box.path_of(INBOX, box.messages(INBOX)[1])
    s.close()
    lost.unlink()
    # a file that reached new/ but whose index commit never happened (crash in between)
    (box.path / "new" / "1700000000.M1P1Q1.host,S=10").write_bytes(message("orphan"))
    # a file another tool marked seen (moved to cur/ with flags)
    kept = next((box.path / "new").glob("*Q*.*,S=*"))
    if "orphan" in (kept.read_bytes().decode()):
        kept = next(p for p in (box.path / "new").iterdir() if b"kept" in p.read_bytes())
    os.rename(kept, box.path / "cur" / (kept.name + ":2,S"))
    stale = box.path / "tmp" / "stale"
    stale.write_bytes(b"x")
    os.utime(stale, (1, 1))

    s2 = MailStore(root)
    counts = s2.recover()
    assert counts["added"] == 1 and counts["removed"] == 1 and counts["renamed"] == 1
    box2 = s2.mailbox(ADDR)
    rows = box2.messages(INBOX, full=True)
    assert [m.envelope[1] for m in rows] == ["kept", "orphan"]
    assert rows[0].flags == {"\\Seen"}
    assert rows[1].uid == 3  # never reuses a UID
    assert not stale.exists()
    assert (box2.path / INDEX_NAME).exists() == (index_backend == "sqlite")
    s2.close()


def test_a_shared_index_leaves_a_young_file_to_the_front_end_writing_it(
    tmp_path: Path, index_backend: str
) -> None:
    """With several front ends, a file in new/ without its row may be another front end's
    delivery between its rename and its index commit: recovery must not give it a UID."""
    if index_backend == "sqlite":
        pytest.skip("one process writes a SQLite index: every orphan is a crash's")
    s = MailStore(tmp_path / "mail")
    box = s.mailbox(ADDR)
    (box.path / "new" / "1700000000.M1P1Q1.host,S=10").write_bytes(message("in flight"))
    s.close()
    s2 = MailStore(tmp_path / "mail")
    assert s2.recover()["added"] == 0
    assert s2.mailbox(ADDR).messages(INBOX) == []
    s2.close()


def test_close_finishes_pending_commits(tmp_path: Path) -> None:
    s = MailStore(tmp_path / "mail")
    deliver(s, message())
    s.close()
    with pytest.raises(MailStoreError):
        deliver(s, message())


def test_shared_store_is_one_instance_per_root(tmp_path: Path) -> None:
    from swissbox.mailstore import release_store, shared_store

    a = shared_store(tmp_path / "mail")
    b = shared_store(tmp_path / "mail" / ".." / "mail")
    assert a is b
    release_store(tmp_path / "mail")
    deliver(a, message())  # still open: one reference left
    release_store(tmp_path / "mail")
    with pytest.raises(MailStoreError):
        deliver(a, message())
    assert shared_store(tmp_path / "mail") is not a
    release_store(tmp_path / "mail")
