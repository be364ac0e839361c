"""Moving a store's data to another backend (SQLite -> PostgreSQL, or back), verifiably.

`copy_tables` reads the source in one snapshot and replaces the target's rows in one
transaction, table by table in creation order (so foreign keys always point backwards), then
moves PostgreSQL's identity counters past the copied ids. Running it again gives the same
target: it is idempotent. `table_report` gives per-table row counts and a SHA-256 over the
rows in a canonical order, so both sides can be compared.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from swissbox.store.base import Database

_CREATE = re.compile(r"\bCREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.IGNORECASE)


def tables_of(migrations: Sequence[str]) -> list[str]:
    """The tables the migrations create, in creation order."""
    return [m.group(1) for script in migrations for m in _CREATE.finditer(script)]


@dataclass(frozen=True)
class TableSum:
    table: str
    rows: int
    sha256: str


def table_report(db: Database, tables: Sequence[str]) -> list[TableSum]:
    """Row count and checksum of each table, read in one snapshot."""
    out = []
    with db.read() as c:
        for table in tables:
            rows = c.execute(f"SELECT * FROM {table}").fetchall()
            digest = hashlib.sha256()
            for line in sorted(repr(tuple(row)) for row in rows):
                digest.update(line.encode("utf-8", "surrogatepass") + b"\n")
            out.append(TableSum(table, len(rows), digest.hexdigest()))
    return out


def copy_tables(source: Database, target: Database, tables: Sequence[str]) -> None:
    """Replaces every row of `tables` in `target` with the rows of `source`."""
    with source.read() as src:
        data = {}
        for table in tables:
            rows = src.execute(f"SELECT * FROM {table}").fetchall()
            data[table] = (list(rows[0].keys()) if rows else [], rows)
    with target.write() as tx:
        for table in reversed(tables):
            tx.execute(f"DELETE FROM {table}")
        for table in tables:
            columns, rows = data[table]
            if not rows:
                continue
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' * len(columns))})"
            )
            for row in rows:
                tx.execute(sql, tuple(row))
            if target.dialect == "postgresql" and "id" in columns:
                sequence = tx.one("SELECT pg_get_serial_sequence(?, 'id')", (table,))
                if sequence is not None and sequence[0]:  # (a text `id` has none)
                    tx.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT MAX(id) FROM {table}))"
                    )
