"""Backups of a running server: consistent snapshots, incremental, checked, restorable.

`snapshot.take_backup` (swissbox backup DEST), `verify.verify` (swissbox backup verify SRC),
`restore.restore` (swissbox restore SRC --data DIR); the backup folder's layout is in
`repository.py`, the consistency argument in `snapshot.py`.
"""

from swissbox.backup.repository import BackupError, Repository
from swissbox.backup.restore import RestoreResult, restore
from swissbox.backup.snapshot import BackupResult, take_backup
from swissbox.backup.verify import VerifyReport, verify

__all__ = [
    "BackupError",
    "BackupResult",
    "Repository",
    "RestoreResult",
    "VerifyReport",
    "restore",
    "take_backup",
    "verify",
]
