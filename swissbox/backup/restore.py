"""`swissbox restore SRC --data DIR`: a data folder rebuilt from a snapshot, that `serve` starts from.

Everything is written into a new folder beside DIR, each file checked against its SHA-256 as
it is copied; only when every file is there and right does that folder become DIR (one
rename). A damaged backup leaves DIR untouched and says what is wrong. A DIR that holds
anything is refused unless `force`, and then moved aside (DIR.replaced-<time>), not deleted.
"""

from __future__ import annotations

import concurrent.futures
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from swissbox.backup.manifest import DIRECTORY_POSTGRESQL, OUTSIDE, Entry, Manifest
from swissbox.backup.plan import inside
from swissbox.backup.repository import BackupError, Repository, copy_hashing
from swissbox.mailstore.durable import fsync_dir

SHOWN_PROBLEMS = 10
IO_THREADS = 8


@dataclass
class RestoreResult:
    manifest: Manifest
    target: Path
    moved_aside: Path | None = None
    notes: list[str] = field(default_factory=list)


def _pick(repo: Repository, snapshot_id: str | None) -> Manifest:
    if snapshot_id:
        return repo.read_manifest(snapshot_id)
    ids = repo.snapshot_ids()
    if not ids:
        raise BackupError(f"no snapshot in {repo.root}: nothing to restore")
    return repo.read_manifest(ids[-1])  # the newest; a damaged one is refused, not skipped


def _check_target(repo: Repository, target: Path, force: bool) -> bool:
    """Whether `target` holds anything (then `force` is needed)."""
    if inside(target, repo.root) or inside(repo.root, target):
        raise BackupError(f"restore {repo.root} into a folder apart from it, not {target}")
    if not target.exists():
        return False
    if not target.is_dir():
        raise BackupError(f"{target} is not a folder")
    if not any(target.iterdir()):
        return False
    if not force:
        raise BackupError(
            f"{target} is not empty: restore into a new or empty folder, or give --force"
            f" to move what it holds aside (to {target.name}.replaced-<time>)"
        )
    return True


def _write_file(repo: Repository, e: Entry, dst: Path) -> str | None:
    """One file from its object, checked as it is copied; the problem, or None."""
    try:
        sha, size = copy_hashing(repo.object_path(e.sha256), dst, 0o600)
    except FileNotFoundError:
        return f"{e.path}: object {e.sha256[:16]}… is missing"
    if sha != e.sha256 or size != e.size:
        return f"{e.path}: object {e.sha256[:16]}… is damaged"
    os.chmod(dst, e.mode)
    os.utime(dst, (e.mtime, e.mtime))
    return None


def _write(repo: Repository, manifest: Manifest, staging: Path) -> list[str]:
    """Writes every folder and file of the snapshot below `staging` (files by IO_THREADS at
    once: each is fsynced); returns the problems."""
    for d in manifest.dirs:
        (staging / d.path).mkdir(parents=True, exist_ok=True, mode=0o700)
    for parent in {(staging / e.path).parent for e in manifest.entries}:
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with concurrent.futures.ThreadPoolExecutor(IO_THREADS, "restore-io") as pool:
        found = pool.map(lambda e: _write_file(repo, e, staging / e.path), manifest.entries)
        problems = [p for p in found if p is not None]
    # Folder modes last (a read-only folder could not have been filled), deepest first.
    for d in sorted(manifest.dirs, key=lambda d: d.path.count("/"), reverse=True):
        os.chmod(staging / d.path, d.mode)
    return problems


def _sync_tree(root: Path) -> None:
    for folder, _dirs, _files in os.walk(root):
        fsync_dir(Path(folder))


def restore(
    repo: Repository, target: Path, snapshot_id: str | None = None, force: bool = False
) -> RestoreResult:
    """Rebuilds the data folder `target` from a snapshot (the newest unless named)."""
    target = target.resolve()
    manifest = _pick(repo, snapshot_id)
    occupied = _check_target(repo, target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.restoring-{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    try:
        problems = _write(repo, manifest, staging)
        if problems:
            shown = "\n  ".join(problems[:SHOWN_PROBLEMS])
            more = len(problems) - SHOWN_PROBLEMS
            raise BackupError(
                f"snapshot {manifest.id} in {repo.root} is damaged; nothing was restored:\n  {shown}"
                + (f"\n  … and {more} more" if more > 0 else "")
                + f"\n  (`swissbox backup verify {repo.root}` lists every problem)"
            )
        _sync_tree(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    result = RestoreResult(manifest, target)
    if occupied:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        result.moved_aside = target.parent / f"{target.name}.replaced-{stamp}"
        os.rename(target, result.moved_aside)
    elif target.exists():
        target.rmdir()
    os.rename(staging, target)
    fsync_dir(target.parent)
    if manifest.directory == DIRECTORY_POSTGRESQL:
        result.notes.append(
            "the directory was in PostgreSQL ([store] url in swissbox.toml): restore it from"
            " your pg_dump (pg_restore or psql) before `swissbox serve`"
        )
    for e in manifest.entries:
        if e.kind == OUTSIDE:
            result.notes.append(
                f"{e.origin} was outside the data folder: restored as {target / e.path};"
                " put it back there or change the configuration"
            )
    return result
