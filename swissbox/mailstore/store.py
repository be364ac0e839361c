"""The mail store: Maildir++ folders per mailbox plus an index (SQLite file per mailbox, or a
schema per mailbox in PostgreSQL for several front ends); the one delivery path.

Delivery is two-phase: `begin()` -> `add_recipient()` -> `write()` -> `commit()` / `abort()`.
Nothing reaches the disk before `commit()`. A commit writes `tmp/<key>`, fsyncs it, renames it
into `new/` (or `cur/` when it has flags), fsyncs the directory, then commits the index; only
then does it return (and SMTP answer 250). Commits from many sessions are grouped by a single
writer thread (one directory fsync and one index transaction per mailbox per batch).

On first open in a process every mailbox is reconciled with its files: a file without an index
row gets a UID, a row without a file goes, so a crash at any point loses no acknowledged message.
With a shared index (PostgreSQL) other front ends deliver meanwhile: the reconciliation runs
under the mailbox's lock and leaves files younger than ADOPT_AFTER to their writer. Every index
change is published on the event bus ("swissbox_mail"); the other front ends drop their caches
and tell their sessions, as for their own changes (`events.py` in this folder).
See README.md in this folder for the API the IMAP server builds on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swissbox.mailstore.durable import fsync_dir
from swissbox.mailstore.errors import MailStoreError, NoSuchFolder, QuotaExceeded
from swissbox.mailstore.index import FolderInfo, Index, MessageInfo
from swissbox.mailstore.meta import Summary, summarize
from swissbox.mailstore.paths import (
    DEFAULT_FOLDERS,
    INBOX,
    INDEX_NAME,
    SEPARATOR,
    _unescape,
    check_folder_name,
    file_name,
    flags_from_info,
    folder_dir,
    folder_name_from_dir,
    mailbox_dir,
    new_key,
    split_name,
)
from swissbox.mailstore.spool import MEMORY_THRESHOLD, Part, Spool
from swissbox.mailstore.writer import Delivered, Job, Target, Writer

log = logging.getLogger("swissbox.mailstore")

Callback = Callable[[str, str, list[int]], None]  # (address, folder, new uids)
# (address, source folder, destination folder, uids in the destination)
TransferObserver = Callable[[str, str, str, list[int]], None]
ChangeCallback = Callable[[str, str, str, list[int]], None]  # (address, folder, kind, uids)
ListCallback = Callable[[str, str, str, str | None], None]  # (address, kind, name, old name)
TMP_MAX_AGE = 3600.0  # seconds before a leftover tmp/ file counts as a dead delivery
# Shared index: a message file without an index row is adopted by recovery only once it is this
# old (by ctime, which its rename into place set): younger, another front end is committing it.
ADOPT_AFTER = 120.0
CHANNEL = "swissbox_mail"
# kinds of event: new messages, flag changes, expunges, anything else (folders, bulk imports)
NEW, FLAGS, EXPUNGE, CHANGED = "new", "flags", "expunge", "changed"
LISTED = "listed"  # a folder-list change told to IMAP NOTIFY sessions (publish_list)
PAYLOAD_LIMIT = 6000  # bytes of one bus message (the bus takes at most 7,000)
SPOOL_DIR = ".spool"  # under the store's root: same file system as the Maildirs

__all__ = ["Delivered", "MailStoreError", "NoSuchFolder", "QuotaExceeded"]  # re-exported


@dataclass
class FolderView:
    """What SELECT needs: the folder's counters and its messages in UID order (no bodies)."""

    info: FolderInfo
    messages: list[MessageInfo]


