"""The index of one mailbox: folders (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) and messages.

One SQLite file per mailbox (`<mailbox>/swissbox-index.sqlite`, WAL, synchronous=FULL), or,
with a PostgreSQL URL, one schema per mailbox in that database (`pgindex.py`). Either way
`conn` has the sqlite3 surface the index modules use, and the SQL is written once. Callers
hold `lock` around every method; write methods run inside `transaction()`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swissbox.mailstore.errors import MailStoreError
from swissbox.mailstore.meta import Summary

SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL,
    highestmodseq INTEGER NOT NULL,
    subscribed INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS messages (
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    key TEXT NOT NULL,
    subdir TEXT NOT NULL,
    filename TEXT NOT NULL,
    flags TEXT NOT NULL,
    modseq INTEGER NOT NULL,
    internaldate INTEGER NOT NULL,
    size INTEGER NOT NULL,
    envelope TEXT NOT NULL,
    bodystructure TEXT NOT NULL,
    headers BLOB NOT NULL,
    PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_key ON messages (folder_id, key);
CREATE TABLE IF NOT EXISTS folder_high_water (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    uidvalidity INTEGER NOT NULL,
    folder_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS vanished (
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS vanished_modseq ON vanished (folder_id, modseq);
CREATE TABLE IF NOT EXISTS vanished_horizon (
    folder_id INTEGER PRIMARY KEY REFERENCES folders(id) ON DELETE CASCADE,
    modseq INTEGER NOT NULL
);
"""
# PRAGMA user_version of the index file: 1 added `vanished` (expunged UIDs with the MODSEQ of
# their expunge, for QRESYNC) and `vanished_horizon` (per folder: expunges at or below this
# MODSEQ may be forgotten: those before version 1, and the oldest records pruned past
# VANISHED_KEEP).
INDEX_VERSION = 1
# PostgreSQL only: the schema's version (SQLite keeps it in PRAGMA user_version), and the
# covering index query.py makes on first use on SQLite (made here once, with the tables, so
# that no front end takes a table lock for it later).
PG_SCHEMA = """;
CREATE TABLE IF NOT EXISTS index_meta (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_light ON messages
    (folder_id, uid, flags, modseq, internaldate, size, subdir, filename);
"""
VANISHED_KEEP = 20000  # expunge records kept per folder; older ones raise the horizon


@dataclass(frozen=True)
class FolderInfo:
    id: int
    name: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    subscribed: bool


@dataclass(frozen=True)
class MessageInfo:
    """One index row. `envelope`/`bodystructure` are decoded lazily by their properties."""

    uid: int
    key: str
    subdir: str
    filename: str
    flags: frozenset[str]
    modseq: int
    internaldate: int
    size: int
    envelope_json: str = "null"
    bodystructure_json: str = "null"
    headers: bytes = b""

    @property
    def envelope(self) -> list[Any]:
        value: list[Any] = json.loads(self.envelope_json)
        return value

    @property
    def bodystructure(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.bodystructure_json)
        return value


def encode_flags(flags: Iterable[str]) -> str:
    return " ".join(sorted(set(flags)))


def decode_flags(text: str) -> frozenset[str]:
    return frozenset(text.split())


_COLUMNS = "uid, key, subdir, filename, flags, modseq, internaldate, size"
_ALL_COLUMNS = _COLUMNS + ", envelope, bodystructure, headers"


def _row(row: tuple[Any, ...]) -> MessageInfo:
    if len(row) > 8:
        return MessageInfo(
            row[0],
            row[1],
            row[2],
            row[3],
            decode_flags(row[4]),
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
        )
    return MessageInfo(row[0], row[1], row[2], row[3], decode_flags(row[4]), row[5], row[6], row[7])


