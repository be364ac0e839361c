"""A member's calendars and address books in PostgreSQL (`[store] url`): list them, hand
them to another member, or delete them — `data.py`'s folder operations on the `dav` tables.

Changes hold the storage-wide advisory lock exclusively (what the CLI's Radicale lock is
for files), so they are safe while any number of front ends serve DAV.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from swissbox.dav.app import PREDEFINED
from swissbox.dav.data import CollectionInfo, handed_name, handed_props, kind_of
from swissbox.dav.pgstorage import LOCK_SPACE, migrate


@contextmanager
def connected(url: str) -> Iterator[Any]:
    """An autocommit connection to the `dav` tables (migrated first)."""
    import psycopg

    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


@contextmanager
def locked(url: str) -> Iterator[Any]:
    """One transaction under the storage-wide lock, taken exclusively."""
    with connected(url) as conn:
        conn.execute("SELECT pg_advisory_lock(%s, 0)", (LOCK_SPACE,))
        try:
            with conn.transaction():
                yield conn
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, 0)", (LOCK_SPACE,))


def _children(conn: Any, login: str) -> list[tuple[int, str, dict[str, str], int]]:
    rows = conn.execute(
        "SELECT c.id, c.path, c.props, (SELECT COUNT(*) FROM dav_items i"
        " WHERE i.collection_id = c.id) FROM dav_collections c WHERE c.parent = %s"
        " ORDER BY c.path",
        (login,),
    ).fetchall()
    return [(r[0], r[1].rsplit("/", 1)[1], json.loads(r[2]), int(r[3])) for r in rows]


def collections(url: str, login: str) -> list[CollectionInfo]:
    with connected(url) as conn:
        return [
            CollectionInfo(name, kind_of(props), props.get("D:displayname", ""), items)
            for _id, name, props, items in _children(conn, login)
        ]


def _exists(conn: Any, path: str) -> bool:
    row = conn.execute("SELECT 1 FROM dav_collections WHERE path = %s", (path,)).fetchone()
    return row is not None


def ensure_principal(conn: Any, login: str, now: float) -> None:
    """The principal, made with the default collections when the member never logged in."""
    if _exists(conn, login):
        return
    conn.execute(
        "INSERT INTO dav_collections (path, parent, props, modified) VALUES (%s, '', '{}', %s)",
        (login, now),
    )
    for name, props in PREDEFINED.items():
        conn.execute(
            "INSERT INTO dav_collections (path, parent, props, modified) VALUES (%s, %s, %s, %s)",
            (f"{login}/{name}", login, json.dumps(props, sort_keys=True), now),
        )


def _move_tree(conn: Any, old: str, new: str) -> None:
    """Collections below `old` (none unless made by hand) follow it to `new`."""
    conn.execute(
        "UPDATE dav_collections SET path = %s || substr(path, %s),"
        " parent = %s || substr(parent, %s) WHERE starts_with(path, %s)",
        (new, len(old) + 1, new, len(old) + 1, old + "/"),
    )


def transfer(url: str, login: str, to: str) -> list[tuple[str, str]]:
    """As `data.transfer`: every collection of `login` moves to `to`, renamed if taken."""
    moved: list[tuple[str, str]] = []
    now = time.time()
    with locked(url) as conn:
        if not _exists(conn, login):
            return moved
        ensure_principal(conn, to, now)
        for coll_id, name, props, _items in _children(conn, login):
            new = handed_name(name, login, lambda n: _exists(conn, f"{to}/{n}"))
            conn.execute(
                "UPDATE dav_collections SET path = %s, parent = %s, props = %s, modified = %s"
                " WHERE id = %s",
                (f"{to}/{new}", to, json.dumps(handed_props(props, name, login), sort_keys=True),
                 now, coll_id),
            )  # fmt: skip
            _move_tree(conn, f"{login}/{name}", f"{to}/{new}")
            moved.append((name, new))
        conn.execute("DELETE FROM dav_collections WHERE path = %s", (login,))
    return moved


def delete(url: str, login: str) -> int:
    """As `data.delete`: every collection of `login` with its principal; how many."""
    with locked(url) as conn:
        count = len(_children(conn, login))
        conn.execute(
            "DELETE FROM dav_collections WHERE path = %s OR starts_with(path, %s)",
            (login, login + "/"),
        )
    return count
