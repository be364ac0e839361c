"""`swissbox backup DEST`, `swissbox backup verify SRC` and `swissbox restore SRC --data DIR`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from swissbox.backup.plan import human
from swissbox.backup.repository import BackupError, Repository
from swissbox.backup.restore import restore
from swissbox.backup.snapshot import take_backup
from swissbox.backup.verify import verify
from swissbox.cliutil import CliEnv, CommandError

VERIFY = "verify"
BACKUP_USAGE = (
    "swissbox backup DEST [--data DIR]\n       swissbox backup verify SRC [--snapshot ID]"
)


def cmd_backup(args: argparse.Namespace, env: CliEnv) -> int:
    target: list[str] = args.target
    if len(target) == 2 and target[0] == VERIFY:
        return _verify(Path(target[1]), args.snapshot, env)
    if len(target) != 1 or target[0] == VERIFY:
        raise CommandError(f"usage: {BACKUP_USAGE} (a folder named 'verify': ./verify)")
    if args.snapshot:
        raise CommandError("--snapshot goes with `backup verify` and `restore`")
    try:
        result = take_backup(env.config, Path(target[0]))
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    m, t = result.manifest, result.tally
    rows = {
        "snapshot": m.id,
        "backup": str(Path(target[0]).resolve()),
        "directory": m.directory,
        "files": t.files,
        "bytes": t.bytes,
        "messages_written": t.messages_written,
        "others_written": t.others_written,
        "reused": t.reused,
        "bytes_written": t.bytes_written,
        "notes": m.notes,
    }
    lines = [
        f"snapshot {m.id} in {rows['backup']}: {t.files} files, {human(t.bytes)}",
        f"  written: {t.messages_written} message files, {t.others_written} other files"
        f" ({human(t.bytes_written)}); unchanged since an earlier snapshot: {t.reused}",
        *(f"  note: {n}" for n in m.notes),
    ]
    env.emit(rows, "\n".join(lines))
    return 0


def _verify(source: Path, snapshot: str | None, env: CliEnv) -> int:
    try:
        report = verify(Repository.open(source), snapshot)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    rows = {
        "snapshots": report.snapshots,
        "objects": report.objects,
        "bytes": report.bytes,
        "problems": [str(p) for p in report.problems],
        "damaged_objects": report.damaged_objects,
    }
    text = "\n".join(
        [
            f"{source}: {len(report.snapshots)} snapshot(s), {report.objects} objects"
            f" ({human(report.bytes)}) read and checked",
            *(f"  {p}" for p in report.problems),
        ]
    )
    env.emit(rows, text)
    if report.problems:
        hint = ""
        if report.damaged_objects:
            hint = (
                "; delete the damaged objects (--json lists them) and run `swissbox backup`:"
                " it stores those files again if the data folder still has them"
            )
        raise CommandError(f"{len(report.problems)} problem(s) in {source}{hint}")
    return 0


def cmd_restore(args: argparse.Namespace, env: CliEnv) -> int:
    target = env.config.data_dir
    try:
        result = restore(Repository.open(Path(args.source)), target, args.snapshot, args.force)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    m = result.manifest
    lines = [f"restored snapshot {m.id} ({len(m.entries)} files, {human(m.size)}) into {target}"]
    if result.moved_aside:
        lines.append(f"  what {target} held before is now in {result.moved_aside}")
    lines += [f"  note: {n}" for n in result.notes]
    lines.append(f"  start it with: swissbox serve --data {target}")
    rows = {
        "snapshot": m.id,
        "data": str(target),
        "files": len(m.entries),
        "moved_aside": str(result.moved_aside or ""),
        "notes": result.notes,
    }
    env.emit(rows, "\n".join(lines))
    return 0


def add_commands(sub: Any, common: argparse.ArgumentParser, groups: dict[str, Any]) -> None:
    p = sub.add_parser(
        "backup",
        parents=[common],
        usage=BACKUP_USAGE,
        help="snapshot the data folder into DEST while serving (incremental); backup verify SRC",
        description="A consistent snapshot of the data folder, taken while `serve` runs, added"
        " to the backup folder DEST (files already there are not copied again). `backup verify"
        " SRC` reads every file of every snapshot and checks its SHA-256.",
    )
    p.add_argument("target", nargs="+", metavar="DEST", help="backup folder (or: verify SRC)")
    p.add_argument("--snapshot", metavar="ID", help="verify only this snapshot")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser(
        "restore",
        parents=[common],
        help="rebuild the data folder (--data DIR) from a backup; serve starts from it",
        description="Restores the newest snapshot (or --snapshot ID) of backup folder SRC into"
        " the data folder, checking every file. Stop `serve` on that folder first.",
    )
    p.add_argument("source", metavar="SRC", help="backup folder")
    p.add_argument("--snapshot", metavar="ID", help="this snapshot instead of the newest")
    p.add_argument(
        "--force",
        action="store_true",
        help="the data folder is not empty: move what it holds aside (DIR.replaced-<time>)",
    )
    p.set_defaults(func=cmd_restore)
