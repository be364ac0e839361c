"""Radicale storage on PostgreSQL: the members' calendars and address books in the `dav`
store's tables (`sqlschema.py`), so that several front ends serve the same collections.

Locking (`acquire_lock`) holds across front ends with session advisory locks on the
connection that serves the request: a request of user U holds the storage-wide key shared and
U's key in the request's mode, so different members never wait for each other (the rights
keep each member inside `/<U>/`), while a tool acting for nobody (`user=""`: the CLI, the
migration) takes the storage-wide key itself. Every write is one transaction.

The plugin keeps its own connection pool rather than a store's single shared connection
(`open_database(url, "dav")` only migrates the tables): the lock is a session lock, so each
request needs a connection of its own for as long as Radicale holds it, and the DAV worker
threads must not queue behind one another on one connection. Its writes take neither the
directory's writer lock nor the generation every directory cache watches.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from typing import Any, ClassVar, overload

from radicale import config, pathutils, types
from radicale import item as radicale_item
from radicale.item import filter as radicale_filter
from radicale.storage import BaseCollection, BaseStorage, ComponentNotFoundError

SYNC_PREFIX = "http://swissbox.invalid/ns/sync/"
# Advisory lock keys (two-int form): (LOCK_SPACE, 0) is storage-wide,
# (LOCK_SPACE + 1, hashtext(user)) one member's.
LOCK_SPACE = 0x5B0C_DA7
# A front end that vanishes (power, network) holds its members' locks until PostgreSQL sees
# its connections dead: with these, within about a minute rather than the system's two hours.
SERVER_KEEPALIVES = (
    "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"
)
ITEM_COLUMNS = "href, uid, etag, name, component, start_time, end_time, modified, text"
_COLLECTION_COLUMNS = "id, path, props, seq, pruned, modified"


def http_date(timestamp: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(timestamp))


def _check_name(name: str) -> None:
    """Names stay what the file storage accepts, so the data can always move back there."""
    if not pathutils.is_safe_filesystem_path_component(name):
        raise pathutils.UnsafePathError(name)


def item_values(item: radicale_item.Item) -> tuple[str, str, str, str, int, int, str]:
    """(uid, etag, name, component, start, end, text) of an item about to be stored."""
    text = item.serialize()
    if "\x00" in text:
        raise ValueError("a NUL character cannot be stored")
    start, end = item.time_range
    return item.uid, item.etag, item.name, item.component_name, start, end, text


class _Held(threading.local):
    """This thread's connection (the one holding its storage lock when `mode` is set)."""

    conn: Any = None
    mode: str = ""