def _make_maildir(path: Path) -> None:
    """cur/ new/ tmp/ under `path`; directories it creates are made durable (their parents
    fsynced), so a message fsynced into a brand-new mailbox cannot lose its folder."""
    if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
        return
    created: list[Path] = []
    missing = path
    while not missing.exists():
        created.append(missing)
        missing = missing.parent
    for sub in ("cur", "new", "tmp"):
        if not (path / sub).exists():
            created.append(path / sub)
        (path / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    for parent in {p.parent for p in created}:
        fsync_dir(parent)


def _dir_id(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


class MailboxStore:
    """One mailbox: its Maildir++ folders and its index. Get it from `MailStore.mailbox()`."""

    def __init__(self, store: MailStore, address: str, path: Path) -> None:
        self.store = store
        self.address = address
        self.path = path
        _make_maildir(path)
        self._dir_id = _dir_id(path)
        self.index = Index(path / INDEX_NAME, store.index_url, store._key(address))
        self._usage: int | None = None

    def still_here(self) -> bool:
        """False once this mailbox was deleted (by this process or another): its folder was
        moved away (`removal.retire`), so it is no longer the one at its path."""
        try:
            return _dir_id(self.path) == self._dir_id
        except OSError:
            return False

    # -- folders ------------------------------------------------------------------------

    def folders(self) -> list[FolderInfo]:
        """All folders, INBOX first, then by name."""
        return sorted(self.index.folders().values(), key=lambda f: (f.name != INBOX, f.name))

    def folder(self, name: str) -> FolderInfo:
        info = self.index.folder(check_folder_name(name))
        if info is None:
            raise NoSuchFolder(f"no folder {name!r} in {self.address}")
        return info

    def create_folder(self, name: str, subscribed: bool = True) -> FolderInfo:
        """Creates the folder (and missing parents); an existing folder is an error.
        `subscribed=False` (IMAP CREATE): neither it nor the parents it makes are subscribed."""
        name = check_folder_name(name)
        with self.index.transaction():
            if self.index.folder(name) is not None:
                raise MailStoreError(f"folder {name!r} already exists")
            parts = name.split(SEPARATOR)
            for i in range(1, len(parts)):
                parent = SEPARATOR.join(parts[:i])
                if self.index.folder(parent) is None:
                    _make_maildir(folder_dir(self.path, parent))
                    self.index.create_folder(parent, subscribed)
            _make_maildir(folder_dir(self.path, name))
            info = self.index.create_folder(name, subscribed)
        self.store.publish(self.address, name, CHANGED)
        return info

    def _ensure_folder(self, name: str) -> None:
        """Inside a transaction: an index row and the Maildir for `name`."""
        _make_maildir(folder_dir(self.path, name))
        if self.index.folder(name) is None:
            self.index.create_folder(name)

    # -- reading ------------------------------------------------------------------------

    def select(self, folder: str) -> FolderView:
        info = self.folder(folder)
        return FolderView(info, self.index.messages(info.id))

    def messages(
        self, folder: str, uids: Iterable[int] | None = None, full: bool = False
    ) -> list[MessageInfo]:
        """Index rows in UID order; `full=True` adds envelope, bodystructure and headers."""
        return self.index.messages(self.folder(folder).id, uids, full=full)

    def path_of(self, folder: str, message: MessageInfo) -> Path:
        return folder_dir(self.path, folder) / message.subdir / message.filename

    def fetch(self, folder: str, uid: int) -> bytes:
        """The raw message as stored (RFC 5322 bytes with CRLF line ends)."""
        rows = self.messages(folder, [uid])
        if not rows:
            raise MailStoreError(f"no message with UID {uid} in {folder!r}")
        return self.path_of(folder, rows[0]).read_bytes()

    def search_header(self, folder: str, name: str, needle: str) -> list[int]:
        """UIDs whose header `name` contains `needle` (case-insensitive), from the index only."""
        target = name.lower().encode("ascii") + b":"
        wanted = needle.lower().encode("utf-8")
        hits = []
        for m in self.messages(folder, full=True):
            for line in unfold(m.headers):
                if line[: len(target)].lower() == target and wanted in line[len(target) :].lower():
                    hits.append(m.uid)
                    break
        return hits

    def usage(self) -> int:
        """Bytes used by all folders (the quota counts every folder)."""
        usage = self._usage  # no lock when known: the writer may hold it during an fsync
        if usage is not None:
            return usage
        with self.index.lock:
            if self._usage is None:
                self._usage = self.index.usage()
            return self._usage

    def forget_usage(self) -> None:
        """Drops the cached byte count (after changes that bypass the writer thread)."""
        with self.index.lock:
            self._usage = None

    def _add_usage(self, delta: int) -> None:
        with self.index.lock:
            if self._usage is not None:
                self._usage += delta

    # -- changing -----------------------------------------------------------------------

    def set_flags(
        self,
        folder: str,
        uids: Iterable[int],
        flags: Iterable[str],
        mode: str = "set",
        unchanged_since: int | None = None,
    ) -> tuple[list[MessageInfo], list[int]]:
        """STORE: mode "set" | "add" | "remove". Changed messages get one new MODSEQ and their
        file is renamed to carry the Maildir flag letters. Returns (rows after the change,
        UIDs refused because their MODSEQ > unchanged_since)."""
        if mode not in ("set", "add", "remove"):
            raise ValueError(f"mode {mode!r}")
        wanted = frozenset(flags)
        info = self.folder(folder)
        fdir = folder_dir(self.path, info.name)
        refused: list[int] = []
        with self.index.transaction():
            rows = self.index.messages(info.id, uids)
            _, modseq = self.index.bump(info.id)
            out = []
            for m in rows:
                if unchanged_since is not None and m.modseq > unchanged_since:
                    refused.append(m.uid)
                    out.append(m)
                    continue
                if mode == "set":
                    new = wanted
                elif mode == "add":
                    new = m.flags | wanted
                else:
                    new = m.flags - wanted
                if new == m.flags:
                    out.append(m)
                    continue
                name = file_name(m.key, new, "cur")
                if (m.subdir, m.filename) != ("cur", name):
                    try:
                        os.rename(fdir / m.subdir / m.filename, fdir / "cur" / name)
                    except FileNotFoundError:
                        log.warning("%s: file of UID %d vanished", self.address, m.uid)
                self.index.update_file(info.id, m.uid, "cur", name, new, modseq)
                out.append(
                    MessageInfo(m.uid, m.key, "cur", name, new, modseq, m.internaldate, m.size)
                )
        self.store.publish(
            self.address, info.name, FLAGS, [m.uid for m in out if m.modseq == modseq]
        )
        return out, refused

    def expunge(self, folder: str, uids: Iterable[int] | None = None) -> list[int]:
        """Removes messages flagged \\Deleted (only those in `uids` when given); returns their
        UIDs. Files go first, then rows (a crash in between leaves rows that recovery drops)."""
        info = self.folder(folder)
        fdir = folder_dir(self.path, info.name)
        rows = [m for m in self.index.messages(info.id, uids) if "\\Deleted" in m.flags]
        return self._remove(info, fdir, rows)

    def _remove(self, info: FolderInfo, fdir: Path, rows: list[MessageInfo]) -> list[int]:
        if not rows:
            return []
        for m in rows:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(fdir / m.subdir / m.filename)
        with self.index.transaction():
            self.index.delete(info.id, [m.uid for m in rows])
            self.index.bump(info.id)
        self._add_usage(-sum(m.size for m in rows))
        self.store.publish(self.address, info.name, EXPUNGE, [m.uid for m in rows])
        return [m.uid for m in rows]

    def append(
        self,
        folder: str,
        data: bytes,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> Delivered:
        """APPEND: stores `data` durably in `folder`; blocking (call it off the event loop)."""
        delivery = self.store.begin()
        delivery.add_recipient(self.address, folder, flags=flags, internal_date=internal_date)
        delivery.write(data)
        return delivery.commit_sync()[0]

    def copy(self, folder: str, uids: Iterable[int], dest: str) -> dict[int, int]:
        """COPY (hard links, flags kept); returns {source uid: new uid} (for COPYUID)."""
        src = self.folder(folder)
        dst = self.folder(dest)
        sdir, ddir = folder_dir(self.path, src.name), folder_dir(self.path, dst.name)
        rows = self.index.messages(src.id, uids, full=True)
        mapping: dict[int, int] = {}
        placed: list[Path] = []
        try:
            with self.index.transaction():
                first, modseq = self.index.bump(dst.id, len(rows))
                for i, m in enumerate(rows):
                    key = new_key(m.size)
                    # new/: a copy is \Recent in its folder (RFC 3501 6.4.7), flags in the index
                    subdir = "new"
                    name = file_name(key, m.flags, subdir)
                    os.link(sdir / m.subdir / m.filename, ddir / subdir / name)
                    placed.append(ddir / subdir / name)
                    summary = Summary(m.size, m.headers, m.envelope, m.bodystructure)
                    self.index.insert(
                        dst.id,
                        first + i,
                        key,
                        subdir,
                        name,
                        m.flags,
                        modseq,
                        m.internaldate,
                        summary,
                    )
                    mapping[m.uid] = first + i
                for sub in {p.parent for p in placed}:
                    fsync_dir(sub)
        except BaseException:
            for p in placed:
                p.unlink(missing_ok=True)
            raise
        self._add_usage(sum(m.size for m in rows))
        if mapping:
            self.store._notify(self.address, dst.name, sorted(mapping.values()))
            self.store._transferred(self.address, src.name, dst.name, sorted(mapping.values()))
        return mapping

    def move(self, folder: str, uids: Iterable[int], dest: str) -> dict[int, int]:
        """MOVE = COPY + remove from the source (not atomic across a crash: worst case both)."""
        uid_list = list(uids)
        mapping = self.copy(folder, uid_list, dest)
        info = self.folder(folder)
        rows = self.index.messages(info.id, mapping)
        self._remove(info, folder_dir(self.path, info.name), rows)
        return mapping

    # -- recovery -----------------------------------------------------------------------

    def reconcile(self) -> dict[str, int]:
        """Makes index and files agree; returns counts {"added", "removed", "renamed"}."""
        counts = {"added": 0, "removed": 0, "renamed": 0}
        with self.index.transaction():  # folders listed under the lock: none is half made
            names = set(DEFAULT_FOLDERS)
            for entry in os.scandir(self.path):
                name = folder_name_from_dir(entry.name) if entry.is_dir() else None
                if name is not None and os.path.isdir(os.path.join(entry.path, "cur")):
                    names.add(name)
            for name in self.index.folders():
                if name not in names:
                    self.index.delete_folder(name)
            for name in names:
                self._ensure_folder(name)
        for info in self.index.folders().values():
            for k, v in self._reconcile_folder(info).items():
                counts[k] += v
        return counts

    def _reconcile_folder(self, info: FolderInfo) -> dict[str, int]:
        fdir = folder_dir(self.path, info.name)
        now = time.time()
        for entry in os.scandir(fdir / "tmp"):
            try:
                if now - entry.stat().st_mtime > TMP_MAX_AGE:
                    os.unlink(entry.path)
            except OSError:
                pass
        if self.index.dialect == "sqlite":
            return self._reconcile_files(info, fdir, now)
        # shared: under the mailbox's lock, rows and files are seen at one moment (a row
        # committed means its file is in place; a file still without its row is left to
        # the front end committing it, until ADOPT_AFTER)
        with self.index.transaction():
            return self._reconcile_files(info, fdir, now, in_transaction=True)

    def _reconcile_files(
        self, info: FolderInfo, fdir: Path, now: float, in_transaction: bool = False
    ) -> dict[str, int]:
        files: dict[str, tuple[str, str, float]] = {}
        young: set[str] = set()
        for subdir in ("new", "cur"):
            for entry in os.scandir(fdir / subdir):
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                key, _ = split_name(entry.name)
                stat = entry.stat()
                files[key] = (subdir, entry.name, stat.st_mtime)
                if in_transaction and now - stat.st_ctime < ADOPT_AFTER:
                    young.add(key)
        rows = {m.key: m for m in self.index.messages(info.id)}
        for key in young - rows.keys():
            del files[key]
        gone = [m.uid for k, m in rows.items() if k not in files]
        renamed = [
            (m, files[k])
            for k, m in rows.items()
            if k in files and files[k][:2] != (m.subdir, m.filename)
        ]
        new = sorted((v[2], k) for k, v in files.items() if k not in rows)
        counts = {"added": len(new), "removed": len(gone), "renamed": len(renamed)}
        if not (gone or renamed or new):
            return counts
        with contextlib.nullcontext() if in_transaction else self.index.transaction():
            if gone:
                self.index.delete(info.id, gone)
            first, modseq = self.index.bump(info.id, len(new))
            for m, (subdir, name, _) in renamed:
                _, info_letters = split_name(name)
                keywords = {f for f in m.flags if not f.startswith("\\")}
                flags = flags_from_info(info_letters) | keywords
                self.index.update_file(info.id, m.uid, subdir, name, flags, modseq)
            for i, (mtime, key) in enumerate(new):
                subdir, name, _ = files[key]
                try:
                    raw = (fdir / subdir / name).read_bytes()
                except OSError:
                    continue
                flags = flags_from_info(split_name(name)[1])
                self.index.insert(
                    info.id, first + i, key, subdir, name, flags, modseq, int(mtime), summarize(raw)
                )
        if gone or new:
            log.info(
                "%s/%s: recovery added %d and removed %d index entries",
                self.address,
                info.name,
                len(new),
                len(gone),
            )
        self.forget_usage()
        self.store.publish(self.address, info.name, CHANGED)
        return counts


def unfold(headers: bytes) -> list[bytes]:
    """A raw header block -> one line per header field (continuation lines joined)."""
    lines: list[bytes] = []
    for line in headers.splitlines():
        if line[:1] in (b" ", b"\t") and lines:
            lines[-1] += b" " + line.strip()
        elif line:
            lines.append(line)
    return lines


class Delivery:
    """One message on its way in. Nothing is persistent until `commit()` returns."""

    def __init__(self, store: MailStore) -> None:
        self.store = store
        self.targets: list[Target] = []
        self._parts: list[Part] = []
        self._done = False

    def add_recipient(
        self,
        address: str,
        folder: str = INBOX,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
        quota_bytes: int | None = None,
    ) -> None:
        """`quota_bytes`: the mailbox's quota (from the directory), checked at commit."""
        mailbox = self.store.mailbox(address)
        folder = check_folder_name(folder)
        if mailbox.index.folder_id(folder) is None:  # refuse now rather than at commit
            raise NoSuchFolder(f"no folder {folder!r} in {mailbox.address}")
        self.targets.append(Target(mailbox, folder, frozenset(flags), internal_date, quota_bytes))

    def write(self, data: bytes | Spool) -> None:
        """Appends message bytes. A `Spool` stays the caller's: keep it open until the commit
        returns, then close it."""
        self._parts.append(data)

    def abort(self) -> None:
        self._parts.clear()
        self.targets.clear()
        self._done = True

    def _job(self) -> Job:
        if self._done:
            raise MailStoreError("delivery already committed or aborted")
        if not self.targets:
            raise MailStoreError("delivery without recipients")
        self._done = True
        parts, self._parts = self._parts, []
        return Job(self.targets, parts)

    async def commit(self) -> list[Delivered]:
        """Durable in every recipient's folder when this returns; raises QuotaExceeded or
        MailStoreError/OSError (nothing delivered to that recipient then)."""
        job = self._job()
        self.store.writer.submit(job)
        return await asyncio.wrap_future(job.future)

    def commit_sync(self) -> list[Delivered]:
        job = self._job()
        self.store.writer.submit(job)
        return job.future.result()


class MailStore:
    """All mailboxes under `root` (`<data>/mail`). Thread-safe; share one per process
    (see `shared_store`). `index_url`: a postgresql:// URL for the indexes (several front
    ends over one database and one shared `root`); None: a SQLite file in each mailbox."""

    def __init__(self, root: Path, index_url: str | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.index_url = index_url or None
        self._mailboxes: dict[str, MailboxStore] = {}
        self._lock = threading.Lock()
        self._subscribers: dict[str, list[tuple[Callback, asyncio.AbstractEventLoop | None]]] = {}
        self._watchers: dict[
            str, list[tuple[ChangeCallback, asyncio.AbstractEventLoop | None]]
        ] = {}
        self._list_watchers: dict[
            str, list[tuple[ListCallback, asyncio.AbstractEventLoop | None]]
        ] = {}
        self._transfer_observers: list[TransferObserver] = []
        self.writer = Writer(self._notify)
        self.bus: Any = None
        self._stop_listening: Callable[[], None] | None = None
        if self.index_url:
            from swissbox.mailstore.events import listen

            self.bus, self._stop_listening = listen(self.index_url, self._on_bus, self._forget_all)

    # -- mailboxes ----------------------------------------------------------------------

    @staticmethod
    def _key(address: str) -> str:
        local, _, domain = address.rpartition("@")
        return f"{local.lower()}@{domain.lower().rstrip('.')}"

    def mailbox(self, address: str) -> MailboxStore:
        """Opens (creating folders on first use, reconciling on first open) a mailbox."""
        key = self._key(address)
        with self._lock:
            box = self._mailboxes.get(key)
            if box is not None and not box.still_here():  # deleted: the address starts anew
                del self._mailboxes[key]
                box.index.close()
                box = None
            if box is None:
                box = MailboxStore(self, address, mailbox_dir(self.root, address))
                box.reconcile()
                self._mailboxes[key] = box
            return box

    def existing_addresses(self) -> list[str]:
        out = []
        for domain in sorted(os.listdir(self.root)):
            ddir = self.root / domain
            if domain.startswith(".") or not ddir.is_dir():
                continue
            for local in sorted(os.listdir(ddir)):
                if (ddir / local / INDEX_NAME).exists() or (ddir / local / "cur").is_dir():
                    out.append(f"{_unescape_local(local)}@{domain}")
        return out

    def recover(self) -> dict[str, int]:
        """Opens and reconciles every mailbox on disk (run at start, off the event loop)."""
        total = {"mailboxes": 0, "added": 0, "removed": 0, "renamed": 0}
        for address in self.existing_addresses():
            key = self._key(address)
            with self._lock:
                if key in self._mailboxes:
                    continue
                box = MailboxStore(self, address, mailbox_dir(self.root, address))
                counts = box.reconcile()
                self._mailboxes[key] = box
            total["mailboxes"] += 1
            for k, v in counts.items():
                total[k] += v
        return total

    def usage(self, address: str) -> int:
        return self.mailbox(address).usage()

    def spool(
        self,
        size_hint: int = 0,
        on_close: Callable[[], None] | None = None,
        threshold: int = MEMORY_THRESHOLD,
    ) -> Spool:
        """A spool for message bytes on their way in (temporary files in `<root>/.spool`)."""
        return Spool(self.root / SPOOL_DIR, threshold, size_hint, on_close)

    def begin(self) -> Delivery:
        return Delivery(self)

    # -- events -------------------------------------------------------------------------

    def subscribe(self, address: str, callback: Callback) -> Callable[[], None]:
        """`callback(address, folder, uids)` after each commit of new messages to the mailbox
        (by this front end or, with a shared index, another), on the event loop that was
        running when subscribing (else on the writer or bus thread).
        Returns the function that unsubscribes."""
        return self._add(self._subscribers, address, callback)

    def subscribe_changes(self, address: str, callback: ChangeCallback) -> Callable[[], None]:
        """`callback(address, folder, kind, uids)` for flag changes (kind "flags") and
        expunges ("expunge") that another front end made in the mailbox (this process's own
        sessions tell each other directly), on the subscribing loop like `subscribe`."""
        return self._add(self._watchers, address, callback)

    def subscribe_lists(self, address: str, callback: ListCallback) -> Callable[[], None]:
        """`callback(address, kind, name, old)` for folder-list changes another front end
        told with `publish_list` (like `subscribe_changes`)."""
        return self._add(self._list_watchers, address, callback)

    def publish_list(self, address: str, kind: str, name: str, old: str | None = None) -> None:
        """Tells the other front ends' NOTIFY sessions that a folder was created, deleted,
        renamed (from `old`), subscribed or unsubscribed."""
        if self.bus is None:
            return
        from swissbox.mailstore.events import list_payload

        try:
            self.bus.publish(CHANNEL, list_payload(self._key(address), kind, name, old))
        except Exception:  # too long a name for one message, or the bus is gone
            log.warning("could not publish a folder-list change", exc_info=True)

    def _add(self, table: dict[str, list[Any]], address: str, callback: Any) -> Callable[[], None]:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        entry = (callback, loop)
        key = self._key(address)
        with self._lock:
            table.setdefault(key, []).append(entry)

        def unsubscribe() -> None:
            with self._lock:
                subs = table.get(key, [])
                if entry in subs:
                    subs.remove(entry)

        return unsubscribe

    def _notify(self, address: str, folder: str, uids: list[int]) -> None:
        self._tell(self._subscribers, address, (address, folder, uids))
        self.publish(address, folder, NEW, uids)

    def _tell(self, table: dict[str, list[Any]], address: str, args: tuple[Any, ...]) -> None:
        with self._lock:
            subs = list(table.get(self._key(address), []))
        for callback, loop in subs:
            try:
                if loop is None:
                    callback(*args)
                elif not loop.is_closed():
                    loop.call_soon_threadsafe(callback, *args)
            except Exception:
                log.exception("mail event callback failed")

    # -- other front ends (the event bus) -------------------------------------------------

    def publish(self, address: str, folder: str, kind: str, uids: Iterable[int] = ()) -> None:
        """Tells the other front ends that the mailbox's index changed (after the commit)."""
        if self.bus is None:
            return
        from swissbox.mailstore.events import payloads

        try:
            for payload in payloads(self._key(address), folder, kind, uids, PAYLOAD_LIMIT):
                self.bus.publish(CHANNEL, payload)
        except Exception:  # the change is committed; the others see it at their next read
            log.warning("could not publish a mail index change", exc_info=True)

    def _on_bus(self, payload: str) -> None:
        """Another front end changed a mailbox's index: caches go, sessions are told."""
        from swissbox.mailstore.events import parse

        try:
            address, folder, kind, uids = parse(payload)
        except ValueError:
            log.warning("ignored a malformed mail event %r", payload[:200])
            return
        with self._lock:
            box = self._mailboxes.get(self._key(address))
        if box is not None:
            box.index.forget_cached(ids=kind in (CHANGED, LISTED))
            box.forget_usage()
        if kind == LISTED:
            from swissbox.mailstore.events import list_event

            try:
                event, old = list_event(payload)
            except (KeyError, ValueError):
                return
            self._tell(self._list_watchers, address, (address, event, folder, old))
        elif kind == NEW:
            self._tell(self._subscribers, address, (address, folder, uids))
        elif kind in (FLAGS, EXPUNGE):
            self._tell(self._watchers, address, (address, folder, kind, uids))

    def _forget_all(self) -> None:
        """The bus listens again after a cut: other front ends' events may have been lost,
        so every mailbox's cached counters and usage are read afresh."""
        with self._lock:
            boxes = list(self._mailboxes.values())
        for box in boxes:
            box.index.forget_cached()
            box.forget_usage()

    def observe_transfers(self, observer: TransferObserver) -> Callable[[], None]:
        """`observer(address, source, dest, uids)` after every COPY or MOVE between folders of
        a mailbox (uids: the copies in `dest`), on the thread that made it: observers must be
        quick and thread-safe (the filter's Junk learning hands over to its loop). Returns the
        function that stops observing."""
        with self._lock:
            self._transfer_observers.append(observer)

        def stop() -> None:
            with self._lock:
                if observer in self._transfer_observers:
                    self._transfer_observers.remove(observer)

        return stop

    def _transferred(self, address: str, source: str, dest: str, uids: list[int]) -> None:
        with self._lock:
            observers = list(self._transfer_observers)
        for observer in observers:
            try:
                observer(address, source, dest, uids)
            except Exception:  # an observer's failure must not fail the move
                log.exception("mail transfer observer failed")

    # -- the writer thread (writer.py) ---------------------------------------------------

    @property
    def batches(self) -> int:
        """Commit batches run so far (for tests and the benchmark)."""
        return self.writer.batches

    def close(self) -> None:
        """Finishes pending commits, stops the writer thread, closes the indexes."""
        self.writer.close()
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        with self._lock:
            for box in self._mailboxes.values():
                box.index.close()
            self._mailboxes.clear()


def _unescape_local(name: str) -> str:
    try:
        return _unescape(name)
    except ValueError:
        return name


_shared: dict[Path, tuple[MailStore, int]] = {}
_shared_lock = threading.Lock()


def shared_store(root: Path, index_url: str | None = None) -> MailStore:
    """The process-wide store for `root` (SMTP and IMAP must share one, for arrival events).
    Pair every call with `release_store(root)`. `index_url`: see `MailStore` (the first
    call's counts; every service passes `[store] url`)."""
    root = Path(root).resolve()
    with _shared_lock:
        entry = _shared.get(root)
        store, refs = entry if entry else (MailStore(root, index_url), 0)
        _shared[root] = (store, refs + 1)
        return store


def release_store(root: Path) -> None:
    root = Path(root).resolve()
    with _shared_lock:
        entry = _shared.get(root)
        if entry is None:
            return
        store, refs = entry
        if refs <= 1:
            del _shared[root]
            store.close()
        else:
            _shared[root] = (store, refs - 1)
