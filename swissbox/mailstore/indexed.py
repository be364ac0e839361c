"""The files a mailbox index refers to, read from any connection to it (for backups).

Read-only towards the live mail store: the functions take a connection (usually to a copy of
an index) and a mailbox folder, list what the rows name — message files per folder, retained
expunged files — and find a message file whose name changed since (a flag change renames
`new/KEY` to `cur/KEY:2,FS`; the key part never changes). `forget` edits only the connection
it is given.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from swissbox.mailstore.paths import INDEX_NAME, folder_dir, split_name
from swissbox.mailstore.retention import AREA

MAILDIR_SUBDIRS = ("cur", "new", "tmp")
MESSAGE, EXPUNGED = "message", "expunged"
__all__ = [
    "AREA",
    "EXPUNGED",
    "INDEX_NAME",
    "MAILDIR_SUBDIRS",
    "MESSAGE",
    "IndexedFile",
    "folder_dirs",
    "forget",
    "indexed_files",
    "locate",
    "mailbox_indexes",
]


@dataclass(frozen=True)
class IndexedFile:
    """One file an index row names. `folder` is the folder's directory relative to the
    mailbox ("" for INBOX, ".Sent", or the retention area); `name` is `subdir/filename`
    there; `row` identifies the row for `forget`."""

    kind: str  # MESSAGE | EXPUNGED
    folder: str
    name: str
    key: str
    row: tuple[int, int]  # (folder id, uid) of a message; (row id, 0) of an expunged file

    @property
    def relpath(self) -> str:
        return f"{self.folder}/{self.name}" if self.folder else self.name


def mailbox_indexes(root: Path) -> list[Path]:
    """Every mailbox index under the mail root (`<root>/<domain>/<local>/<index>`), sorted."""
    found: list[Path] = []
    if not root.is_dir():
        return found
    for domain in sorted(os.scandir(root), key=lambda e: e.name):
        if not domain.is_dir(follow_symlinks=False):
            continue
        for local in sorted(os.scandir(domain.path), key=lambda e: e.name):
            index = Path(local.path) / INDEX_NAME
            if local.is_dir(follow_symlinks=False) and index.is_file():
                found.append(index)
    return found


def _relative_dir(name: str) -> str:
    path = folder_dir(Path("."), name)
    return "" if path == Path(".") else path.as_posix()


def _has_table(conn: sqlite3.Connection, table: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return row is not None


def folder_dirs(conn: sqlite3.Connection) -> list[str]:
    """The directory of each folder in the index, relative to the mailbox ("" for INBOX)."""
    rows = conn.execute("SELECT name FROM folders ORDER BY name").fetchall()
    return [_relative_dir(name) for (name,) in rows]


def indexed_files(conn: sqlite3.Connection) -> list[IndexedFile]:
    """Every message file and retained expunged file the index names."""
    dirs = {fid: _relative_dir(name) for fid, name in conn.execute("SELECT id, name FROM folders")}
    out = [
        IndexedFile(MESSAGE, dirs[fid], f"{subdir}/{filename}", key, (fid, uid))
        for fid, uid, key, subdir, filename in conn.execute(
            "SELECT folder_id, uid, key, subdir, filename FROM messages ORDER BY folder_id, uid"
        )
        if fid in dirs
    ]
    if _has_table(conn, "expunged_messages"):
        out += [
            IndexedFile(EXPUNGED, AREA, key, key, (rid, 0))
            for rid, key in conn.execute("SELECT id, key FROM expunged_messages ORDER BY id")
        ]
    return out


def locate(mailbox: Path, file: IndexedFile, listing: dict[str, dict[str, Path]]) -> Path | None:
    """Where `file` is now: the name the row gives, else a file of the same folder with the
    same key (renamed by a flag change since). `listing` caches each folder's key -> path."""
    exact = mailbox / file.relpath
    if exact.is_file():
        return exact
    if file.kind != MESSAGE:
        return None
    keys = listing.get(file.folder)
    if keys is None:
        keys = listing[file.folder] = {}
        for subdir in ("new", "cur"):
            try:
                entries = list(os.scandir(mailbox / file.folder / subdir))
            except FileNotFoundError:
                continue
            for entry in entries:
                keys[split_name(entry.name)[0]] = Path(entry.path)
    return keys.get(file.key)


def forget(conn: sqlite3.Connection, files: Iterable[IndexedFile]) -> None:
    """Removes the rows of `files` (with what cascades from them) from the index behind
    `conn`: a copy whose files were gone by the time they were read."""
    files = list(files)
    conn.execute("PRAGMA foreign_keys=ON")
    with conn:
        conn.executemany(
            "DELETE FROM messages WHERE folder_id = ? AND uid = ?",
            [f.row for f in files if f.kind == MESSAGE],
        )
        expunged = [(f.row[0],) for f in files if f.kind == EXPUNGED]
        if expunged:
            conn.executemany("DELETE FROM expunged_messages WHERE id = ?", expunged)
