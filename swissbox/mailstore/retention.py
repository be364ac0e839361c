"""Expunged-message retention: what IMAP EXPUNGE (or folder DELETE) removes is kept for a
number of days and can be restored into a `Restored` folder (additive to `store.py`).

Files are hard-linked into `<mailbox>/swissbox-expunged/` (no leading dot, so never taken for
a Maildir++ folder) before the store unlinks them; table `expunged_messages` in the mailbox
index records folder, flags, internal date and time of removal.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from swissbox.mailstore.importer import NewMessage, add_messages
from swissbox.mailstore.index import MessageInfo, decode_flags, encode_flags
from swissbox.mailstore.paths import folder_dir
from swissbox.mailstore.store import MailboxStore, NoSuchFolder

AREA = "swissbox-expunged"
LOCK_FILE = ".restore.lock"  # in AREA; held by restore()
RESTORED = "Restored"
SCHEMA = """
CREATE TABLE IF NOT EXISTS expunged_messages (
    id INTEGER PRIMARY KEY,
    folder TEXT NOT NULL,
    key TEXT NOT NULL,
    flags TEXT NOT NULL,
    internaldate INTEGER NOT NULL,
    size INTEGER NOT NULL,
    expunged REAL NOT NULL
);
"""


def _area(box: MailboxStore) -> Path:
    path = box.path / AREA
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@contextlib.contextmanager
def _one_restore(box: MailboxStore) -> Iterator[None]:
    """One restore of a mailbox at a time, across threads, processes (the CLI beside the
    server) and front ends sharing the mail folder: an exclusive flock on a file in the
    retained area (on NFS, Linux clients emulate it with byte-range locks). A restore reads
    the retained rows, appends, then forgets them, so two at once bring each message back
    twice."""
    with open(_area(box) / LOCK_FILE, "ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _ensure(box: MailboxStore) -> None:
    box.index.ensure_table("expunged_messages", SCHEMA)


def keep(box: MailboxStore, folder: str, rows: Iterable[MessageInfo]) -> int:
    """Links the messages' files into the retention area and records them; returns how many."""
    rows = list(rows)
    if not rows:
        return 0
    _ensure(box)
    area = _area(box)
    fdir = folder_dir(box.path, folder)
    kept = []
    now = time.time()
    for m in rows:
        target = area / f"{m.key}.{int(now * 1000)}"
        try:
            os.link(fdir / m.subdir / m.filename, target)
        except FileExistsError:
            pass
        except FileNotFoundError:
            continue
        kept.append((folder, target.name, encode_flags(m.flags), m.internaldate, m.size, now))
    with box.index.transaction() as conn:
        conn.executemany(
            "INSERT INTO expunged_messages (folder, key, flags, internaldate, size, expunged)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            kept,
        )
    return len(kept)


def expunge(box: MailboxStore, folder: str, uids: Iterable[int] | None = None) -> list[int]:
    """EXPUNGE with retention: \\Deleted messages (of `uids` when given) are kept, then removed."""
    rows = [m for m in box.messages(folder, uids) if "\\Deleted" in m.flags]
    if not rows:
        return []
    keep(box, folder, rows)
    return box.expunge(folder, [m.uid for m in rows])


def pending(box: MailboxStore, since: float | None = None) -> list[tuple[int, str, str, float]]:
    """(id, folder, key, expunged time) of retained messages, oldest first."""
    _ensure(box)
    with box.index.lock:
        return box.index.conn.execute(
            "SELECT id, folder, key, expunged FROM expunged_messages WHERE expunged >= ?"
            " ORDER BY expunged, id",
            (since or 0,),
        ).fetchall()


def _digest(path: Path) -> str | None:
    """SHA-256 of a file's bytes, or None when it is gone."""
    try:
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except FileNotFoundError:
        return None


def _live_digests(box: MailboxStore, sizes: set[int]) -> set[str]:
    """Digests of the messages in any folder whose size is one of `sizes` (only those can be
    equal to a retained one, so a large mailbox is not read whole)."""
    found = set()
    for info in box.folders():
        for m in box.index.messages(info.id):
            if m.size in sizes:
                digest = _digest(box.path_of(info.name, m))
                if digest is not None:
                    found.add(digest)
    return found


def restore(box: MailboxStore, since: float | None = None) -> int:
    """Appends retained messages (expunged at or after `since`) to `Restored` with their
    flags (without \\Deleted) and internal dates; returns how many were restored.

    Each message comes back once, by content: of retained copies with the same bytes (a
    client's move is COPY + EXPUNGE, then the copy is deleted too) only the most recently
    expunged one is restored, and none whose bytes still exist in any folder. The copies
    not restored are forgotten with the restored ones. Restores of one mailbox run one
    after another, wherever they are started."""
    with _one_restore(box):
        box.index.forget_cached()  # what a restore elsewhere made (the Restored folder)
        return _restore(box, since)


def _restore(box: MailboxStore, since: float | None) -> int:
    _ensure(box)
    try:
        box.folder(RESTORED)
    except NoSuchFolder:
        box.create_folder(RESTORED)
    area = _area(box)
    with box.index.lock:
        rows = box.index.conn.execute(
            "SELECT id, key, flags, internaldate, size FROM expunged_messages"
            " WHERE expunged >= ? ORDER BY expunged, id",
            (since or 0,),
        ).fetchall()
    live = _live_digests(box, {r[4] for r in rows})
    latest: dict[str, int] = {}  # digest -> index in rows of the copy to restore
    for i, (_rid, key, *_rest) in enumerate(rows):
        digest = _digest(area / key)
        if digest is not None and digest not in live:
            latest[digest] = i
    wanted = set(latest.values())
    done = 0
    for i in range(0, len(rows), 200):
        batch = rows[i : i + 200]
        messages = []
        for j, (_rid, key, flags, idate, _size) in enumerate(batch, start=i):
            if j not in wanted:
                continue
            try:
                data = (area / key).read_bytes()
            except FileNotFoundError:
                continue
            messages.append(NewMessage(data, decode_flags(flags) - {"\\Deleted"}, float(idate)))

        def forget(conn: Any, batch: list[Any] = batch) -> None:
            conn.executemany("DELETE FROM expunged_messages WHERE id = ?", [(r[0],) for r in batch])

        if messages:
            add_messages(box, RESTORED, messages, forget)
        else:
            with box.index.transaction() as conn:
                forget(conn)
        done += len(messages)
        for _rid, key, *_rest in batch:
            with contextlib.suppress(FileNotFoundError):
                (area / key).unlink()
    return done


def purge(box: MailboxStore, days: float, now: float | None = None) -> int:
    """Forgets retained messages older than `days`; returns how many went."""
    _ensure(box)
    cutoff = (now or time.time()) - days * 86400
    with box.index.lock:
        rows = box.index.conn.execute(
            "SELECT id, key FROM expunged_messages WHERE expunged < ?", (cutoff,)
        ).fetchall()
    area = _area(box)
    for _rid, key in rows:
        with contextlib.suppress(FileNotFoundError):
            (area / key).unlink()
    with box.index.transaction() as conn:
        conn.executemany("DELETE FROM expunged_messages WHERE id = ?", [(r[0],) for r in rows])
    return len(rows)
