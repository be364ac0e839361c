"""A snapshot's manifest: every file of the data folder it holds, with its SHA-256 (pure).

Stored as `snapshots/<id>.json` in the backup folder, with `snapshots/<id>.sha256` holding
the manifest's own checksum, so a damaged manifest is told apart from a damaged file.
Paths are POSIX, relative to the data folder; `parse` refuses any that would leave it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

FORMAT = 1
DIRECTORY_SQLITE = "sqlite"
DIRECTORY_POSTGRESQL = "postgresql"

# Entry kinds: a message file named by a mail index (`key` set), a SQLite database copied
# with the online backup API, any other file. `outside` entries came from outside the data
# folder (a --config file, tls.cert/key elsewhere); `origin` says where.
MESSAGE, DATABASE, FILE, OUTSIDE = "message", "database", "file", "outside"


class ManifestError(ValueError):
    """A manifest that cannot be read, or names a path outside the data folder."""


@dataclass(frozen=True)
class Entry:
    path: str
    sha256: str
    size: int
    mode: int
    mtime: float
    kind: str = FILE
    key: str = ""  # message files: the Maildir key (stable across flag renames)
    origin: str = ""  # outside entries: the absolute path it was read from


@dataclass(frozen=True)
class Folder:
    path: str
    mode: int


@dataclass
class Manifest:
    id: str
    created: float
    source: str
    directory: str = DIRECTORY_SQLITE
    entries: list[Entry] = field(default_factory=list)
    dirs: list[Folder] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    format: int = FORMAT

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode() + b"\n"

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)


def new_id(existing: list[str], now: float | None = None) -> str:
    """The next snapshot's id, `000042-20260102T101500Z`: a sequence number first, so that
    the newest sorts last even if the clock went back, then the UTC time for people."""
    numbers = [int(i.split("-")[0]) for i in existing if i.split("-")[0].isdigit()]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return f"{max(numbers, default=0) + 1:06d}-{stamp}"


def safe_path(text: str) -> str:
    """`text` if it is a normalised relative POSIX path inside the data folder."""
    path = PurePosixPath(text)
    if (
        not text
        or path.is_absolute()
        or any(part in ("", ".", "..") for part in text.split("/"))
        or "\\" in text
        or "\x00" in text
    ):
        raise ManifestError(f"path {text!r} is not inside the data folder")
    return text


def _entry(raw: Any) -> Entry:
    entry = Entry(**raw)
    safe_path(entry.path)
    if len(entry.sha256) != 64 or any(c not in "0123456789abcdef" for c in entry.sha256):
        raise ManifestError(f"{entry.path}: {entry.sha256!r} is not a SHA-256")
    return entry


def parse(data: bytes) -> Manifest:
    """The manifest in `data`; ManifestError when it is not one this version reads."""
    try:
        raw = json.loads(data)
        if raw.get("format") != FORMAT:
            raise ManifestError(
                f"manifest format {raw.get('format')!r} (this swissbox reads {FORMAT})"
            )
        folders = [Folder(**d) for d in raw.pop("dirs")]
        for d in folders:
            safe_path(d.path)
        entries = [_entry(e) for e in raw.pop("entries")]
        return Manifest(**raw, entries=entries, dirs=folders)
    except ManifestError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ManifestError(f"not a readable manifest ({exc})") from None
