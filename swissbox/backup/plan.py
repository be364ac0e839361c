"""What a backup takes and what it may skip, decided on paths alone (pure).

The data folder is walked in three parts (see `snapshot.py` for the order and why):
`mail/` (only what the mailbox indexes name), `dav/` (under Radicale's lock) and the rest.
`walk_action` says, for one path of the walk, whether to copy it, go into it, keep only the
folder, or skip it: SQLite journals (the online backup copies a database whole), temporary
files of an unfinished write, Radicale's lock and caches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from swissbox.backup.manifest import MESSAGE, Entry, Manifest

MAIL_DIR = "mail"
DAV_DIR = "dav"
QUEUE_DIR = "queue"
DIRECTORY_DB = "swissbox.db"
SQLITE_MAGIC = b"SQLite format 3\x00"

COPY, DESCEND, EMPTY_DIR, SKIP = "copy", "descend", "empty-dir", "skip"

_SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
_RADICALE_SKIP = (".Radicale.lock", ".Radicale.cache")


def walk_action(rel: str, is_dir: bool) -> str:
    """For a path of the data folder (POSIX, relative) met by the walk of "the rest" or of
    `dav/`: COPY a file, DESCEND into a folder, keep an EMPTY_DIR, or SKIP."""
    parts = rel.split("/")
    name = parts[-1]
    if name in _RADICALE_SKIP or name.startswith(".Radicale.tmp"):
        return SKIP
    if is_dir:
        if len(parts) == 1 and name == MAIL_DIR:
            return SKIP  # taken from the mailbox indexes
        if name == "tmp" and parts[0] == QUEUE_DIR:
            return EMPTY_DIR  # files being written: not queued yet
        return DESCEND
    if name.endswith(_SQLITE_SIDECARS) or name.endswith(".tmp"):
        return SKIP
    return COPY


def is_sqlite(header: bytes) -> bool:
    return header.startswith(SQLITE_MAGIC)


def inside(path: Path, folder: Path) -> bool:
    """Whether resolved `path` is `folder` or below it."""
    return path == folder or folder in path.parents


def destination_problem(data: Path, dest: Path) -> str | None:
    """Why `dest` (resolved) cannot hold backups of `data` (resolved), or None."""
    if inside(dest, data):
        return f"{dest} is inside the data folder {data}: give a folder outside it"
    if inside(data, dest):
        return f"the data folder {data} is inside {dest}: give a folder of its own"
    return None


def mailbox_of(path: str) -> str:
    """`mail/<domain>/<local>` of a path in a mailbox."""
    return "/".join(path.split("/")[:3])


def message_cache(previous: Manifest | None) -> dict[tuple[str, str], Entry]:
    """Message files of the previous snapshot by (mailbox, Maildir key). A message file
    never changes once written (flag changes rename it; the key stays), so a key met again
    is the same bytes: its object is reused without reading the file."""
    if previous is None:
        return {}
    return {(mailbox_of(e.path), e.key): e for e in previous.entries if e.kind == MESSAGE}


@dataclass
class Tally:
    """What one backup wrote: new objects (message files apart) and what it reused."""

    files: int = 0
    bytes: int = 0
    messages_written: int = 0
    others_written: int = 0
    reused: int = 0
    bytes_written: int = 0

    def add(self, entry: Entry, written: bool) -> None:
        self.files += 1
        self.bytes += entry.size
        if not written:
            self.reused += 1
            return
        self.bytes_written += entry.size
        if entry.kind == MESSAGE:
            self.messages_written += 1
        else:
            self.others_written += 1


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover - the loop returns first


def objects_of(manifests: Iterable[Manifest]) -> dict[str, list[tuple[str, Entry]]]:
    """Each object's SHA-256 -> the (snapshot id, entry) that need it: `verify` reads
    every object once and reports every path it damages."""
    needed: dict[str, list[tuple[str, Entry]]] = {}
    for m in manifests:
        for e in m.entries:
            needed.setdefault(e.sha256, []).append((m.id, e))
    return needed
