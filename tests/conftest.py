"""Shared test fixtures: repository paths, the shared corpus, and tool lookup."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SWISSBOX_SHARED", ROOT.parent / "shared"))
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_path(path: Path) -> Path:
    """The path, or skip (fail under CI) when it is missing."""
    if not path.exists():
        if IN_CI:
            pytest.fail(f"required test data missing: {path}")
        pytest.skip(f"test data missing: {path}")
    return path


def require_tool(name: str) -> str:
    """Absolute path of a client tool; skip locally, fail under CI=true when absent."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        if IN_CI:
            pytest.fail(f"tool {name!r} missing (make test-tools)")
        pytest.skip(f"tool {name!r} not installed (make test-tools)")
    return found


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return require_path(SHARED / "corpus")


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the whole run (skipped locally, a failure under CI=true,
    when PostgreSQL is not installed); tests take a fresh database each with `new_database`."""
    from tests.support.postgres import pg_bin, running_postgres

    if pg_bin() is None:
        require_tool("initdb")
    # Not under pytest's temporary folder: that is private to root, and the server runs as
    # the postgres user when the tests run as root.
    folder = Path(tempfile.mkdtemp(prefix="swissbox-pg-"))
    try:
        with running_postgres(folder) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store lives, once per backend: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "db.sqlite")
    return str(request.getfixturevalue("postgres").new_database())


def table_dump(db) -> list[tuple]:
    """Every row of every table of a store's database, sorted: equal dumps, equal data."""
    if db.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    else:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    out: list[tuple] = []
    for (table,) in db.all(sql):
        out += sorted((table, *row) for row in db.all(f'SELECT * FROM "{table}"'))
    return out


@pytest.fixture
def stack(tmp_path: Path):
    """An initialised (not yet started) stack on free ports; killed after the test."""
    from tests.support.stack import Stack

    with Stack(tmp_path) as s:
        yield s
