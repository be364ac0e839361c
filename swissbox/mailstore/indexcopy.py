"""Moving the mail indexes between backends (`swissbox migrate`): every mailbox's SQLite file
to its schema in PostgreSQL, or back, verifiably.

Per mailbox, the source is read in one snapshot and the target's rows are replaced in one
transaction, table by table in creation order (foreign keys point backwards); the side
tables are made on the target when the source has them. Running it again gives the same
target. `index_report` counts rows and hashes them (as `store.copy.table_report` does for
the directory) so both sides can be compared. The message files stay where they are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from swissbox.mailstore.index import Index
from swissbox.mailstore.paths import INDEX_NAME, mailbox_dir
from swissbox.store.copy import TableSum

# creation order; side tables last (made on first use, most mailboxes never have them)
CORE_TABLES = ("folders", "messages", "folder_high_water", "vanished", "vanished_horizon")
SIDE_TABLES = ("user_seen", "kept_subscriptions", "expunged_messages", "imported")


def _side_schemas() -> dict[str, str]:
    from swissbox.mailstore import importer, retention, seen, subscriptions

    return {
        "user_seen": seen.SCHEMA,
        "kept_subscriptions": subscriptions.SCHEMA,
        "expunged_messages": retention.SCHEMA,
        "imported": importer.SCHEMA,
    }


def tables(index: Index) -> list[str]:
    return list(CORE_TABLES) + [t for t in SIDE_TABLES if index.has_table(t)]


def _rows(index: Index, table: str) -> list[tuple[Any, ...]]:
    with index.lock:
        return [tuple(r) for r in index.conn.execute(f"SELECT * FROM {table}").fetchall()]


def _columns(index: Index, table: str) -> list[str]:
    with index.lock:
        if index.dialect == "sqlite":
            return [r[1] for r in index.conn.execute(f"PRAGMA table_info({table})").fetchall()]
        rows = index.conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            (index.conn.schema, table),
        ).fetchall()
        return [r[0] for r in rows]


def copy_index(source: Index, target: Index) -> None:
    """Replaces every row of `target` with the rows of `source`."""
    names = tables(source)
    schemas = _side_schemas()
    for table in names:
        if table in schemas:
            target.ensure_table(table, schemas[table])
    with source.lock:
        if source.dialect == "sqlite":
            source.conn.execute("BEGIN")  # one snapshot of the whole file
        try:
            data = {t: (_columns(source, t), _rows(source, t)) for t in names}
        finally:
            if source.dialect == "sqlite":
                source.conn.execute("COMMIT")
    with target.transaction() as conn:
        for table in reversed(tables(target)):
            conn.execute(f"DELETE FROM {table}")
        for table in names:
            columns, rows = data[table]
            if rows:
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(_quoted(c) for c in columns)})"
                    f" VALUES ({', '.join('?' * len(columns))})",
                    rows,
                )
            if target.dialect == "postgresql" and rows and table == "expunged_messages":
                # its ids come from an identity column: past the copied ones
                conn.execute(
                    "SELECT setval(pg_get_serial_sequence(?, 'id'), (SELECT MAX(id) FROM"
                    " expunged_messages))",
                    (f'"{conn.schema}".expunged_messages',),
                )
    target.forget_cached()


def _quoted(column: str) -> str:
    return f'"{column}"' if column == "user" else column


def index_report(index: Index, address: str, names: Sequence[str]) -> list[TableSum]:
    """Rows and a SHA-256 over them (in a canonical order) per table of one mailbox index."""
    out = []
    for table in names:
        digest = hashlib.sha256()
        rows = _rows(index, table)
        for line in sorted(repr(tuple(_plain(v) for v in row)) for row in rows):
            digest.update(line.encode("utf-8", "surrogatepass") + b"\n")
        out.append(TableSum(f"mail {address}: {table}", len(rows), digest.hexdigest()))
    return out


def _plain(value: Any) -> Any:
    """The same Python value from both drivers (bytes for BLOB/BYTEA)."""
    return bytes(value) if isinstance(value, memoryview) else value


def open_index(mail_dir: Path, address: str, url: str | None) -> Index:
    """A mailbox's index in `url` (PostgreSQL) or in its SQLite file (None)."""
    from swissbox.mailstore.store import MailStore

    path = mailbox_dir(mail_dir, address) / INDEX_NAME
    return Index(path, url, MailStore._key(address)) if url else Index(path)


def migrate_mail(mail_dir: Path, source_url: str | None, target_url: str | None) -> list[TableSum]:
    """`swissbox migrate`: every mailbox's index from `source_url` to `target_url` (None:
    the SQLite files); the target's report. ValueError when the two sides differ after."""
    from swissbox.mailstore.store import MailStore

    if (source_url or None) == (target_url or None) or not mail_dir.is_dir():
        return []
    addresses = MailStore(mail_dir).existing_addresses()
    before, after = copy_mail_indexes(mail_dir, addresses, source_url, target_url)
    if before != after:
        differ = sorted({a.table for a, b in zip(before, after, strict=True) if a != b})
        raise ValueError(f"mail indexes copied, but these differ afterwards: {', '.join(differ)}")
    return after


def copy_mail_indexes(
    mail_dir: Path, addresses: Sequence[str], source_url: str | None, target_url: str | None
) -> tuple[list[TableSum], list[TableSum]]:
    """Copies the index of each mailbox from `source_url` to `target_url` (None: its SQLite
    file); returns the (source, target) reports. A mailbox without an index is skipped."""
    before: list[TableSum] = []
    after: list[TableSum] = []
    for address in addresses:
        if not source_url and not (mailbox_dir(mail_dir, address) / INDEX_NAME).exists():
            continue
        source = open_index(mail_dir, address, source_url)
        target = open_index(mail_dir, address, target_url)
        try:
            copy_index(source, target)
            names = tables(source)
            before += index_report(source, address, names)
            after += index_report(target, address, names)
        finally:
            source.close()
            target.close()
    return before, after
