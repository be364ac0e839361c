"""The embedded backend: one SQLite file (WAL, foreign keys, full sync) shared by the CLI and
the server. A write is one IMMEDIATE transaction, so a concurrent reader sees all of it or
none; `generation()` changes whenever any connection has committed (PRAGMA data_version)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from swissbox.store.base import (
    Database,
    Result,
    Row,
    Tx,
    refuse_newer,
    split_statements,
)
from swissbox.store.migrations import render


class _SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        cursor = self.conn.execute(sql, tuple(args))
        rows = cursor.fetchall()
        return Result(rows, cursor.rowcount)


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=10.0
        )
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._local_writes = 0
        self._tx: _SqliteTx | None = None  # the open transaction, on the thread holding the lock
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA busy_timeout=10000")

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        with self._lock:
            row: Row | None = self._conn.execute(sql, tuple(args)).fetchone()
            return row

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return list(self._conn.execute(sql, tuple(args)).fetchall())

    @contextmanager
    def write(self) -> Iterator[Tx]:
        with self._lock:
            if self._tx is not None:
                self._conn.execute("SAVEPOINT step")
                try:
                    yield self._tx
                except BaseException:
                    self._conn.execute("ROLLBACK TO step")
                    raise
                finally:
                    self._conn.execute("RELEASE step")
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._tx = _SqliteTx(self._conn)
            try:
                yield self._tx
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._tx = None
            self._conn.execute("COMMIT")
            self._local_writes += 1

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self._lock:
            if self._tx is not None:
                yield self._tx
                return
            self._conn.execute("BEGIN")
            try:
                yield _SqliteTx(self._conn)
            finally:
                self._conn.execute("COMMIT")

    def generation(self) -> tuple[int, int]:
        with self._lock:
            other = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            return other, self._local_writes

    def version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, migrations: Sequence[str]) -> int:
        with self._lock:
            version = self.version()
            refuse_newer(version, len(migrations))
            for number in range(version + 1, len(migrations) + 1):
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    if self.version() >= number:  # another process migrated meanwhile
                        self._conn.execute("ROLLBACK")
                        continue
                    for statement in split_statements(render(migrations[number - 1], "sqlite")):
                        self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version = {number}")
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            return self.version()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
