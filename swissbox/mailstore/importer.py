"""Importing a Maildir from another server into a mailbox, idempotently (additive).

Folders: the Maildir's own cur/new is INBOX; Maildir++ subfolders (`.Sent`, `.Archive.2024`,
modified UTF-7 names) and plain subdirectories holding cur/ (mbsync's layout) become folders.
Flags come from the `:2,` info letters (and Dovecot keyword letters via `dovecot-keywords`),
the internal date from the file's mtime; line ends are normalised to CRLF. Each imported
source file is recorded (table `imported`: folder, source key), so a second run adds nothing,
even for messages deleted since.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swissbox.mailstore.durable import fsync_dir as _fsync_dir
from swissbox.mailstore.durable import place as _place
from swissbox.mailstore.meta import summarize
from swissbox.mailstore.paths import (
    INBOX,
    SEPARATOR,
    file_name,
    flags_from_info,
    folder_dir,
    new_key,
    split_name,
)
from swissbox.mailstore.query import refresh
from swissbox.mailstore.store import CHANGED, MailboxStore, NoSuchFolder

SCHEMA = """
CREATE TABLE IF NOT EXISTS imported (
    folder TEXT NOT NULL,
    source_key TEXT NOT NULL,
    PRIMARY KEY (folder, source_key)
) WITHOUT ROWID;
"""
BATCH = 500


@dataclass
class ImportResult:
    folders: int = 0
    added: int = 0
    skipped: int = 0


def source_folders(root: Path) -> Iterator[tuple[str, Path]]:
    """(folder name, Maildir path) pairs found under `root`."""
    if (root / "cur").is_dir() or (root / "new").is_dir():
        yield INBOX, root
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if not entry.is_dir() or entry.name in ("cur", "new", "tmp"):
            continue
        path = Path(entry.path)
        if entry.name.startswith("."):
            if entry.name in (".", "..") or not (path / "cur").is_dir():
                continue
            name = SEPARATOR.join(decode_mutf7(p) for p in entry.name[1:].split("."))
            yield (INBOX if name.upper() == INBOX else name), path
        else:
            yield from _verbatim(path, entry.name)


def decode_mutf7(name: str, *, strict: bool = False) -> str:
    """Modified UTF-7 (RFC 3501 5.1.3) folder names, as IMAP clients send them and Dovecot
    writes them. A bad run is kept as it is, or raises ValueError when `strict`."""

    def repl(m: re.Match[str]) -> str:
        if not m.group(1):
            return "&"
        data = m.group(1).replace(",", "/")
        try:
            return base64.b64decode(data + "=" * (-len(data) % 4)).decode("utf-16-be")
        except ValueError:
            if strict:
                raise
            return m.group(0)

    return re.sub(r"&([A-Za-z0-9+,]*)-", repl, name)


def _verbatim(path: Path, name: str) -> Iterator[tuple[str, Path]]:
    if (path / "cur").is_dir():
        yield (INBOX if name.upper() == INBOX else name), path
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        if (
            entry.is_dir()
            and entry.name not in ("cur", "new", "tmp")
            and not entry.name.startswith(".")
        ):
            yield from _verbatim(Path(entry.path), name + SEPARATOR + entry.name)


def _keywords(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        for line in (path / "dovecot-keywords").read_text("utf-8", "replace").splitlines():
            idx, _, word = line.partition(" ")
            if idx.isdigit() and int(idx) < 26 and word:
                out[chr(ord("a") + int(idx))] = word
    except OSError:
        pass
    return out


def import_maildir(box: MailboxStore, root: Path) -> ImportResult:
    result = ImportResult()
    box.index.ensure_table("imported", SCHEMA)
    refresh(box)
    for name, src in source_folders(Path(root)):
        result.folders += 1
        try:
            box.folder(name)
        except NoSuchFolder:
            box.create_folder(name)
        with box.index.lock:
            done = {
                r[0]
                for r in box.index.conn.execute(
                    "SELECT source_key FROM imported WHERE folder = ?", (name,)
                )
            }
        keywords = _keywords(src)
        todo: list[tuple[float, str, str, Path]] = []
        for subdir in ("cur", "new"):
            if not (src / subdir).is_dir():
                continue
            for entry in os.scandir(src / subdir):
                if not entry.is_file() or entry.name.startswith("."):
                    continue
                key, info = split_name(entry.name)
                if key in done:
                    result.skipped += 1
                    continue
                todo.append((entry.stat().st_mtime, key, info, Path(entry.path)))
        todo.sort()
        for i in range(0, len(todo), BATCH):
            _import_batch(box, name, todo[i : i + BATCH], keywords)
            result.added += len(todo[i : i + BATCH])
    return result


@dataclass
class NewMessage:
    raw: bytes  # CRLF line ends
    flags: frozenset[str]
    internaldate: float
    recent: bool = True  # lands in new/ (when it has no flags)


def add_messages(
    box: MailboxStore,
    folder: str,
    messages: list[NewMessage],
    also: Callable[[Any], None] | None = None,
) -> list[int]:
    """Writes the messages durably into `folder` and indexes them in one transaction (with
    `also(conn)` run inside it); returns their UIDs. For bulk paths (import, restore) that
    need no arrival events: one directory fsync per batch instead of one per message."""
    info = box.folder(folder)
    fdir = folder_dir(box.path, info.name)
    placed = []
    for m in messages:
        key = new_key(len(m.raw))
        subdir = "new" if m.recent and not m.flags else "cur"
        name = file_name(key, m.flags, subdir)
        _place(m.raw, fdir / "tmp" / key, fdir / subdir / name, m.internaldate)
        placed.append((key, subdir, name, m.flags, int(m.internaldate), summarize(m.raw)))
    for sub in ("cur", "new"):
        _fsync_dir(fdir / sub)
    with box.index.transaction() as conn:
        first, modseq = box.index.bump(info.id, len(placed))
        box.index.insert_many(info.id, first, modseq, placed)
        if also is not None:
            also(conn)
    box.forget_usage()
    box.store.publish(box.address, info.name, CHANGED)
    return list(range(first, first + len(placed)))


def _import_batch(
    box: MailboxStore,
    folder: str,
    batch: list[tuple[float, str, str, Path]],
    keywords: dict[str, str],
) -> None:
    messages = []
    for mtime, _source_key, letters, path in batch:
        raw = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        flags = flags_from_info(letters) | {keywords[c] for c in letters if c in keywords}
        recent = path.parent.name == "new"  # kept as it was: new/ stays new/
        messages.append(NewMessage(raw, frozenset(flags), mtime, recent))

    def record(conn: Any) -> None:
        conn.executemany(
            "INSERT INTO imported (folder, source_key) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(folder, source_key) for _m, source_key, _l, _p in batch],
        )

    add_messages(box, folder, messages, record)
