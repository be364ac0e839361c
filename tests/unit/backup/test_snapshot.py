"""Backup, verify and restore of a data folder, with the mail store changing under the backup:
a message is in the snapshot with its file and its row, or not at all, and `serve`'s
recovery finds nothing to fix in what a restore wrote."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from swissbox.backup import BackupError, Repository, restore, take_backup, verify
from swissbox.backup import snapshot as snapshot_module
from swissbox.backup.manifest import DATABASE, MESSAGE, OUTSIDE
from swissbox.conf import Config, load
from swissbox.directory import Directory
from swissbox.mailstore import INBOX, MailStore, retention
from swissbox.mailstore.paths import INDEX_NAME, mailbox_dir
from swissbox.mailstore.queue import OutboundQueue

ADDR = "dora@example.test"


def message(n: int) -> bytes:
    return f"From: a@example.org\r\nMessage-ID: <{n}@example.org>\r\n\r\nbody {n}\r\n".encode()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "swissbox.toml").write_text('[server]\nhostname = "mx.example.test"\n')
    Directory(folder / "swissbox.db").close()
    (folder / "tls").mkdir()
    (folder / "tls" / "server.key").write_text("KEY")
    (folder / "dkim" / "example.test").mkdir(parents=True)
    (folder / "dkim" / "example.test" / "s1-rsa.pem").write_text("DKIM")
    home = folder / "dav" / "collection-root" / "alice" / "calendar"
    home.mkdir(parents=True)
    (home / ".Radicale.props").write_text('{"tag": "VCALENDAR"}')
    (home / "event.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    OutboundQueue(folder / "queue").enqueue("a@example.test", ["x@example.org"], message(0))
    return folder


@pytest.fixture
def store(data: Path) -> Iterator[MailStore]:
    s = MailStore(data / "mail")
    yield s
    s.close()


def config(data: Path) -> Config:
    return load(data=str(data), env={})


def deliver(store: MailStore, n: int, address: str = ADDR) -> None:
    d = store.begin()
    d.add_recipient(address)
    d.write(message(n))
    d.commit_sync()


def state(mail_root: Path, address: str = ADDR) -> dict[str, object]:
    """Folders with UIDVALIDITY, messages with UID, flags and bytes; and what recovery did."""
    s = MailStore(mail_root)
    try:
        counts = s.recover()
        box = s.mailbox(address)
        folders = {f.name: f.uidvalidity for f in box.folders()}
        messages = {
            (f, m.uid): (sorted(m.flags), box.fetch(f, m.uid))
            for f in folders
            for m in box.messages(f)
        }
    finally:
        s.close()
    return {"recovery": counts, "folders": folders, "messages": messages}


NO_RECOVERY = {"mailboxes": 1, "added": 0, "removed": 0, "renamed": 0}


def test_restore_rebuilds_every_part_and_recovery_finds_nothing_to_fix(
    data: Path, store: MailStore, tmp_path: Path
) -> None:
    for n in range(1, 6):
        deliver(store, n)
    box = store.mailbox(ADDR)
    box.create_folder("Projects/2026")  # empty folders survive too
    box.set_flags(INBOX, [1, 2], ["\\Seen", "$Label1"])
    box.set_flags(INBOX, [3], ["\\Deleted"])
    retention.expunge(box, INBOX, [3])  # kept in the retention area
    before = state(data / "mail")
    result = take_backup(config(data), tmp_path / "bk")
    assert result.tally.messages_written == 5  # 4 in INBOX + 1 retained
    restored = restore(Repository.open(tmp_path / "bk"), tmp_path / "restored")
    after = state(restored.target / "mail")
    assert after == before
    assert after["recovery"] == NO_RECOVERY
    assert len(retention.pending(MailStore(restored.target / "mail").mailbox(ADDR))) == 1
    for rel in (
        "swissbox.toml",
        "tls/server.key",
        "dkim/example.test/s1-rsa.pem",
        "dav/collection-root/alice/calendar/event.ics",
        "dav/collection-root/alice/calendar/.Radicale.props",
    ):
        assert (restored.target / rel).read_bytes() == (data / rel).read_bytes()
        assert (restored.target / rel).stat().st_mode == (data / rel).stat().st_mode
    queued = OutboundQueue(restored.target / "queue").list()
    assert [q.data for q in queued] == [message(0)]
    assert Directory(restored.target / "swissbox.db").orgs() == []  # a database that opens
    assert not list(tmp_path.glob(".restored.restoring-*"))


def test_a_file_without_its_index_row_is_left_out(
    data: Path, store: MailStore, tmp_path: Path
) -> None:
    """A delivery between its rename into new/ and its index commit (no 250 yet)."""
    deliver(store, 1)
    unindexed = mailbox_dir(data / "mail", ADDR) / "new" / "1.M1P1Q1.host,S=9"
    unindexed.write_bytes(message(2))
    (mailbox_dir(data / "mail", ADDR) / "tmp" / "half").write_bytes(b"half-written")
    result = take_backup(config(data), tmp_path / "bk")
    paths = [e.path for e in result.manifest.entries]
    assert not any("1.M1P1Q1" in p or p.endswith("/half") for p in paths)
    restored = restore(Repository.open(tmp_path / "bk"), tmp_path / "restored")
    after = state(restored.target / "mail")
    assert after["recovery"] == NO_RECOVERY
    assert [uid for _f, uid in after["messages"]] == [1]  # type: ignore[attr-defined]


def after_index_copy(monkeypatch: pytest.MonkeyPatch, act: Callable[[int], None]) -> dict[str, int]:
    """Runs `act(n)` right after the n-th copy of a mailbox index (n = 1, 2, ...); returns
    the counter."""
    real = snapshot_module.snapshot_database
    calls = {"n": 0}

    def copy_then_act(src: Path, dst: Path) -> None:
        real(src, dst)
        if src.name == INDEX_NAME:
            calls["n"] += 1
            act(calls["n"])

    monkeypatch.setattr(snapshot_module, "snapshot_database", copy_then_act)
    return calls


def test_a_flag_change_during_the_backup_keeps_the_copied_rows_flags(
    data: Path, store: MailStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row copied says new/KEY without flags; the file is renamed to cur/KEY:2,FS before
    it is read. It is found by its key and stored under the copied row's name."""
    deliver(store, 1)
    box = store.mailbox(ADDR)
    before = state(data / "mail")
    copies = after_index_copy(
        monkeypatch, lambda n: box.set_flags(INBOX, [1], ["\\Seen", "\\Flagged"])
    )
    result = take_backup(config(data), tmp_path / "bk")
    assert result.manifest.notes == []
    assert copies["n"] == 1  # found by its key, no second copy needed
    restored = restore(Repository.open(tmp_path / "bk"), tmp_path / "restored")
    assert state(restored.target / "mail") == before


