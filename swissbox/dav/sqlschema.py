"""Tables of the members' own calendars and address books on PostgreSQL (the `dav` store,
`open_database(url, name="dav")`), written in the shared SQLite spelling like every store's.

- `dav_collections`: one row per collection (principals too) by its Radicale path, with its
  properties (what `.Radicale.props` holds in the file storage) and a change counter `seq`;
  `pruned` is the highest change forgotten (older sync tokens are refused).
- `dav_items`: the resources with what Radicale's item cache keeps (etag, UID, component,
  time range), so that listing, filtering and etags never parse a vCard or an iCalendar.
- `dav_changes`: the last change of each href (present or deleted) as the `seq` it got:
  sync-collection answers `seq > token` in one query.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    """
    CREATE TABLE dav_collections (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        parent TEXT NOT NULL,
        props TEXT NOT NULL,
        seq INTEGER NOT NULL DEFAULT 0,
        pruned INTEGER NOT NULL DEFAULT 0,
        modified REAL NOT NULL
    );
    CREATE INDEX dav_collections_parent ON dav_collections (parent);
    CREATE TABLE dav_items (
        collection_id INTEGER NOT NULL REFERENCES dav_collections (id) ON DELETE CASCADE,
        href TEXT NOT NULL,
        uid TEXT NOT NULL,
        etag TEXT NOT NULL,
        name TEXT NOT NULL,
        component TEXT NOT NULL,
        start_time INTEGER NOT NULL,
        end_time INTEGER NOT NULL,
        modified REAL NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (collection_id, href)
    );
    CREATE INDEX dav_items_uid ON dav_items (collection_id, uid);
    CREATE TABLE dav_changes (
        collection_id INTEGER NOT NULL REFERENCES dav_collections (id) ON DELETE CASCADE,
        href TEXT NOT NULL,
        seq INTEGER NOT NULL,
        changed REAL NOT NULL,
        PRIMARY KEY (collection_id, href)
    );
    CREATE INDEX dav_changes_seq ON dav_changes (collection_id, seq)
    """,
]
