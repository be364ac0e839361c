"""`swissbox backup verify SRC`: every manifest against its checksum, every object it names
read whole and hashed; each problem names the snapshot and the data-folder path it damages."""

from __future__ import annotations

from dataclasses import dataclass, field

from swissbox.backup.plan import objects_of
from swissbox.backup.repository import BackupError, Repository, file_sha256


@dataclass(frozen=True)
class Problem:
    snapshot: str
    path: str  # the data-folder path, or "" for the snapshot itself
    what: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"snapshot {self.snapshot}: {where}{self.what}"


@dataclass
class VerifyReport:
    snapshots: list[str] = field(default_factory=list)
    objects: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)
    damaged_objects: list[str] = field(default_factory=list)  # paths of objects to delete


def verify(repo: Repository, snapshot_id: str | None = None) -> VerifyReport:
    """Checks one snapshot (or all); never raises for damage, reports it."""
    report = VerifyReport()
    ids = [snapshot_id] if snapshot_id else repo.snapshot_ids()
    if not ids:
        report.problems.append(Problem("-", "", f"no snapshot in {repo.root}"))
        return report
    manifests = []
    for sid in ids:
        try:
            manifests.append(repo.read_manifest(sid))
        except BackupError as exc:
            report.problems.append(Problem(sid, "", str(exc).removeprefix(f"snapshot {sid}: ")))
        report.snapshots.append(sid)
    for sha, users in sorted(objects_of(manifests).items()):
        path = repo.object_path(sha)
        expected_size = users[0][1].size
        try:
            found, size = file_sha256(path)
        except FileNotFoundError:
            what = f"object {sha[:16]}… is missing"
            report.problems += [Problem(sid, e.path, what) for sid, e in users]
            continue
        except OSError as exc:
            what = f"object {sha[:16]}… cannot be read ({exc.strerror})"
            report.problems += [Problem(sid, e.path, what) for sid, e in users]
            continue
        report.objects += 1
        report.bytes += size
        if found != sha or size != expected_size:
            what = (
                f"object {sha[:16]}… is damaged (its bytes now hash to {found[:16]}…,"
                f" {size} bytes; {expected_size} expected)"
            )
            report.problems += [Problem(sid, e.path, what) for sid, e in users]
            report.damaged_objects.append(str(path))
    return report