def test_a_message_expunged_during_the_backup_gets_a_fresh_index_copy(
    data: Path, store: MailStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(store, 1)
    deliver(store, 2)
    box = store.mailbox(ADDR)

    def expunge_once(n: int) -> None:
        if n == 1:
            box.set_flags(INBOX, [2], ["\\Deleted"])
            box.expunge(INBOX)

    copies = after_index_copy(monkeypatch, expunge_once)
    result = take_backup(config(data), tmp_path / "bk")
    assert result.manifest.notes == []  # the second copy was consistent
    assert copies["n"] == 2
    restored = restore(Repository.open(tmp_path / "bk"), tmp_path / "restored")
    after = state(restored.target / "mail")
    assert after == state(data / "mail")
    assert list(after["messages"]) == [(INBOX, 1)]  # type: ignore[call-overload]


def test_files_that_keep_going_away_are_left_out_with_their_rows(
    data: Path, store: MailStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(1, 4):
        deliver(store, n)
    box = store.mailbox(ADDR)
    doomed = iter(m for m in box.messages(INBOX))

    def delete_a_file(n: int) -> None:  # a file gone after every copy of the index
        os.unlink(box.path_of(INBOX, next(doomed)))

    # Copy 1 misses message 1 and stores 2 and 3; copies 2 and 3 still name all three, and
    # 2 and 3 are known from copy 1 (files never change) while 1 stays missing: it goes.

    after_index_copy(monkeypatch, delete_a_file)
    result = take_backup(config(data), tmp_path / "bk")
    assert snapshot_module.MAX_ATTEMPTS == 3
    assert any("went away during the backup" in n for n in result.manifest.notes)
    restored = restore(Repository.open(tmp_path / "bk"), tmp_path / "restored")
    after = state(restored.target / "mail")
    assert after["recovery"] == NO_RECOVERY
    assert sorted(after["messages"]) == [(INBOX, 2), (INBOX, 3)]  # type: ignore[call-overload]


def test_second_backup_reads_only_new_message_files(
    data: Path, store: MailStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(1, 4):
        deliver(store, n)
    take_backup(config(data), tmp_path / "bk")
    store.mailbox(ADDR).set_flags(INBOX, [1], ["\\Seen"])  # renamed: still not read again
    deliver(store, 4)
    deliver(store, 5)
    read: list[str] = []
    real = Repository.store_file

    def recording(self: Repository, src: Path) -> tuple[str, int, bool]:
        read.append(src.name)
        return real(self, src)

    monkeypatch.setattr(Repository, "store_file", recording)
    result = take_backup(config(data), tmp_path / "bk")
    assert result.tally.messages_written == 2
    keys = {e.key for e in result.manifest.entries if e.kind == MESSAGE}
    assert len(keys) == 5
    read_messages = [name for name in read if name.split(":")[0] in keys]
    assert len(read_messages) == 2
    restored = restore(Repository.open(tmp_path / "bk"), tmp_path / "restored")
    assert state(restored.target / "mail") == state(data / "mail")


def test_verify_names_each_damaged_and_missing_file(
    data: Path, store: MailStore, tmp_path: Path
) -> None:
    deliver(store, 1)
    deliver(store, 2)
    result = take_backup(config(data), tmp_path / "bk")
    repo = Repository.open(tmp_path / "bk")
    assert verify(repo).problems == []
    first, second = [e for e in result.manifest.entries if e.kind == MESSAGE]
    obj = repo.object_path(first.sha256)
    raw = bytearray(obj.read_bytes())
    raw[5] ^= 0x01
    obj.chmod(0o600)
    obj.write_bytes(bytes(raw))
    repo.object_path(second.sha256).unlink()
    problems = {p.path: p.what for p in verify(repo).problems}
    assert set(problems) == {first.path, second.path}
    assert "damaged" in problems[first.path] and "missing" in problems[second.path]

    with pytest.raises(BackupError, match="is damaged; nothing was restored") as caught:
        restore(repo, tmp_path / "restored")
    assert first.path in str(caught.value) and second.path in str(caught.value)
    assert not (tmp_path / "restored").exists()
    assert not list(tmp_path.glob(".restored.restoring-*"))


def test_a_damaged_manifest_is_reported_as_such(data: Path, tmp_path: Path) -> None:
    result = take_backup(config(data), tmp_path / "bk")
    path = tmp_path / "bk" / "snapshots" / f"{result.manifest.id}.json"
    path.write_bytes(path.read_bytes().replace(b"swissbox.toml", b"swissbox.tomm"))
    (problem,) = verify(Repository.open(tmp_path / "bk")).problems
    assert "manifest is damaged" in str(problem)
    with pytest.raises(BackupError, match="manifest is damaged"):
        restore(Repository.open(tmp_path / "bk"), tmp_path / "restored")


def test_restore_refuses_a_folder_that_holds_anything_unless_forced(
    data: Path, tmp_path: Path
) -> None:
    take_backup(config(data), tmp_path / "bk")
    target = tmp_path / "busy"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(BackupError, match="is not empty"):
        restore(Repository.open(tmp_path / "bk"), target)
    assert (target / "old.txt").read_text() == "old"
    result = restore(Repository.open(tmp_path / "bk"), target, force=True)
    assert result.moved_aside is not None
    assert (result.moved_aside / "old.txt").read_text() == "old"
    assert (target / "swissbox.toml").is_file() and not (target / "old.txt").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert restore(Repository.open(tmp_path / "bk"), empty).moved_aside is None


def test_destination_refusals(data: Path, tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="inside the data folder"):
        take_backup(config(data), data / "backups")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(BackupError, match="not a swissbox backup folder"):
        take_backup(config(data), other)
    with pytest.raises(BackupError, match="not a swissbox backup folder"):
        Repository.open(other)
    with pytest.raises(BackupError, match="nothing to back up"):
        take_backup(config(tmp_path / "nothing"), tmp_path / "bk")


def test_one_backup_at_a_time_into_a_folder(data: Path, tmp_path: Path) -> None:
    take_backup(config(data), tmp_path / "bk")
    fd = os.open(tmp_path / "bk" / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(BackupError, match="another backup is writing"):
            take_backup(config(data), tmp_path / "bk")
    finally:
        os.close(fd)
    take_backup(config(data), tmp_path / "bk")
    assert len(Repository.open(tmp_path / "bk").snapshot_ids()) == 2


def test_directory_in_postgresql_is_left_to_pg_dump(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "swissbox.toml").write_text(
        '[server]\nhostname = "mx.example.test"\n'
        '[store]\nurl = "postgresql://swissbox@127.0.0.1:1/swissbox"\n'
    )
    result = take_backup(config(data), tmp_path / "bk")
    assert result.manifest.directory == "postgresql"
    assert any("pg_dump" in n for n in result.manifest.notes)
    assert [e.path for e in result.manifest.entries] == ["swissbox.toml"]
    restored = restore(Repository.open(tmp_path / "bk"), tmp_path / "restored")
    assert any("pg_dump" in n for n in restored.notes)


def test_a_shared_blob_path_is_named_as_not_in_the_snapshot(tmp_path: Path) -> None:
    data, blobs = tmp_path / "data", tmp_path / "shared"
    (blobs / "mail").mkdir(parents=True)
    data.mkdir()
    (data / "swissbox.toml").write_text(
        '[server]\nhostname = "mx.example.test"\n'
        f'[store]\nurl = "postgresql://swissbox@127.0.0.1:1/swissbox"\nblob_path = "{blobs}"\n'
    )
    result = take_backup(config(data), tmp_path / "bk")
    assert any(str(blobs) in n and "blob_path" in n for n in result.manifest.notes)
    assert [e.path for e in result.manifest.entries] == ["swissbox.toml"]


def test_files_named_by_the_configuration_outside_the_data_folder(
    data: Path, tmp_path: Path
) -> None:
    certs = tmp_path / "etc"
    certs.mkdir()
    (certs / "cert.pem").write_text("CERT")
    (certs / "key.pem").write_text("PRIVATE")
    conf = (data / "swissbox.toml").read_text()
    (data / "swissbox.toml").write_text(
        conf + f'[tls]\ncert = "{certs / "cert.pem"}"\nkey = "{certs / "key.pem"}"\n'
    )
    result = take_backup(config(data), tmp_path / "bk")
    outside = {e.origin: e.path for e in result.manifest.entries if e.kind == OUTSIDE}
    assert set(outside) == {str(certs / "cert.pem"), str(certs / "key.pem")}
    restored = restore(Repository.open(tmp_path / "bk"), tmp_path / "restored")
    for origin, path in outside.items():
        assert (restored.target / path).read_bytes() == Path(origin).read_bytes()
    assert sum("outside the data folder" in n for n in restored.notes) == 2


def test_databases_are_copied_whole_without_their_journals(
    data: Path, store: MailStore, tmp_path: Path
) -> None:
    deliver(store, 1)
    assert (mailbox_dir(data / "mail", ADDR) / f"{INDEX_NAME}-wal").exists()  # live, WAL mode
    result = take_backup(config(data), tmp_path / "bk")
    kinds = {e.path: e.kind for e in result.manifest.entries}
    assert kinds["swissbox.db"] == DATABASE
    assert kinds[f"mail/example.test/dora/{INDEX_NAME}"] == DATABASE
    assert not any(p.endswith(("-wal", "-shm")) for p in kinds)
    shutil.rmtree(data / "mail")  # the restored index alone names message 1
    restored = restore(Repository.open(tmp_path / "bk"), tmp_path / "restored")
    assert [uid for _f, uid in state(restored.target / "mail")["messages"]] == [1]  # type: ignore[attr-defined]
