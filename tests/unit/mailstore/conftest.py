"""The mail store's tests run once per index backend: SQLite files (the default) and a schema
per mailbox in PostgreSQL (one database per test module on the session's one server; the
mailbox schemas are dropped after each test, cheaper than a database per test).

A test module that makes a `MailStore` gets both (unless it names its own `INDEX_BACKENDS`);
the PostgreSQL run gives every `MailStore(root)` of the test that database as its
`index_url`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from swissbox.mailstore import store as store_module

BACKENDS = ["sqlite", "postgresql"]
DROP_MAILBOX_SCHEMAS = """
DO $$ DECLARE s text; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mbx\\_%' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
END $$"""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "index_backend" in metafunc.fixturenames:
        uses_store = hasattr(metafunc.module, "MailStore")
        default = BACKENDS if uses_store else ["sqlite"]
        backends = getattr(metafunc.module, "INDEX_BACKENDS", default)
        metafunc.parametrize("index_backend", backends, indirect=True)


@pytest.fixture(scope="module")
def module_database(request: pytest.FixtureRequest) -> Iterator[str]:
    url: str = request.getfixturevalue("postgres").new_database()
    yield url
    release_url(url)


@pytest.fixture(autouse=True)
def index_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite"
        return
    url: str = request.getfixturevalue("module_database")
    with_url(monkeypatch, url)
    yield url
    release_url(url)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(DROP_MAILBOX_SCHEMAS)


def with_url(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Every MailStore made from now on in this test keeps its index in `url`."""
    plain = store_module.MailStore.__init__

    def init(self: Any, root: Any, index_url: str | None = None) -> None:
        plain(self, root, index_url or url)

    monkeypatch.setattr(store_module.MailStore, "__init__", init)


def release_url(url: str) -> None:
    """Closes what a test left open on its database (pools, the bus of stores not closed)."""
    from swissbox.mailstore import pgindex
    from swissbox.store import events

    pgindex.close_pools()
    with events._shared_lock:
        entry = events._shared.pop(url, None)
    if entry is not None:
        entry[0].close()
