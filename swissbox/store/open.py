"""Choosing the backend from one setting: a file path (SQLite) or a postgresql:// URL."""

from __future__ import annotations

from pathlib import Path

from swissbox.store.base import Database


def is_postgres_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_database(
    location: str | Path, name: str = "directory", *, serialized: bool = True
) -> Database:
    """`name` keeps separate schema versions for separate stores sharing one PostgreSQL.
    `serialized=False` (PostgreSQL): writers are not serialized across front ends and do not
    move `generation()`; the store's own row locks keep its writers apart. SQLite always
    serializes writers (IMMEDIATE transactions)."""
    if is_postgres_url(location):
        from swissbox.store.postgres import PostgresDatabase

        return PostgresDatabase(str(location), name, serialized=serialized)
    from swissbox.store.sqlite import SqliteDatabase

    return SqliteDatabase(location)
