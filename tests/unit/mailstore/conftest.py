"""The mail store's tests run once per index backend: SQLite files (the default) and, in a
fresh PostgreSQL database per test on the session's one server, a schema per mailbox.

A test module that makes a `MailStore` gets both (unless it names its own `INDEX_BACKENDS`);
the PostgreSQL run gives every `MailStore(root)` of the test that database as its
`index_url`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from swissbox.mailstore import store as store_module

BACKENDS = ["sqlite", "postgresql"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "index_backend" in metafunc.fixturenames:
        uses_store = hasattr(metafunc.module, "MailStore")
        default = BACKENDS if uses_store else ["sqlite"]
        backends = getattr(metafunc.module, "INDEX_BACKENDS", default)
        metafunc.parametrize("index_backend", backends, indirect=True)


@pytest.fixture(autouse=True)
def index_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite"
        return
    url = request.getfixturevalue("postgres").new_database()
    with_url(monkeypatch, url)
    yield url
    release_url(url)


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
