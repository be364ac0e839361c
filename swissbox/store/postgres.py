"""The shared backend: PostgreSQL through psycopg 3, for several front ends over one database.

Queries arrive in the shared spelling (`?` placeholders) and are translated once each.
Writers are serialized across every front end by a transaction-scoped advisory lock, which
gives the same guarantee as SQLite's IMMEDIATE transactions: check-then-write rules (a CNAME
stands alone, an organization keeps a legal representative) hold without retries. Directory
writes are rare (admin verbs, DDNS), so one lock costs nothing measurable.
`generation()` reads a counter row that every serialized write transaction advances: a row,
so that its new value is seen exactly when the rest of the transaction is (a sequence moves at
once, before the commit, and a reader that looked in between kept a stale copy for good).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from swissbox.store.base import (
    Database,
    Result,
    Row,
    StoreError,
    Tx,
    refuse_newer,
    split_statements,
)
from swissbox.store.migrations import render

WRITE_LOCK = 0x5B0C_D1E0  # pg_advisory_xact_lock key of the directory's writers

_SETUP = [
    "CREATE TABLE IF NOT EXISTS swissbox_schema (name TEXT PRIMARY KEY, version BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS swissbox_commits"
    " (id BIGINT PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL)",
    "INSERT INTO swissbox_commits (id, n) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
]
_NEXT_GENERATION = "UPDATE swissbox_commits SET n = n + 1 WHERE id = 1"
_NOCASE = (
    'CREATE COLLATION IF NOT EXISTS "nocase"'
    " (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """`?` -> `%s` outside quoted literals and identifiers; every `%` -> `%%` (psycopg reads
    placeholders inside literals too, and unescapes them when it binds)."""
    out: list[str] = []
    quote = ""
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = ""
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


class PgRow(tuple):
    """A row read by position or by column name, like sqlite3.Row."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> PgRow:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    names = {d.name: i for i, d in enumerate(cursor.description or ())}
    return lambda values: PgRow(values, names)


class _PgTx(Tx):
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        cursor = self.conn.execute(translate(sql), tuple(args))
        rows = list(cursor.fetchall()) if cursor.description else []
        return Result(rows, cursor.rowcount)


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str, name: str = "directory", *, serialized: bool = True) -> None:
        """`serialized=False`: write transactions take neither the writers' lock nor advance
        the generation, for a store whose writers exclude each other by row locks (the
        outbound queue's claims: `FOR UPDATE SKIP LOCKED`) and whose frequent writes must not
        wake the directory's readers."""

        self.url = url
        self.name = name
        self.serialized = serialized
        self._conn = self._connect()
        self._lock = threading.RLock()
        self._tx: _PgTx | None = None
        if not self._set_up():  # (checked first: the lock would wait for a running writer)
            with self._lock, self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                for statement in _SETUP:
                    self._conn.execute(statement)
                self._conn.execute(_NOCASE)

    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True, row_factory=_row_factory)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}".strip()) from None

    def _live(self) -> Any:
        """The connection, opened again when PostgreSQL dropped it (a restart, a failover to
        a replica behind the same name): psycopg marks a lost connection closed. Caller holds
        the lock and is outside a transaction."""
        if self._conn.closed and self._tx is None:
            self._conn = self._connect()
        return self._conn

    def _query(self, sql: str, args: Sequence[Any]) -> Any:
        """One statement; a SELECT outside a transaction (`_tx` is set only while this thread,
        holding the lock, writes) is tried again once on a fresh connection when the connection
        was lost (a write is not: it may have committed just before the loss)."""
        import psycopg

        conn = self._live()
        try:
            return conn.execute(translate(sql), tuple(args))
        except psycopg.OperationalError:
            if not conn.closed or self._tx is not None or not _is_read(sql):
                raise
            return self._live().execute(translate(sql), tuple(args))

    def _set_up(self) -> bool:
        row = self._conn.execute(
            "SELECT to_regclass('swissbox_schema') IS NOT NULL"
            " AND to_regclass('swissbox_commits') IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'nocase')"
        ).fetchone()
        return bool(row and row[0])

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        with self._lock:
            row: Row | None = self._query(sql, args).fetchone()
            return row

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return list(self._query(sql, args).fetchall())

    @contextmanager
    def write(self) -> Iterator[Tx]:
        with self._lock:
            if self._tx is not None:
                with self._conn.transaction():  # a savepoint inside the open transaction
                    yield self._tx
                return
            with self._live().transaction():
                if self.serialized:
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                    self._conn.execute(_NEXT_GENERATION)
                self._tx = _PgTx(self._conn)
                try:
                    yield self._tx
                finally:
                    self._tx = None

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self._lock:
            if self._tx is not None:
                yield self._tx
                return
            with self._live().transaction():
                self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield _PgTx(self._conn)

    def generation(self) -> int:
        row = self.one("SELECT n FROM swissbox_commits WHERE id = 1")
        return int(row[0]) if row is not None else 0

    def version(self) -> int:
        row = self.one("SELECT version FROM swissbox_schema WHERE name = ?", (self.name,))
        return int(row[0]) if row else 0

    def migrate(self, migrations: Sequence[str]) -> int:
        version = self.version()
        refuse_newer(version, len(migrations))
        if version == len(migrations):
            return version  # nothing to do: no need to wait for the writers' lock
        with self._lock:
            for number in range(1, len(migrations) + 1):
                with self._conn.transaction():
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                    version = self.version()
                    refuse_newer(version, len(migrations))
                    if version >= number:
                        continue
                    for statement in split_statements(render(migrations[number - 1], self.dialect)):
                        self._conn.execute(statement)
                    self._conn.execute(
                        "INSERT INTO swissbox_schema (name, version) VALUES (%s, %s)"
                        " ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version",
                        (self.name, number),
                    )
                    self._conn.execute(_NEXT_GENERATION)
            return self.version()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
