"""The mail index on PostgreSQL: one schema per mailbox behind the same sqlite3-like surface
(`execute`/`executemany`/`executescript`, rows as tuples) the index modules already use.

Queries stay written once, in the spelling both engines accept; here they get `?` -> `%s`
(`store.postgres.translate`) and their table names qualified with the mailbox's schema, so
every pooled connection serves every mailbox without a `SET search_path` round trip. DDL is
rendered like the store's migrations (`INTEGER` -> `BIGINT`, `BLOB` -> `BYTEA`, no
`WITHOUT ROWID`). A write transaction takes a transaction-scoped advisory lock of its mailbox:
writers of one mailbox are serialized across every front end, as SQLite's `BEGIN IMMEDIATE`
serializes them on one machine (UIDs stay dense, check-then-write steps stay sound).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from swissbox.store.base import Result, split_statements
from swissbox.store.migrations import render
from swissbox.store.postgres import translate

# Every table a mailbox index holds (side tables included); the names are qualified with the
# mailbox's schema wherever they appear outside quoted literals.
TABLES = (
    "folders",
    "messages",
    "folder_high_water",
    "vanished",
    "vanished_horizon",
    "user_seen",
    "kept_subscriptions",
    "expunged_messages",
    "imported",
    "index_meta",
)
_TABLE = re.compile(r"(?<![\w.\"])(" + "|".join(TABLES) + r")(?![\w.\"])")
_LITERAL = re.compile(r"('(?:[^']|'')*')")
_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT ROWID", re.IGNORECASE)
_BLOB = re.compile(r"\bBLOB\b", re.IGNORECASE)
SCHEMA_MARK = "\x00"  # stands for the quoted schema name in a prepared statement
LOCK_CLASS = 0x6D61_696C  # first key of pg_advisory_xact_lock(int, int): "mail"
POOL_SIZE = 10


@lru_cache(maxsize=2048)
def prepare(sql: str) -> str:
    """The statement in PostgreSQL's spelling with SCHEMA_MARK before every table name."""
    parts = _LITERAL.split(sql)
    for i in range(0, len(parts), 2):  # even parts lie outside literals
        parts[i] = _TABLE.sub(SCHEMA_MARK + r".\1", parts[i])
    return translate("".join(parts))


@lru_cache(maxsize=64)
def render_ddl(script: str) -> list[str]:
    """A SQLite-spelled DDL script as PostgreSQL statements (still with SCHEMA_MARK)."""
    script = _BLOB.sub("BYTEA", _WITHOUT_ROWID.sub(")", script))
    return [prepare(s) for s in split_statements(render(script, "postgresql"))]


def schema_name(address: str) -> str:
    """The mailbox's schema: readable, at most 63 bytes, unique by a hash of the address."""
    digest = hashlib.sha256(address.encode("utf-8")).hexdigest()[:12]
    readable = re.sub(r"[^a-z0-9]+", "_", address.lower())[:40]
    return f"mbx_{readable}_{digest}"


def lock_key(schema: str) -> int:
    """Second key of the mailbox's advisory lock (a signed 32-bit integer)."""
    return int.from_bytes(hashlib.sha256(schema.encode()).digest()[:4], "big", signed=True)


_pools: dict[str, Any] = {}
_pools_lock = threading.Lock()


def shared_pool(url: str) -> Any:
    """The process-wide connection pool of `url` (autocommit connections, opened lazily)."""
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            from psycopg_pool import ConnectionPool

            pool = ConnectionPool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                kwargs={"autocommit": True},
                name="swissbox-mailindex",
                open=True,
            )
            _pools[url] = pool
        return pool


def close_pools() -> None:
    """Closes every pool (tests; a process that ends needs not)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


class PgIndexConnection:
    """One mailbox's index on a shared pool. Not thread-safe by itself: the `Index` lock is
    held around every call, as for the SQLite connection."""

    dialect = "postgresql"

    def __init__(self, url: str, address: str) -> None:
        self.pool = shared_pool(url)
        self.schema = schema_name(address)
        self._quoted = f'"{self.schema}"'
        self._lock_key = lock_key(self.schema)
        self._held: Any = None  # the connection of the open transaction

    def _sql(self, sql: str) -> str:
        return prepare(sql).replace(SCHEMA_MARK, self._quoted)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        conn = self._held
        if conn is not None:
            return _run(conn, self._sql(sql), args)
        conn = self.pool.getconn()
        try:
            return _run(conn, self._sql(sql), args)
        finally:
            self.pool.putconn(conn)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(r) for r in rows]
        if not rows:
            return
        if self._held is not None:
            self._held.cursor().executemany(self._sql(sql), rows)
            return
        with self.transaction():
            assert self._held is not None
            self._held.cursor().executemany(self._sql(sql), rows)

    def executescript(self, script: str) -> None:
        """DDL (idempotent), in one transaction under the mailbox's lock."""
        statements = [s.replace(SCHEMA_MARK, self._quoted) for s in render_ddl(script)]
        if self._held is not None:
            for s in statements:
                self._held.execute(s)
            return
        with self.transaction() as conn:
            for s in statements:
                conn._held.execute(s)

    def begin(self) -> None:
        """Starts the write transaction and waits for the mailbox's lock (one round trip)."""
        assert self._held is None, "nested index transaction"
        conn = self.pool.getconn()
        try:
            conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({LOCK_CLASS}, {self._lock_key})")
        except BaseException:
            self.pool.putconn(conn)
            raise
        self._held = conn

    def commit(self) -> None:
        self._end("COMMIT")

    def rollback(self) -> None:
        """Never raises: a connection that broke mid-transaction rolled back by breaking (the
        pool discards it), and the caller's own error is the one to see."""
        with contextlib.suppress(Exception):
            self._end("ROLLBACK")

    def _end(self, verb: str) -> None:
        conn, self._held = self._held, None
        if conn is None:
            return
        try:
            conn.execute(verb)
        finally:
            self.pool.putconn(conn)  # a broken one is discarded by the pool

    def transaction(self) -> _Tx:
        return _Tx(self)

    def has_table(self, name: str) -> bool:
        row = self.execute("SELECT to_regclass(?)", (f"{self._quoted}.{name}",)).fetchone()
        return row is not None and row[0] is not None

    def exists(self) -> bool:
        """Whether the mailbox's schema has been made (its version table exists)."""
        return self.has_table("index_meta")

    def close(self) -> None:
        """Nothing to close: the connections belong to the shared pool."""
        if self._held is not None:
            self.rollback()


class _Tx:
    def __init__(self, conn: PgIndexConnection) -> None:
        self.conn = conn

    def __enter__(self) -> PgIndexConnection:
        self.conn.begin()
        return self.conn

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.conn.commit()
        else:
            self.conn.rollback()


def _run(conn: Any, sql: str, args: Sequence[Any]) -> Result:
    cursor = conn.execute(sql, tuple(args))
    rows = cursor.fetchall() if cursor.description else []
    return Result(rows, cursor.rowcount)
