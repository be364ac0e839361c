"""`swissbox backup DEST`: a consistent snapshot of a data folder, taken while `serve` runs.

Order, and why a message is either wholly in the snapshot (file and index row) or absent:

1. The directory database first (SQLite online backup: one read transaction). This is the
   moment the snapshot begins.
2. Each mailbox: first a copy of its index (online backup again: the index as of one
   commit), then the files that copy names — and only those. A delivery writes, fsyncs and
   renames its file, fsyncs the folder, then commits the index row, and only then answers
   250. So a message acknowledged before step 1 has its row in the copy and its file on
   disk; a file without a row in the copy (placed but not yet committed, or delivered after
   the copy, or half-written in `tmp/`) is newer than the snapshot and is left out — the
   restored index never names it, and nothing unnamed is copied. Files are read after the
   copy, so each may have changed name meanwhile: a flag change renames `new/KEY` to
   `cur/KEY:2,FS` (the key part stays, the bytes never change), and the file is found by its
   key and stored under the name the copied row gives, with the flags the copied row has. A
   file that is gone entirely (expunged, moved, its folder renamed since the copy) makes the
   mailbox start again from a fresh copy of its index; after `MAX_ATTEMPTS` the rows whose
   files are gone are removed from the copy (as if expunged just before it) and noted.
3. DAV collections under Radicale's storage lock (shared: DAV writes wait, reads go on).
4. Everything else in the data folder: configuration, TLS keys, DKIM keys (`dkim/`; a
   key's file is written before its row is committed, so every key the directory copy of
   step 1 names is there, unless withdrawn during the backup), the outbound queue (files
   are renamed into place when complete; `tmp/` is skipped), and any other SQLite database,
   by the online backup API. A file that vanishes during the walk (a queued message
   delivered meanwhile) is left out.

Each mailbox, the directory and DAV are each consistent in themselves; between them the
snapshot spans the time the backup ran (a mailbox added meanwhile may have mail but no
directory entry; it is the state a crash at that moment would leave, which `serve` starts from).

Message files already in the previous snapshot are not read again (see `plan.message_cache`).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import sqlite3
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from swissbox.backup.manifest import (
    DATABASE,
    DIRECTORY_POSTGRESQL,
    FILE,
    MESSAGE,
    OUTSIDE,
    Entry,
    Folder,
    Manifest,
    new_id,
)
from swissbox.backup.plan import (
    COPY,
    DAV_DIR,
    DESCEND,
    DIRECTORY_DB,
    EMPTY_DIR,
    MAIL_DIR,
    SQLITE_MAGIC,
    Tally,
    destination_problem,
    inside,
    is_sqlite,
    message_cache,
    walk_action,
)
from swissbox.backup.repository import BackupError, Repository
from swissbox.backup.sqlite_copy import snapshot_database
from swissbox.conf import Config
from swissbox.mailstore.indexed import (
    AREA,
    EXPUNGED,
    INDEX_NAME,
    MAILDIR_SUBDIRS,
    IndexedFile,
    folder_dirs,
    forget,
    indexed_files,
    locate,
    mailbox_indexes,
)
from swissbox.tls import configured_paths

MAX_ATTEMPTS = 3
IO_THREADS = 8
RADICALE_LOCK = ".Radicale.lock"


@dataclass
class BackupResult:
    manifest: Manifest
    tally: Tally


def _mode(st: os.stat_result) -> int:
    return stat.S_IMODE(st.st_mode)


def _store(repo: Repository, src: Path | None) -> tuple[os.stat_result, str, int, bool] | None:
    """(stat, SHA-256, size, written) of `src` stored as an object; None if it is gone."""
    if src is None:
        return None
    try:
        st = os.stat(src)
        return (st, *repo.store_file(src))
    except FileNotFoundError:
        return None


class _Snapshot:
    """The snapshot being taken: entries, folders, notes, and what was written."""

    def __init__(
        self, repo: Repository, data: Path, manifest: Manifest, cache: dict[tuple[str, str], Entry]
    ) -> None:
        self.repo = repo
        self.data = data
        self.manifest = manifest
        self.cache = cache
        self.tally = Tally()
        self.pool = concurrent.futures.ThreadPoolExecutor(IO_THREADS, "backup-io")

    def _add(self, entry: Entry, written: bool) -> None:
        self.manifest.entries.append(entry)
        self.tally.add(entry, written)

    def _folder(self, rel: str, default: int = 0o700) -> None:
        try:
            mode = _mode(os.stat(self.data / rel))
        except FileNotFoundError:
            mode = default
        self.manifest.dirs.append(Folder(rel, mode))

    # -- single files --------------------------------------------------------------------

    def database(self, rel: str) -> None:
        src = self.data / rel
        st = os.stat(src)
        tmp = self.repo.temp_path(".db")
        snapshot_database(src, tmp)
        sha, size, written = self.repo.store_new_file(tmp)
        self._add(Entry(rel, sha, size, _mode(st), st.st_mtime, DATABASE), written)

    def file(self, rel: str, src: Path | None = None, kind: str = FILE) -> bool:
        """Stores one file; False when it vanished before it could be read."""
        found = _store(self.repo, src or self.data / rel)
        if found is None:
            return False
        st, sha, size, written = found
        self._add(Entry(rel, sha, size, _mode(st), st.st_mtime, kind), written)
        return True

    # -- walks ---------------------------------------------------------------------------

    def walk(self, rel: str, skip: frozenset[str] = frozenset()) -> None:
        """A folder of the data folder ("" for itself) by `walk_action`, databases by the
        online backup; paths in `skip` are left out."""
        if rel:
            self._folder(rel)
        try:
            entries = sorted(os.scandir(self.data / rel), key=lambda e: e.name)
        except FileNotFoundError:
            return
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_symlink() or child in skip:
                continue
            action = walk_action(child, entry.is_dir())
            if action == DESCEND:
                self.walk(child)
            elif action == EMPTY_DIR:
                self._folder(child)
            elif action == COPY and entry.is_file():
                try:
                    with open(entry.path, "rb") as f:
                        header = f.read(len(SQLITE_MAGIC))
                except FileNotFoundError:
                    continue
                if is_sqlite(header):
                    self.database(child)
                else:
                    self.file(child)

    def dav(self) -> None:
        """DAV collections under Radicale's storage lock (its writers wait meanwhile)."""
        if not (self.data / DAV_DIR).is_dir():
            return
        from radicale import pathutils

        lock = pathutils.RwLock(str(self.data / DAV_DIR / RADICALE_LOCK))
        with lock.acquire("r"):
            self.walk(DAV_DIR)

    def rest(self) -> None:
        """Everything but mail/ and dav/ (their own rules) and the directory (taken first)."""
        self.walk("", skip=frozenset((MAIL_DIR, DAV_DIR, DIRECTORY_DB)))

    # -- mail ----------------------------------------------------------------------------

    def mail(self) -> None:
        root = self.data / MAIL_DIR
        if not root.is_dir():
            return
        self._folder(MAIL_DIR)
        domains: set[str] = set()
        for index in mailbox_indexes(root):
            mailbox = index.parent
            rel = mailbox.relative_to(self.data).as_posix()
            domain = mailbox.parent.relative_to(self.data).as_posix()
            if domain not in domains:
                domains.add(domain)
                self._folder(domain)
            self.mailbox(mailbox, rel)

    def mailbox(self, mailbox: Path, rel: str) -> None:
        """One mailbox: a copy of its index, then the files it names (module docstring)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            tmp = self.repo.temp_path(".db")
            snapshot_database(mailbox / INDEX_NAME, tmp)
            conn = sqlite3.connect(str(tmp))
            try:
                files = indexed_files(conn)
                dirs = folder_dirs(conn)
                entries, missing = self._mail_files(mailbox, rel, files)
                if missing and attempt == MAX_ATTEMPTS:
                    forget(conn, missing)
                    self.manifest.notes.append(
                        f"{rel}: {len(missing)} message file(s) went away during the backup"
                        " (expunged or moved meanwhile); left out"
                    )
            finally:
                conn.close()
            if not missing or attempt == MAX_ATTEMPTS:
                break
            tmp.unlink()  # something moved under us: start again from a fresh copy
        self._folder(rel)
        for folder in dirs:
            top = f"{rel}/{folder}" if folder else rel
            if folder:
                self._folder(top)
            for sub in MAILDIR_SUBDIRS:
                self._folder(f"{top}/{sub}")
        if any(f.kind == EXPUNGED for f in files):
            self._folder(f"{rel}/{AREA}")
        for entry, written in entries:
            self._add(entry, written)
        st = os.stat(mailbox / INDEX_NAME)
        sha, size, written = self.repo.store_new_file(tmp)
        self._add(
            Entry(f"{rel}/{INDEX_NAME}", sha, size, _mode(st), st.st_mtime, DATABASE), written
        )

    def _mail_files(
        self, mailbox: Path, rel: str, files: list[IndexedFile]
    ) -> tuple[list[tuple[Entry, bool]], list[IndexedFile]]:
        """Stores the files an index copy names; returns (entries, files not found).
        Files not known from an earlier snapshot are copied by IO_THREADS at once (each
        object is fsynced: the disk waits, not the GIL)."""
        entries: dict[int, tuple[Entry, bool]] = {}
        listing: dict[str, dict[str, Path]] = {}
        todo: list[tuple[int, IndexedFile, Path | None]] = []
        for i, f in enumerate(files):
            cached = self.cache.get((rel, f.key))
            if cached is not None and self.repo.has(cached.sha256, cached.size):
                entry = dataclasses.replace(cached, path=f"{rel}/{f.relpath}", key=f.key)
                entries[i] = (entry, False)
            else:
                todo.append((i, f, locate(mailbox, f, listing)))
        retry: list[tuple[int, IndexedFile]] = []
        stored = self.pool.map(lambda job: _store(self.repo, job[2]), todo)
        for (i, f, _src), result in zip(todo, stored, strict=True):
            if result is None:
                retry.append((i, f))
            else:
                entries[i] = (self._message(rel, f, *result), result[-1])
        missing: list[IndexedFile] = []
        listing.clear()  # renamed between the look and the read: look again, once
        for i, f in retry:
            result = _store(self.repo, locate(mailbox, f, listing))
            if result is None:
                missing.append(f)
            else:
                entries[i] = (self._message(rel, f, *result), result[-1])
        return [entries[i] for i in sorted(entries)], missing

    def _message(
        self, rel: str, f: IndexedFile, st: os.stat_result, sha: str, size: int, written: bool
    ) -> Entry:
        entry = Entry(f"{rel}/{f.relpath}", sha, size, _mode(st), st.st_mtime, MESSAGE, f.key)
        self.cache[(rel, f.key)] = entry
        return entry

    def take(self, config: Config) -> None:
        """The four steps, in the order of the module docstring."""
        if config.settings.store.url:
            self.manifest.directory = DIRECTORY_POSTGRESQL
            self.manifest.notes.append(
                "the directory (organizations, accounts, mailboxes, zones) is in PostgreSQL"
                " ([store] url): back it up with pg_dump; everything else is in this snapshot"
            )
        elif (self.data / DIRECTORY_DB).is_file():
            self.database(DIRECTORY_DB)  # first: the moment the snapshot begins
        blobs = config.blob_root.resolve()
        if not inside(blobs, self.data):
            self.manifest.notes.append(
                f"mail, the outbound queue and DKIM keys are under [store] blob_path ({blobs}),"
                " which several front ends share: back it up with that filesystem's snapshots"
            )
        self.mail()
        self.dav()
        self.rest()
        self.outside(config)

    # -- outside the data folder ---------------------------------------------------------

    def outside(self, config: Config) -> None:
        """A --config file and tls.cert/key kept outside the data folder."""
        wanted = [Path(config.config_path)] if config.config_path else []
        if config.settings.tls.cert:
            paths = configured_paths(config)
            wanted += [paths.cert, paths.key]
        seen: set[Path] = set()
        for i, path in enumerate(wanted):
            path = path.resolve()
            if path in seen or inside(path, self.data):
                continue
            seen.add(path)
            if not self.file(f"outside/{i}-{path.name}", src=path, kind=OUTSIDE):
                raise BackupError(f"{path} (named in the configuration) cannot be read")
            last = self.manifest.entries[-1]
            self.manifest.entries[-1] = dataclasses.replace(last, origin=str(path))


def take_backup(config: Config, dest: Path) -> BackupResult:
    """Adds a snapshot of `config`'s data folder to the backup folder `dest`."""
    data = config.data_dir.resolve()
    if not config.initialized or not data.is_dir():
        raise BackupError(f"no swissbox data in {data}: nothing to back up")
    dest = dest.resolve()
    problem = destination_problem(data, dest)
    if problem:
        raise BackupError(problem)
    repo = Repository.create(dest)
    with repo.lock():
        previous = repo.latest()
        manifest = Manifest(new_id(repo.snapshot_ids()), time.time(), str(data))
        snap = _Snapshot(repo, data, manifest, message_cache(previous))
        try:
            snap.take(config)
        finally:
            snap.pool.shutdown()
        repo.write_manifest(manifest)
    return BackupResult(manifest, snap.tally)
