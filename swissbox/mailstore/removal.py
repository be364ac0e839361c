"""A deleted mailbox's mail, moved out of reach at once and erased later (or at once).

`retire(store, address)` renames the mailbox folder (its Maildirs, its SQLite index, its kept
expunged mail) to `<root>/.deleted/<local>@<domain>-<unix time>` and, with the index on
PostgreSQL, renames the mailbox's schema to `del_<unix time>_<random>` (its name is noted in
the held folder), so an address created again starts empty. `purge(root, url, days)` erases
what was retired at least `days` ago; `retire(..., erase=True)` erases at once.

Open sessions of the mailbox notice through `MailboxStore.still_here()` (the folder they
opened is not the one at the mailbox's path any more); `MailStore.mailbox()` opens the new
one. Only the directory's mailbox row decides whether mail is accepted: retire after it goes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swissbox.mailstore.durable import fsync_dir
from swissbox.mailstore.paths import mailbox_dir

if TYPE_CHECKING:
    from swissbox.mailstore.store import MailStore

log = logging.getLogger("swissbox.mailstore")

HOLDING = ".deleted"  # under the store's root; skipped by MailStore.existing_addresses
NOTE = "swissbox-deleted.json"  # in each held folder: address, when, PostgreSQL schema
DAY = 86400


@dataclass(frozen=True)
class Retired:
    """Where a deleted mailbox's mail went: `held` (None when erased), its index schema on
    PostgreSQL (None on SQLite or when erased), and when."""

    address: str
    deleted: int
    held: Path | None
    schema: str | None


def retire(store: MailStore, address: str, erase: bool = False, now: int | None = None) -> Retired:
    """Moves the mailbox's mail out of reach (or erases it): nothing of it is found at its
    address afterwards. Idempotent for a mailbox that holds nothing."""
    now = int(time.time()) if now is None else now
    key = store._key(address)
    source = mailbox_dir(store.root, key)
    with store._lock:
        box = store._mailboxes.pop(key, None)
    folders: list[str] = []
    if box is not None and box.still_here():  # else retired already (another process)
        folders = [f.name for f in box.folders()]
    holding = store.root / HOLDING
    held: Path | None = None
    if source.is_dir():
        holding.mkdir(mode=0o700, exist_ok=True)
        held = holding / f"{source.name}@{source.parent.name}-{now}"
        while held.exists():
            held = holding / f"{source.name}@{source.parent.name}-{now}-{secrets.token_hex(3)}"
        os.rename(source, held)
        fsync_dir(source.parent)
        fsync_dir(holding)
    schema = _retire_schema(store.index_url, key, now, erase) if store.index_url else None
    if erase:
        if held is not None:
            shutil.rmtree(held, ignore_errors=True)
        retired = Retired(key, now, None, None)
    else:
        if held is None and schema is not None:
            holding.mkdir(mode=0o700, exist_ok=True)
            held = holding / f"{source.name}@{source.parent.name}-{now}-{secrets.token_hex(3)}"
            held.mkdir(mode=0o700)
        if held is not None:
            note = {"address": key, "deleted": now, "schema": schema}
            (held / NOTE).write_text(json.dumps(note), encoding="utf-8")
        retired = Retired(key, now, held, schema)
    if box is not None:
        box.index.close()
    from swissbox.mailstore.store import CHANGED, NEW

    store.publish(key, "INBOX", CHANGED)  # other front ends drop their caches of it
    for folder in folders:  # wakes idling sessions here and elsewhere: they find it gone
        store._tell(store._subscribers, key, (key, folder, []))
        store.publish(key, folder, NEW, [])
    return retired


def _retire_schema(url: str, key: str, now: int, drop: bool) -> str | None:
    """Renames (or drops) the mailbox's index schema under the mailbox's lock, so no
    writer of any front end is half-way through it. Returns the new name."""
    from swissbox.mailstore.pgindex import LOCK_CLASS, lock_key, schema_name, shared_pool

    schema = schema_name(key)
    token = hashlib.sha256(f"{schema}/{now}/{secrets.token_hex(8)}".encode()).hexdigest()[:16]
    new = f"del_{now}_{token}"
    with shared_pool(url).connection() as conn, conn.transaction():
        conn.execute(f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, {lock_key(schema)})")
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        if found.fetchone() is None:
            return None
        if drop:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            return None
        conn.execute(f'ALTER SCHEMA "{schema}" RENAME TO "{new}"')
    return new


def held(root: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every retired mailbox under `root` with its note, oldest first."""
    holding = Path(root) / HOLDING
    out = []
    for path in sorted(holding.iterdir()) if holding.is_dir() else []:
        try:
            note = json.loads((path / NOTE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            note = {"address": path.name, "deleted": int(path.stat().st_mtime), "schema": None}
        out.append((path, note))
    return sorted(out, key=lambda item: int(item[1].get("deleted", 0)))


def purge(root: Path, url: str | None, days: int, now: float | None = None) -> int:
    """Erases the mail of mailboxes deleted at least `days` ago; returns how many."""
    now = time.time() if now is None else now
    count = 0
    for path, note in held(root):
        if int(note.get("deleted", 0)) + days * DAY > now:
            continue
        schema = note.get("schema")
        if schema and url:
            _drop_schema(url, str(schema))
        shutil.rmtree(path, ignore_errors=True)
        count += 1
    return count


def _drop_schema(url: str, schema: str) -> None:
    from swissbox.mailstore.pgindex import shared_pool

    if not schema.startswith("del_") or '"' in schema:
        log.warning("left a held index schema with an unexpected name %r", schema)
        return
    with shared_pool(url).connection() as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
