"""The interface every backend implements, and the shape of the rows both return."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol


class StoreError(Exception):
    """The database could not be reached or is newer than this swissbox."""


def refuse_newer(version: int, known: int) -> None:
    """StoreError when the database was migrated by a newer swissbox than this one."""
    if version > known:
        raise StoreError(
            f"database schema version {version} is newer than this swissbox ({known});"
            " upgrade swissbox"
        )


class Row(Protocol):
    """A result row read by position or by column name: sqlite3.Row on SQLite (made in C),
    `postgres.PgRow` on PostgreSQL."""

    def __getitem__(self, key: Any) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...

    def keys(self) -> list[str]: ...


class Result:
    """The rows of one statement (already fetched) and how many rows it changed."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        """The first row (a `Row`) or None; typed Any like DB-API cursors, so that
        aggregates (`SELECT COUNT(*) ...`) read as `fetchone()[0]`."""
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Row]:
        return self.rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)


class Tx(ABC):
    """One write transaction (or a savepoint inside one)."""

    @abstractmethod
    def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        """Runs one statement."""

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self.execute(sql, args).fetchone()
        return row

    def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        """An INSERT into a table with an `id` key; returns the new row's id."""
        row = self.one(sql + " RETURNING id", args)
        assert row is not None
        return int(row[0])


class Database(ABC):
    """A connection shared by threads; every write goes through `write()`."""

    dialect: str  # "sqlite" | "postgresql"

    @abstractmethod
    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None: ...

    @abstractmethod
    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    def write(self) -> AbstractContextManager[Tx]:
        """A transaction: committed when the block ends, rolled back on any exception.
        Writers are serialized (across processes and machines too); nested calls are
        savepoints, so a refused inner step undoes only itself."""

    @abstractmethod
    def read(self) -> AbstractContextManager[Tx]:
        """Several reads from one consistent snapshot (inside `write()`, that transaction)."""

    @abstractmethod
    def generation(self) -> Any:
        """A value that changes after any commit, by this process or any other."""

    @abstractmethod
    def migrate(self, migrations: Sequence[str]) -> int:
        """Applies pending migrations, each in its own transaction; returns the version."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def split_statements(script: str) -> Iterator[str]:
    """The statements of a migration (`;`-separated; no `;` inside literals or comments)."""
    for statement in script.split(";"):
        if statement.strip():
            yield statement
