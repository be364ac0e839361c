"""`swissbox migrate`'s DAV part: the members' collections moved between Radicale's file
storage (`<data>/dav`) and PostgreSQL, replacing what the target holds, verifiably.

Every collection keeps its path and properties, every item its href, text and etag, so
clients keep their URLs and see no changed etag; only sync tokens start again (a client
presenting an old one is told to resync). `dav_report` counts collections and items and
takes a SHA-256 over (path, properties, href, etag) in a canonical order, for both sides.
The source is read and the target written under each storage's exclusive lock.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import radicale.config
import radicale.item as radicale_item
import radicale.storage
from radicale import pathutils
from radicale.storage import BaseCollection

from swissbox.dav.pgstorage import ITEM_COLUMNS, OneConnection, PgStorage, item_values, migrate
from swissbox.store import is_postgres_url


@dataclass
class Collected:
    """One collection as read from a storage: path, properties, items."""

    path: str
    props: dict[str, str]
    items: list[radicale_item.Item] = field(default_factory=list)


@dataclass(frozen=True)
class DavSum:
    collections: int
    items: int
    sha256: str


@contextmanager
def opened(place: Path | str) -> Iterator[Any]:
    """Radicale's storage over the `<data>/dav` folder or the PostgreSQL URL `place`."""
    cfg = radicale.config.load()
    if not is_postgres_url(place):
        Path(place).mkdir(parents=True, exist_ok=True)
        cfg.update(
            {"storage": {"type": "multifilesystem", "filesystem_folder": str(place)}},
            "swissbox",
            privileged=True,
        )
        yield radicale.storage.load(cfg)
        return
    migrate(str(place))
    pool = OneConnection(str(place))
    try:
        yield PgStorage.over(pool)(cfg)
    finally:
        pool.close()


def read_all(storage: Any) -> list[Collected]:
    """Every collection below the root with its items, parents before children."""
    out: list[Collected] = []
    pending = ["/"]
    while pending:
        path = pending.pop()
        for found in storage.discover(path, "1"):
            if isinstance(found, BaseCollection):
                if pathutils.unstrip_path(found.path, True) == path:
                    if found.path:
                        out.append(Collected(found.path, dict(found.get_meta())))
                else:
                    pending.append(pathutils.unstrip_path(found.path, True))
            elif out and out[-1].path == pathutils.strip_path(path):
                out[-1].items.append(found)
    out.sort(key=lambda c: c.path)
    return out


def summarize(collections: list[Collected]) -> DavSum:
    digest = hashlib.sha256()
    items = 0
    for c in sorted(collections, key=lambda c: c.path):
        digest.update(f"{c.path}\n{json.dumps(c.props, sort_keys=True)}\n".encode())
        for item in sorted(c.items, key=lambda i: i.href or ""):
            digest.update(f"{c.path}/{item.href} {item.etag}\n".encode())
            items += 1
    return DavSum(len(collections), items, digest.hexdigest())


def dav_report(place: Path | str) -> DavSum:
    with opened(place) as storage, storage.acquire_lock("r"):
        return summarize(read_all(storage))


def _epoch(item: radicale_item.Item) -> float:
    try:
        return parsedate_to_datetime(item.last_modified or "").timestamp()
    except (TypeError, ValueError):
        return time.time()


def _write_postgres(storage: PgStorage, collections: list[Collected]) -> None:
    now = time.time()
    with storage.connection() as conn, conn.transaction():
        conn.execute("DELETE FROM dav_collections")
        for c in collections:
            row = conn.execute(
                "INSERT INTO dav_collections (path, parent, props, modified)"
                " VALUES (%s, %s, %s, %s) RETURNING id",
                (c.path, c.path.rpartition("/")[0], json.dumps(c.props, sort_keys=True), now),
            ).fetchone()
            rows = []
            for i in c.items:  # the columns and checks of PgCollection.upload
                uid, etag, name, component, start, end, text = item_values(i)
                rows.append(
                    (row[0], i.href, uid, etag, name, component, start, end, _epoch(i), text)
                )
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO dav_items (collection_id, {ITEM_COLUMNS})"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )


def _write_files(storage: Any, folder: Path, collections: list[Collected]) -> None:
    root = folder / "collection-root"
    if root.exists():
        shutil.rmtree(root)
    for c in collections:
        path = pathutils.unstrip_path(c.path, True)
        if not c.props:
            storage.create_collection(path)
            continue
        coll, _, _ = storage.create_collection(path, props=c.props)
        for item in c.items:
            assert item.href
            coll.upload(item.href, item)


def copy_dav(source: Path | str, target: Path | str) -> tuple[DavSum, DavSum]:
    """Replaces the collections of `target` with those of `source`; (source, target) sums."""
    with ExitStack() as stack:
        src = stack.enter_context(opened(source))
        dst = stack.enter_context(opened(target))
        stack.enter_context(src.acquire_lock("w"))  # nobody writes while we read
        collections = read_all(src)
        stack.enter_context(dst.acquire_lock("w"))
        if isinstance(dst, PgStorage):
            _write_postgres(dst, collections)
        else:
            _write_files(dst, Path(target), collections)
        return summarize(collections), summarize(read_all(dst))