class Index:
    """`Index(path)`: the SQLite file at `path`; `Index(path, url=..., address=...)`: the
    mailbox's schema in the PostgreSQL database at `url` (`path` then only names it)."""

    def __init__(self, path: Path, url: str | None = None, address: str = "") -> None:
        self.path = path
        self.lock = threading.RLock()
        self.conn: Any
        if url:
            from swissbox.mailstore.pgindex import PgIndexConnection

            self.dialect = "postgresql"
            self.conn = PgIndexConnection(url, address)
            self._migrate_pg()
        else:
            self.dialect = "sqlite"
            self.conn = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.executescript(SCHEMA)
            self._migrate()
        self.vanished_keep = VANISHED_KEEP
        self._version = -1  # SQLite's data_version when the caches below were last valid
        self._folders: dict[str, FolderInfo] | None = None
        self._ids: dict[str, tuple[int, int]] = {}  # name -> (id, uidvalidity); stable
        self._side_tables: set[str] = set()  # optional tables seen to exist (never dropped)

    def _migrate(self) -> None:
        """Brings an index file made by an older swissbox up to INDEX_VERSION, in place (a
        current one is only read: no write lock at every open)."""
        with self.lock:
            if int(self.conn.execute("PRAGMA user_version").fetchone()[0]) == INDEX_VERSION:
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                version = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
                self._refuse_newer(version)
                if version < 1:
                    # the expunges before now were never recorded: a client that last
                    # synchronised below a folder's current MODSEQ gets the whole range
                    self.conn.execute(
                        "INSERT INTO vanished_horizon (folder_id, modseq)"
                        " SELECT id, highestmodseq FROM folders WHERE true"
                        " ON CONFLICT DO NOTHING"
                    )
                if version < INDEX_VERSION:
                    self.conn.execute(f"PRAGMA user_version = {INDEX_VERSION}")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _migrate_pg(self) -> None:
        """Makes the mailbox's schema at INDEX_VERSION on first use (table `index_meta` holds
        the version: PostgreSQL indexes start at version 1, so nothing older exists)."""
        with self.lock:
            if not self.conn.exists():
                with self.conn.transaction() as conn:  # under the mailbox's lock: made once
                    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{conn.schema}"')
                    conn.executescript(SCHEMA + PG_SCHEMA)
                    conn.execute(
                        "INSERT INTO index_meta (one, version) VALUES (1, ?)"
                        " ON CONFLICT DO NOTHING",
                        (INDEX_VERSION,),
                    )
            (version,) = self.conn.execute("SELECT version FROM index_meta").fetchone()
            self._refuse_newer(int(version))

    def _refuse_newer(self, version: int) -> None:
        if version > INDEX_VERSION:
            raise MailStoreError(
                f"{self.path}: index version {version} is newer than this swissbox"
                f" ({INDEX_VERSION}); upgrade swissbox"
            )

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def has_table(self, name: str) -> bool:
        """Whether the optional side table `name` exists (seen.py and subscriptions.py make
        theirs on first use; most indexes never get one), remembered once it does."""
        if name in self._side_tables:
            return True
        with self.lock:
            if self.dialect == "postgresql":
                found = bool(self.conn.has_table(name))
            else:
                found = (
                    self.conn.execute(
                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
                    ).fetchone()
                    is not None
                )
        if found:
            self._side_tables.add(name)
        return found

    def ensure_table(self, name: str, schema: str) -> None:
        """Makes the optional side table `name` by `schema` (idempotent SQL) unless it exists."""
        if name not in self._side_tables and not (
            self.dialect == "postgresql" and self.has_table(name)
        ):
            with self.lock:
                self.conn.executescript(schema)
            self._side_tables.add(name)

    def forget_cached(self, ids: bool = True) -> None:
        """Drops the cached folder counters, and the folder ids unless `ids` is False (another
        front end changed the index; ids change only when folders are made, renamed or go)."""
        with self.lock:
            self._folders = None
            if ids:
                self._ids.clear()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A write transaction, the mailbox's writers serialized (IMMEDIATE on SQLite, the
        mailbox's advisory lock on PostgreSQL); yields the connection."""
        with self.lock:
            if self.dialect == "postgresql":
                self.conn.begin()
                self._folders = None  # another front end may have changed the counters
            else:
                self.conn.execute("BEGIN IMMEDIATE")
                self._others_committed()
            try:
                yield self.conn
            except BaseException:
                if self.dialect == "postgresql":
                    self.conn.rollback()
                else:
                    self.conn.execute("ROLLBACK")
                self._folders = None
                self._ids.clear()
                raise
            if self.dialect == "postgresql":
                self.conn.commit()
            else:
                self.conn.execute("COMMIT")

    # -- folders ------------------------------------------------------------------------

    def _others_committed(self) -> None:
        """SQLite: when another connection (the CLI beside the server: import, restore) has
        committed since the caches were filled, they go (PRAGMA data_version, ~2 us).
        PostgreSQL front ends hear of each other's changes on the event bus instead."""
        if self.dialect != "sqlite":
            return
        version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        if version != self._version:
            self._version = version
            self._folders = None
            self._ids.clear()

    def folders(self) -> dict[str, FolderInfo]:
        with self.lock:
            self._others_committed()
            if self._folders is None:
                rows = self.conn.execute(
                    "SELECT id, name, uidvalidity, uidnext, highestmodseq, subscribed FROM folders"
                ).fetchall()
                self._folders = {
                    r[1]: FolderInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows
                }
            return dict(self._folders)

    def folder(self, name: str) -> FolderInfo | None:
        return self.folders().get(name)

    def folder_id(self, name: str) -> tuple[int, int] | None:
        """(id, uidvalidity) without re-reading the counters (they change with every message)."""
        found = self._ids.get(name)  # no lock on a hit: the writer may hold it for an fsync
        if found is None:
            with self.lock:
                info = self.folder(name)
                if info is None:
                    return None
                found = self._ids[name] = (info.id, info.uidvalidity)
        return found

    def create_folder(self, name: str, subscribed: bool = True) -> FolderInfo:
        """Inside a transaction. UIDVALIDITY: the clock, strictly above any this index ever
        gave (deleted folders included), and a folder id never used before: a folder made
        again under a deleted one's name is a new folder for clients and for every cache."""
        last_validity, last_id = self._high_water()
        uidvalidity = max(int(time.time()), last_validity + 1) % 2**32 or 1
        self.conn.execute(
            "INSERT INTO folders (id, name, uidvalidity, uidnext, highestmodseq, subscribed)"
            " VALUES (?, ?, ?, 1, 1, ?)",
            (last_id + 1, name, uidvalidity, int(subscribed)),
        )
        self._remember_high_water()
        self._folders = None
        self._ids.clear()
        info = self.folder(name)
        assert info is not None
        return info

    def _high_water(self) -> tuple[int, int]:
        """(largest UIDVALIDITY, largest folder id) ever used in this index."""
        row = self.conn.execute(
            "SELECT MAX(uidvalidity), MAX(id) FROM ("
            " SELECT uidvalidity, id FROM folders"
            " UNION ALL SELECT uidvalidity, folder_id FROM folder_high_water) AS ever"
        ).fetchone()
        return int(row[0] or 0), int(row[1] or 0)

    def _remember_high_water(self) -> None:
        """Inside a transaction: records the high water before a folder row can go."""
        validity, folder_id = self._high_water()
        self.conn.execute(
            "INSERT INTO folder_high_water (one, uidvalidity, folder_id) VALUES (1, ?, ?)"
            " ON CONFLICT (one) DO UPDATE"
            " SET uidvalidity = excluded.uidvalidity, folder_id = excluded.folder_id",
            (validity, folder_id),
        )

    def delete_folder(self, name: str) -> None:
        self._remember_high_water()  # indexes made before the table existed
        self.conn.execute("DELETE FROM folders WHERE name = ?", (name,))
        self._folders = None
        self._ids.clear()

    def rename_folder(self, old: str, new: str) -> None:
        self.conn.execute("UPDATE folders SET name = ? WHERE name = ?", (new, old))
        self._folders = None
        self._ids.clear()

    def set_subscribed(self, name: str, subscribed: bool) -> None:
        self.conn.execute(
            "UPDATE folders SET subscribed = ? WHERE name = ?", (int(subscribed), name)
        )
        self._folders = None

    def bump(self, folder_id: int, uids: int = 0) -> tuple[int, int]:
        """Inside a transaction: reserves `uids` UIDs and one MODSEQ; returns (first uid, modseq)."""
        first, modseq = self.conn.execute(
            "UPDATE folders SET uidnext = uidnext + ?, highestmodseq = highestmodseq + 1"
            " WHERE id = ? RETURNING uidnext - ?, highestmodseq",
            (uids, folder_id, uids),
        ).fetchone()
        self._folders = None
        return int(first), int(modseq)

    # -- messages -----------------------------------------------------------------------

    def insert(
        self,
        folder_id: int,
        uid: int,
        key: str,
        subdir: str,
        filename: str,
        flags: Iterable[str],
        modseq: int,
        internaldate: int,
        summary: Summary,
    ) -> None:
        """Inside a transaction: one row (see `insert_many`)."""
        self.insert_many(
            folder_id, uid, modseq, [(key, subdir, filename, flags, internaldate, summary)]
        )

    def insert_many(
        self,
        folder_id: int,
        first_uid: int,
        modseq: int,
        entries: Sequence[tuple[str, str, str, Iterable[str], int, Summary]],
    ) -> None:
        """Inside a transaction: rows (key, subdir, filename, flags, internaldate, summary)
        with the UIDs from `first_uid` on, all at `modseq`, in one statement."""
        self.conn.executemany(
            "INSERT INTO messages (folder_id, uid, key, subdir, filename, flags, modseq,"
            " internaldate, size, envelope, bodystructure, headers)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    folder_id,
                    first_uid + i,
                    key,
                    subdir,
                    filename,
                    encode_flags(flags),
                    modseq,
                    internaldate,
                    summary.size,
                    json.dumps(summary.envelope),
                    json.dumps(summary.bodystructure),
                    summary.headers,
                )
                for i, (key, subdir, filename, flags, internaldate, summary) in enumerate(entries)
            ],
        )

    def messages(
        self, folder_id: int, uids: Iterable[int] | None = None, full: bool = False
    ) -> list[MessageInfo]:
        cols = _ALL_COLUMNS if full else _COLUMNS
        with self.lock:
            if uids is None:
                rows = self.conn.execute(
                    f"SELECT {cols} FROM messages WHERE folder_id = ? ORDER BY uid", (folder_id,)
                ).fetchall()
            else:
                wanted = sorted(set(uids))
                rows = []
                for i in range(0, len(wanted), 500):
                    chunk = wanted[i : i + 500]
                    marks = ",".join("?" * len(chunk))
                    rows += self.conn.execute(
                        f"SELECT {cols} FROM messages WHERE folder_id = ? AND uid IN ({marks})"
                        " ORDER BY uid",
                        (folder_id, *chunk),
                    ).fetchall()
        return [_row(r) for r in rows]

    def update_file(
        self,
        folder_id: int,
        uid: int,
        subdir: str,
        filename: str,
        flags: Iterable[str],
        modseq: int,
    ) -> None:
        self.conn.execute(
            "UPDATE messages SET subdir = ?, filename = ?, flags = ?, modseq = ?"
            " WHERE folder_id = ? AND uid = ?",
            (subdir, filename, encode_flags(flags), modseq, folder_id, uid),
        )

    def delete(self, folder_id: int, uids: Iterable[int]) -> None:
        """Inside a transaction: removes the messages and records their UIDs as expunged at
        the folder's next MODSEQ (the one the caller's `bump` in the same transaction takes)."""
        pairs = [(folder_id, uid) for uid in uids]
        self.conn.executemany("DELETE FROM messages WHERE folder_id = ? AND uid = ?", pairs)
        (highest,) = self.conn.execute(
            "SELECT highestmodseq FROM folders WHERE id = ?", (folder_id,)
        ).fetchone()
        self.conn.executemany(
            "INSERT INTO vanished (folder_id, uid, modseq) VALUES (?, ?, ?)"
            " ON CONFLICT (folder_id, uid) DO UPDATE SET modseq = excluded.modseq",
            [(f, u, highest + 1) for f, u in pairs],
        )
        self._prune_vanished(folder_id)

    def _prune_vanished(self, folder_id: int) -> None:
        """Keeps the newest `vanished_keep` expunge records of the folder (checked once the
        count is a quarter over it); the horizon rises to the newest MODSEQ forgotten."""
        keep = self.vanished_keep
        (count,) = self.conn.execute(
            "SELECT COUNT(*) FROM vanished WHERE folder_id = ?", (folder_id,)
        ).fetchone()
        if count <= keep + keep // 4:
            return
        row = self.conn.execute(
            "SELECT modseq FROM vanished WHERE folder_id = ? ORDER BY modseq DESC LIMIT 1 OFFSET ?",
            (folder_id, keep),
        ).fetchone()
        if row is None:
            return
        cut = int(row[0])  # records at or below it go (a MODSEQ's records go together)
        self.conn.execute(
            "DELETE FROM vanished WHERE folder_id = ? AND modseq <= ?", (folder_id, cut)
        )
        self.conn.execute(
            "INSERT INTO vanished_horizon (folder_id, modseq) VALUES (?, ?)"
            " ON CONFLICT (folder_id) DO UPDATE SET modseq = CASE"
            " WHEN excluded.modseq > vanished_horizon.modseq THEN excluded.modseq"
            " ELSE vanished_horizon.modseq END",
            (folder_id, cut),
        )

    def expunge_modseq(self, folder_id: int, uids: Iterable[int]) -> int | None:
        """The lowest MODSEQ at which any of `uids` was expunged (None: no record left)."""
        wanted = sorted(set(uids))
        found: list[int] = []
        with self.lock:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                marks = ",".join("?" * len(chunk))
                (low,) = self.conn.execute(
                    f"SELECT MIN(modseq) FROM vanished WHERE folder_id = ? AND uid IN ({marks})",
                    (folder_id, *chunk),
                ).fetchone()
                if low is not None:
                    found.append(int(low))
        return min(found) if found else None

    def vanished_since(self, folder_id: int, modseq: int) -> list[int] | None:
        """UIDs expunged from the folder at a MODSEQ above `modseq`, ascending; None when
        records at or below the folder's horizon would be needed (forgotten: the caller
        then treats every UID it cannot see as possibly expunged, RFC 7162 3.2.5.2)."""
        with self.lock:
            row = self.conn.execute(
                "SELECT modseq FROM vanished_horizon WHERE folder_id = ?", (folder_id,)
            ).fetchone()
            if row is not None and modseq < int(row[0]):
                return None
            rows = self.conn.execute(
                "SELECT uid FROM vanished WHERE folder_id = ? AND modseq > ? ORDER BY uid",
                (folder_id, modseq),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def usage(self) -> int:
        with self.lock:
            row = self.conn.execute("SELECT COALESCE(SUM(size), 0) FROM messages").fetchone()
        return int(row[0])

    def count(self, folder_id: int) -> int:
        with self.lock:
            row = self.conn.execute(
                "SELECT COUNT(*) FROM messages WHERE folder_id = ?", (folder_id,)
            ).fetchone()
        return int(row[0])
