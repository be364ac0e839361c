"""The backup folder: content-addressed objects plus one manifest per snapshot.

    DEST/swissbox-backup.json        marker (format)
    DEST/objects/ab/ab12…            a file's bytes, named by their SHA-256; written once
    DEST/snapshots/<id>.json         manifest; <id>.sha256 is the manifest's own checksum
    DEST/tmp/                        files being written (left over only by a crash)

Objects are written to `tmp/`, fsynced and renamed into place; the manifest is written last,
so a snapshot exists only once everything it names is durable. An object already present
is not written again: that is what makes every backup after the first incremental.

Why content-addressed rather than hard links to the previous snapshot's tree: a flag change
renames a message file (`new/KEY` -> `cur/KEY:2,S`), so a tree linked by path would copy it
again, while its bytes — hence its object — are unchanged; objects need no hard links, so
the folder survives rsync without -H, restic, borg and file systems without links, and may
live on another file system than the previous snapshot; one message delivered to several
mailboxes, or copied by IMAP, is one object; an object's name is its checksum, so verify
needs nothing else, and a damaged object deleted is written again by the next backup for
every snapshot that needs it. The cost: a snapshot is read through its manifest (restore),
not browsed as a tree, and objects no manifest names are not yet removed (no prune).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from swissbox.backup.manifest import FORMAT, Manifest, ManifestError, parse
from swissbox.mailstore.durable import fsync_dir

MARKER = "swissbox-backup.json"
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup that cannot be made, read or restored; the message says why."""


def file_sha256(path: Path) -> tuple[str, int]:
    """(SHA-256, size) of a file's bytes, read in chunks."""
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
        return digest.hexdigest(), f.tell()


def copy_hashing(src: Path, dst: Path, mode: int = 0o600) -> tuple[str, int]:
    """Copies `src` to a new file `dst` (fsynced); returns the SHA-256 and size of what was
    written."""
    digest = hashlib.sha256()
    size = 0
    with src.open("rb") as f:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    return digest.hexdigest(), size


class Repository:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.snapshots = root / "snapshots"
        self.tmp = root / "tmp"
        self._dirty: set[Path] = set()
        self._adopting = threading.Lock()  # objects are stored from several threads

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path) -> Repository:
        """The backup folder at `root`, made if missing; refused if it holds anything else."""
        marker = root / MARKER
        if root.exists() and not marker.exists() and (not root.is_dir() or any(root.iterdir())):
            raise BackupError(
                f"{root} is not empty and is not a swissbox backup folder: give a new"
                " or empty folder (or an earlier backup of this server)"
            )
        repo = cls(root)
        for folder in (root, repo.objects, repo.snapshots, repo.tmp):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not marker.exists():
            tmp = repo.tmp / MARKER
            tmp.write_text(json.dumps({"format": FORMAT, "kind": "swissbox backup"}) + "\n")
            os.replace(tmp, marker)
            fsync_dir(root)
        repo._check_format()
        return repo

    @classmethod
    def open(cls, root: Path) -> Repository:
        """An existing backup folder (for verify and restore)."""
        if not (root / MARKER).is_file():
            raise BackupError(f"{root} is not a swissbox backup folder (no {MARKER} in it)")
        repo = cls(root)
        repo._check_format()
        return repo

    def _check_format(self) -> None:
        try:
            found = json.loads((self.root / MARKER).read_text()).get("format")
        except (OSError, ValueError, AttributeError) as exc:
            raise BackupError(f"{self.root / MARKER} is damaged ({exc})") from None
        if found != FORMAT:
            raise BackupError(
                f"{self.root} has backup format {found!r}; this swissbox reads {FORMAT}"
            )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """One backup at a time into this folder."""
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BackupError(f"another backup is writing to {self.root}") from None
            shutil.rmtree(self.tmp, ignore_errors=True)  # a crashed backup's leftovers
            self.tmp.mkdir(mode=0o700, exist_ok=True)
            yield
        finally:
            os.close(fd)

    # -- objects -------------------------------------------------------------------------

    def object_path(self, sha256: str) -> Path:
        return self.objects / sha256[:2] / sha256

    def has(self, sha256: str, size: int) -> bool:
        try:
            return self.object_path(sha256).stat().st_size == size
        except FileNotFoundError:
            return False

    def temp_path(self, hint: str = "") -> Path:
        return self.tmp / f"{secrets.token_hex(8)}{hint}"

    def store_file(self, src: Path) -> tuple[str, int, bool]:
        """(SHA-256, size, written) of `src` as an object; its bytes are copied only when no
        object has them yet."""
        sha, size = file_sha256(src)
        if self.has(sha, size):
            return sha, size, False
        tmp = self.temp_path()
        sha, size = copy_hashing(src, tmp)  # the bytes as copied, should the file have changed
        return sha, size, self.adopt(tmp, sha, size)

    def adopt(self, tmp: Path, sha256: str, size: int) -> bool:
        """Moves the fsynced file `tmp` into place as object `sha256`; False (and `tmp`
        removed) when the object was there already."""
        with self._adopting:
            if self.has(sha256, size):
                tmp.unlink()
                return False
            target = self.object_path(sha256)
            if not target.parent.is_dir():
                target.parent.mkdir(mode=0o700)
                self._dirty.add(self.objects)
            os.replace(tmp, target)
            self._dirty.add(target.parent)
            return True

    def store_new_file(self, tmp: Path) -> tuple[str, int, bool]:
        """A file written into `tmp/` by the backup itself (a database copy) as an object."""
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        sha, size = file_sha256(tmp)
        return sha, size, self.adopt(tmp, sha, size)

    # -- snapshots -----------------------------------------------------------------------

    def snapshot_ids(self) -> list[str]:
        return sorted(p.stem for p in self.snapshots.glob("*.json"))

    def write_manifest(self, manifest: Manifest) -> None:
        """Makes every object durable, then the manifest (last: it is what makes the
        snapshot exist)."""
        for folder in sorted(self._dirty):
            fsync_dir(folder)
        self._dirty.clear()
        data = manifest.to_bytes()
        digest = hashlib.sha256(data).hexdigest()
        for name, content in (
            (f"{manifest.id}.sha256", f"{digest}\n".encode()),
            (f"{manifest.id}.json", data),
        ):
            tmp = self.temp_path()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, content)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.snapshots / name)
        fsync_dir(self.snapshots)

    def read_manifest(self, snapshot_id: str) -> Manifest:
        """The manifest, checked against its checksum; BackupError says what is wrong."""
        path = self.snapshots / f"{snapshot_id}.json"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BackupError(f"no snapshot {snapshot_id!r} in {self.root}") from None
        try:
            expected = (self.snapshots / f"{snapshot_id}.sha256").read_text().strip()
        except FileNotFoundError:
            raise BackupError(f"snapshot {snapshot_id}: its checksum file is missing") from None
        found = hashlib.sha256(data).hexdigest()
        if found != expected:
            raise BackupError(
                f"snapshot {snapshot_id}: its manifest is damaged (sha256 {found[:12]}…,"
                f" expected {expected[:12]}…)"
            )
        try:
            return parse(data)
        except ManifestError as exc:
            raise BackupError(f"snapshot {snapshot_id}: {exc}") from None

    def latest(self) -> Manifest | None:
        """The newest readable snapshot, or None."""
        for snapshot_id in reversed(self.snapshot_ids()):
            try:
                return self.read_manifest(snapshot_id)
            except BackupError:
                continue
        return None