class PgCollection(BaseCollection):
    """One collection row (read when discovered; refreshed by this object's own writes)."""

    def __init__(self, storage: PgStorage, row: Sequence[Any] | None) -> None:
        self._storage = storage
        if row is None:  # the root: always there, never stored
            row = (None, "", "{}", 0, 0, 0.0)
        self._id: int | None = row[0]
        self._path: str = row[1]
        self._props: dict[str, str] = json.loads(row[2])
        self._seq: int = row[3]
        self._pruned: int = row[4]
        self._modified: float = row[5]

    @property
    def path(self) -> str:
        return self._path

    # -- metadata -----------------------------------------------------------------------------

    @overload
    def get_meta(self, key: None = None) -> Mapping[str, str]: ...

    @overload
    def get_meta(self, key: str) -> str | None: ...

    def get_meta(self, key: str | None = None) -> Mapping[str, str] | str | None:
        return dict(self._props) if key is None else self._props.get(key)

    def set_meta(self, props: Mapping[str, str]) -> None:
        text = json.dumps(dict(props), sort_keys=True)
        now = time.time()
        with self._storage.connection() as conn:
            conn.execute(
                "UPDATE dav_collections SET props = %s, modified = %s WHERE id = %s",
                (text, now, self._id),
            )
        self._props, self._modified = json.loads(text), now

    @property
    def last_modified(self) -> str:
        return http_date(self._modified)

    @property
    def etag(self) -> str:
        """Moves with every change of an item (`seq`) and of the properties."""
        props = json.dumps(self._props, sort_keys=True)
        digest = hashlib.sha256(f"{self._id}/{self._seq}/{props}".encode()).hexdigest()
        return f'"{digest}"'

    # -- items --------------------------------------------------------------------------------

    def _item(self, row: Sequence[Any]) -> radicale_item.Item:
        href, uid, etag, name, component, start, end, modified, text = row
        return radicale_item.Item(
            collection=self,
            href=href,
            last_modified=http_date(modified),
            text=text,
            etag=etag,
            uid=uid,
            name=name,
            component_name=component,
            time_range=(start, end),
        )

    def _rows(self, where: str = "", args: Sequence[Any] = ()) -> list[Sequence[Any]]:
        if self._id is None:
            return []
        with self._storage.connection() as conn:
            return list(
                conn.execute(
                    f"SELECT {ITEM_COLUMNS} FROM dav_items WHERE collection_id = %s{where}"
                    " ORDER BY href",
                    (self._id, *args),
                ).fetchall()
            )

    def get_one(self, href: str) -> radicale_item.Item | None:
        if not pathutils.is_safe_filesystem_path_component(href):
            return None
        rows = self._rows(" AND href = %s", (href,))
        return self._item(rows[0]) if rows else None

    def get_multi(self, hrefs: Iterable[str]) -> Iterator[tuple[str, radicale_item.Item | None]]:
        wanted = list(dict.fromkeys(hrefs))
        if not wanted:
            return
        found = {row[0]: row for row in self._rows(" AND href = ANY(%s)", (wanted,))}
        for href in wanted:
            row = found.get(href)
            yield href, (self._item(row) if row is not None else None)

    def get_all(self) -> Iterator[radicale_item.Item]:
        for row in self._rows():
            yield self._item(row)

    def get_filtered(
        self, filters: Iterable[ET.Element]
    ) -> Iterator[tuple[radicale_item.Item, bool]]:
        """The time range and component prefilter run in SQL (same rule as Radicale's)."""
        if not self.tag:
            return
        tag, start, end, simple = radicale_filter.simplify_prefilters(filters, self.tag)
        where = " AND start_time < %s AND end_time > %s"
        args: list[Any] = [end, start]
        if tag is not None:
            where += " AND component = %s"
            args.append(tag)
        for row in self._rows(where, args):
            item = self._item(row)
            istart, iend = item.time_range
            yield item, simple and (start <= istart or iend <= end)

    def has_uid(self, uid: str) -> bool:
        with self._storage.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM dav_items WHERE collection_id = %s AND uid = %s LIMIT 1",
                (self._id, uid),
            ).fetchone()
        return row is not None

    # -- writes -------------------------------------------------------------------------------

    def _changed(self, conn: Any, hrefs: Iterable[str], now: float) -> None:
        """Records one change of `hrefs` (inside the caller's transaction)."""
        row = conn.execute(
            "UPDATE dav_collections SET seq = seq + 1, modified = %s WHERE id = %s RETURNING seq",
            (now, self._id),
        ).fetchone()
        self._seq, self._modified = int(row[0]), now
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO dav_changes (collection_id, href, seq, changed)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (collection_id, href)"
                " DO UPDATE SET seq = EXCLUDED.seq, changed = EXCLUDED.changed",
                [(self._id, href, self._seq, now) for href in hrefs],
            )

    def _forget_old_deletions(self, conn: Any, now: float) -> None:
        """Tombstones older than `max_sync_token_age` go; tokens from before them with them."""
        row = conn.execute(
            "WITH gone AS (DELETE FROM dav_changes c WHERE c.collection_id = %s"
            " AND c.changed < %s AND NOT EXISTS (SELECT 1 FROM dav_items i"
            " WHERE i.collection_id = c.collection_id AND i.href = c.href) RETURNING c.seq)"
            " SELECT MAX(seq) FROM gone",
            (self._id, now - self._storage.max_sync_token_age),
        ).fetchone()
        if row is not None and row[0] is not None:
            conn.execute(
                "UPDATE dav_collections SET pruned = GREATEST(pruned, %s) WHERE id = %s",
                (row[0], self._id),
            )
            self._pruned = max(self._pruned, int(row[0]))

    def upload(
        self, href: str, item: radicale_item.Item
    ) -> tuple[radicale_item.Item, radicale_item.Item | None]:
        _check_name(href)
        if self._id is None:
            raise ValueError("items cannot be stored in the root collection")
        values = item_values(item)
        now = time.time()
        with self._storage.connection() as conn, conn.transaction():
            old_rows = self._rows(" AND href = %s", (href,))
            old = self._item(old_rows[0]) if old_rows else None
            conn.execute(
                f"INSERT INTO dav_items (collection_id, {ITEM_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (collection_id, href) DO UPDATE SET uid = EXCLUDED.uid,"
                " etag = EXCLUDED.etag, name = EXCLUDED.name, component = EXCLUDED.component,"
                " start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time,"
                " modified = EXCLUDED.modified, text = EXCLUDED.text",
                (self._id, href, values[0], values[1], values[2], values[3], values[4],
                 values[5], now, values[6]),
            )  # fmt: skip
            if old is None or old.etag != values[1]:
                self._changed(conn, [href], now)
        new = self.get_one(href)
        assert new is not None
        return new, old

    def delete(self, href: str | None = None) -> None:
        now = time.time()
        with self._storage.connection() as conn, conn.transaction():
            if href is None:
                if self._id is None:
                    raise ValueError("the root collection cannot be deleted")
                conn.execute(
                    "DELETE FROM dav_collections WHERE path = %s OR starts_with(path, %s)",
                    (self._path, self._path + "/"),
                )
                return
            _check_name(href)
            gone = conn.execute(
                "DELETE FROM dav_items WHERE collection_id = %s AND href = %s RETURNING 1",
                (self._id, href),
            ).fetchone()
            if gone is None:
                raise ComponentNotFoundError(href)
            self._changed(conn, [href], now)
            self._forget_old_deletions(conn, now)

    # -- sync ---------------------------------------------------------------------------------

    def sync(self, old_token: str = "") -> tuple[str, Iterable[str]]:
        if self._id is None:
            return super().sync(old_token)
        token = f"{SYNC_PREFIX}{self._id}/{self._seq}"
        if not old_token:
            with self._storage.connection() as conn:
                rows = conn.execute(
                    "SELECT href FROM dav_items WHERE collection_id = %s ORDER BY href",
                    (self._id,),
                ).fetchall()
            return token, [row[0] for row in rows]
        prefix = f"{SYNC_PREFIX}{self._id}/"
        since = old_token[len(prefix) :] if old_token.startswith(prefix) else ""
        if not since.isdigit() or len(since) > 18:
            raise ValueError(f"sync token {old_token[:200]!r} is not one of this collection")
        if not self._pruned <= int(since) <= self._seq:
            raise ValueError(f"sync token {old_token[:200]!r} is too old or from the future")
        if int(since) == self._seq:
            return token, []
        with self._storage.connection() as conn:
            rows = conn.execute(
                "SELECT href FROM dav_changes WHERE collection_id = %s AND seq > %s ORDER BY href",
                (self._id, int(since)),
            ).fetchall()
        return token, [row[0] for row in rows]


