"""A consistent copy of a SQLite database that another process may be writing (online backup API).

The copy is one read transaction of the source: every commit before it, none after. Writers
go on meanwhile (the databases are in WAL mode, a reader blocks no one). The copy is left in
rollback-journal mode, a single self-contained file; the server turns WAL back on at open.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT = 30.0


def snapshot_database(src: Path, dst: Path) -> None:
    """Writes a consistent copy of database `src` to the new file `dst`."""
    source = sqlite3.connect(str(src), timeout=BUSY_TIMEOUT)
    try:
        target = sqlite3.connect(str(dst))
        try:
            source.backup(target)  # all pages in one step: one read transaction
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
    finally:
        source.close()
