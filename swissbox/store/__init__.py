"""The storage seam: one `Database` interface with a SQLite and a PostgreSQL implementation.

Tables and queries are written once, in the SQL both engines speak (`?` placeholders,
`INSERT ... ON CONFLICT DO NOTHING`, `RETURNING id`, `COLLATE NOCASE`); migrations are
rendered per engine by `migrations.render`. Callers never learn which engine runs.
"""

from swissbox.store.base import Database, Result, Row, StoreError, Tx
from swissbox.store.open import is_postgres_url, open_database

__all__ = ["Database", "Result", "Row", "StoreError", "Tx", "is_postgres_url", "open_database"]