class PgStorage(BaseStorage):
    """Bind a psycopg `ConnectionPool` (autocommit connections) with `PgStorage.over(pool)`
    before handing the class to Radicale."""

    _is_collision_free = True
    _supports_unicode = True
    _supports_trailing_whitespace = True
    _supports_problematic_chars = True
    pool: ClassVar[Any]

    @classmethod
    def over(cls, pool: Any) -> type[PgStorage]:
        return type(cls.__name__, (cls,), {"pool": pool})

    def __init__(self, configuration: config.Configuration) -> None:
        super().__init__(configuration)
        self.max_sync_token_age = int(configuration.get("storage", "max_sync_token_age"))
        self._held = _Held()

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """The connection holding this thread's lock, else one from the pool for the
        outermost block (nested blocks share it, and so its transaction)."""
        held = self._held
        if held.conn is not None:
            yield held.conn
            return
        with self.pool.connection() as conn:
            held.conn = conn
            try:
                yield conn
            finally:
                held.conn = None

    @types.contextmanager
    def acquire_lock(self, mode: str, user: str = "", *args: Any, **kwargs: Any) -> Iterator[None]:
        if mode not in ("r", "w"):
            raise ValueError(f"lock mode {mode!r}")
        held = self._held
        if held.mode:  # nested: the outer lock covers it
            if mode == "w" and held.mode != "w":
                raise RuntimeError("a read lock cannot become a write lock")
            yield
            return
        if held.conn is not None:
            raise RuntimeError("the storage lock is taken before any other storage call")
        kind = "_shared" if mode == "r" else ""
        lock: tuple[str, tuple[Any, ...]]
        unlock: tuple[str, tuple[Any, ...]]
        if user:  # one round trip each way; the storage-wide key first (a nested SELECT
            # runs before the outer one), so no two requests take them in opposite orders
            lock = (
                f"SELECT pg_advisory_lock{kind}(%s, hashtext(%s))"
                " FROM (SELECT pg_advisory_lock_shared(%s, 0)) AS storage_wide",
                (LOCK_SPACE + 1, user, LOCK_SPACE),
            )
            unlock = (
                f"SELECT pg_advisory_unlock{kind}(%s, hashtext(%s)),"
                " pg_advisory_unlock_shared(%s, 0)",
                (LOCK_SPACE + 1, user, LOCK_SPACE),
            )
        else:
            lock = (f"SELECT pg_advisory_lock{kind}(%s, 0)", (LOCK_SPACE,))
            unlock = (f"SELECT pg_advisory_unlock{kind}(%s, 0)", (LOCK_SPACE,))
        with self.pool.connection() as conn:
            try:
                conn.execute(*lock)
            except BaseException:
                conn.close()  # a lock it may have taken before failing ends with the session
                raise
            try:
                held.conn, held.mode = conn, mode
                yield
            finally:
                held.conn, held.mode = None, ""
                try:
                    conn.execute(*unlock)
                except Exception:
                    conn.close()  # the session's locks end with it; the pool drops it
                    raise

    # -- lookups ------------------------------------------------------------------------------

    def collection_at(self, path: str) -> PgCollection | None:
        if not path:
            return PgCollection(self, None)
        with self.connection() as conn:
            row = conn.execute(
                f"SELECT {_COLLECTION_COLUMNS} FROM dav_collections WHERE path = %s", (path,)
            ).fetchone()
        return PgCollection(self, row) if row is not None else None

    def _collections_at(self, paths: list[str]) -> dict[str, PgCollection]:
        """The collections at `paths` that exist, in one query (a path and its parent: an
        item's lookup needs no second round trip)."""
        with self.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLLECTION_COLUMNS} FROM dav_collections WHERE path = ANY(%s)",
                (paths,),
            ).fetchall()
        return {row[1]: PgCollection(self, row) for row in rows}

    def children(self, path: str) -> list[PgCollection]:
        with self.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLLECTION_COLUMNS} FROM dav_collections WHERE parent = %s"
                " ORDER BY path",
                (path,),
            ).fetchall()
        return [PgCollection(self, row) for row in rows]

    def discover(
        self,
        path: str,
        depth: str = "0",
        child_context_manager: Callable[[str, str | None], ContextManager[None]] | None = None,
        user_groups: set[str] = set(),  # noqa: B006 (Radicale's signature)
    ) -> Iterator[types.CollectionOrItem]:
        sane = pathutils.strip_path(path)
        parent, _, href = sane.rpartition("/")
        found = self._collections_at([sane, parent]) if sane else {"": PgCollection(self, None)}
        collection = found.get(sane)
        if collection is None:
            owner = found.get(parent) if parent else None
            item = owner.get_one(href) if owner is not None else None
            if item is not None:
                yield item
            return
        yield collection
        if depth == "0":
            return
        guard = child_context_manager or (lambda _path, _href: _null())
        for item in collection.get_all():
            with guard(sane, item.href):
                yield item
        for child in self.children(sane):
            with guard(child.path, None):
                yield child

    # -- writes -------------------------------------------------------------------------------

    def _ensure(self, conn: Any, path: str, now: float) -> bool:
        """`path` and its ancestors exist (as plain collections when new), like makedirs;
        True when `path` itself was made."""
        parts = path.split("/")
        made = False
        for n in range(1, len(parts) + 1):
            made = (
                conn.execute(
                    "INSERT INTO dav_collections (path, parent, props, modified)"
                    " VALUES (%s, %s, '{}', %s) ON CONFLICT (path) DO NOTHING RETURNING id",
                    ("/".join(parts[:n]), "/".join(parts[: n - 1]), now),
                ).fetchone()
                is not None
            )
        return made

    def create_collection(
        self,
        href: str,
        items: Iterable[radicale_item.Item] | None = None,
        props: Mapping[str, str] | None = None,
    ) -> tuple[Any, dict[str, radicale_item.Item], list[str]]:
        sane = pathutils.strip_path(href)
        if not sane:
            raise ValueError("the root collection cannot be created")
        for part in sane.split("/"):
            _check_name(part)
        now = time.time()
        with self.connection() as conn, conn.transaction():
            made = self._ensure(conn, sane, now)
            if not props and not made and "/" not in sane:
                # A principal that exists already: Radicale then leaves its predefined
                # collections alone (two first requests at once, on one front end or two,
                # would otherwise both make them, the second emptying what the first stored).
                return None, {}, []
            collection = self.collection_at(sane)
            assert collection is not None
            if not props:
                return collection, {}, []
            old = {item.href: item for item in collection.get_all() if item.href}
            conn.execute("DELETE FROM dav_collections WHERE starts_with(path, %s)", (sane + "/",))
            conn.execute("DELETE FROM dav_items WHERE collection_id = %s", (collection._id,))
            collection.set_meta(props)
            hrefs = self._insert_all(conn, collection, items or (), props.get("tag", ""), now)
            if old or hrefs:
                collection._changed(conn, set(old) | set(hrefs), now)
        replaced = {h: old[h] for h in hrefs if h in old}
        return collection, replaced, [h for h in hrefs if h not in old]

    def _insert_all(
        self,
        conn: Any,
        collection: PgCollection,
        items: Iterable[radicale_item.Item],
        tag: str,
        now: float,
    ) -> list[str]:
        """Stores the items of a whole-collection PUT under hrefs chosen as Radicale's file
        storage chooses them (UID + suffix, else the UID's hash, else a random name)."""
        suffix = {"VCALENDAR": ".ics", "VADDRESSBOOK": ".vcf"}.get(tag)
        if suffix is None:
            return []
        taken: set[str] = set()

        def free(name: str) -> bool:
            return pathutils.is_safe_filesystem_path_component(name) and name not in taken

        rows = []
        for item in items:
            uid = item.uid
            candidates = [
                uid if uid.lower().endswith(suffix) else uid + suffix,
                radicale_item.get_etag(uid).strip('"') + suffix,
            ]
            href = next((c for c in candidates if free(c)), None) or (
                radicale_item.find_available_uid(lambda h: not free(h), suffix)
            )
            taken.add(href)
            uid_, etag, name, component, start, end, text = item_values(item)
            rows.append((collection._id, href, uid_, etag, name, component, start, end, now, text))
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO dav_items (collection_id, {ITEM_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        return [row[1] for row in rows]

    def move(self, item: radicale_item.Item, to_collection: BaseCollection, to_href: str) -> None:
        _check_name(to_href)
        source = item.collection
        assert isinstance(source, PgCollection) and isinstance(to_collection, PgCollection)
        assert item.href
        now = time.time()
        with self.connection() as conn, conn.transaction():
            # both collections' rows first, in id order: two moves in opposite directions
            # would otherwise each hold one and wait for the other (a deadlock)
            conn.execute(
                "SELECT id FROM dav_collections WHERE id IN (%s, %s) ORDER BY id FOR UPDATE",
                (source._id, to_collection._id),
            )
            conn.execute(
                "DELETE FROM dav_items WHERE collection_id = %s AND href = %s",
                (to_collection._id, to_href),
            )
            conn.execute(
                "UPDATE dav_items SET collection_id = %s, href = %s, modified = %s"
                " WHERE collection_id = %s AND href = %s",
                (to_collection._id, to_href, now, source._id, item.href),
            )
            if source._id == to_collection._id:
                to_collection._changed(conn, [item.href, to_href], now)
            else:
                to_collection._changed(conn, [to_href], now)
                source._changed(conn, [item.href], now)
            source._forget_old_deletions(conn, now)

    def verify(self) -> bool:
        return True


@contextmanager
def _null() -> Iterator[None]:
    yield


class OneConnection:
    """A pool of one connection (a command-line tool's: no pool threads to start and stop)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)

    @contextmanager
    def connection(self) -> Iterator[Any]:
        yield self.conn

    def close(self) -> None:
        self.conn.close()


def migrate(url: str) -> None:
    """The `dav` tables at this swissbox's version."""
    from swissbox.dav.sqlschema import MIGRATIONS
    from swissbox.store import open_database

    with open_database(url, name="dav") as db:
        db.migrate(MIGRATIONS)


def open_pool(url: str, size: int) -> Any:
    """The plugin's connections (autocommit; at most `size`), the `dav` tables migrated first."""
    from psycopg_pool import ConnectionPool

    migrate(url)
    return ConnectionPool(
        url,
        min_size=1,
        max_size=max(size, 2),
        kwargs={"autocommit": True, "options": SERVER_KEEPALIVES},
        check=ConnectionPool.check_connection,  # one that broke (a restart) is replaced
        name="dav",
        open=True,
    )
