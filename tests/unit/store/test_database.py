"""The storage seam, run against both backends: the same SQL, the same answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swissbox.store import Database, StoreError, open_database
from swissbox.store.migrations import render
from swissbox.store.postgres import translate

MIGRATIONS = [
    """
    CREATE TABLE things (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        size INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counter (id, value) VALUES (1, 0)
    """,
    "ALTER TABLE things ADD COLUMN note TEXT NOT NULL DEFAULT ''",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "db.sqlite")
    server: Any = request.getfixturevalue("postgres")
    return str(server.new_database())


@pytest.fixture
def db(location: str) -> Iterator[Database]:
    with open_database(location) as d:
        assert d.migrate(MIGRATIONS) == 2
        yield d


def test_insert_returns_ids_and_names_ignore_case(db: Database) -> None:
    with db.write() as tx:
        first = tx.insert("INSERT INTO things (name, size) VALUES (?, ?)", ("Alpha", 1))
        second = tx.insert("INSERT INTO things (name, size) VALUES (?, ?)", ("beta", 2))
    assert second > first
    row = db.one("SELECT id, name, size, note FROM things WHERE name = ?", ("ALPHA",))
    assert row is not None and row["id"] == first and row[1] == "Alpha" and row["note"] == ""
    with pytest.raises(Exception), db.write() as tx:  # noqa: B017 (each engine its own class)
        tx.execute("INSERT INTO things (name) VALUES (?)", ("alpha",))
    with db.write() as tx:
        result = tx.execute(
            "INSERT INTO things (name) VALUES (?) ON CONFLICT DO NOTHING", ("ALPHA",)
        )
        assert result.rowcount == 0
    assert [r["name"] for r in db.all("SELECT name FROM things ORDER BY id")] == ["Alpha", "beta"]


def test_a_failed_write_leaves_nothing_and_a_failed_step_only_itself(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as tx:
        tx.execute("INSERT INTO things (name) VALUES (?)", ("gone",))
        raise RuntimeError("refused")
    assert db.one("SELECT 1 FROM things WHERE name = 'gone'") is None
    with db.write() as tx:
        tx.execute("INSERT INTO things (name) VALUES (?)", ("kept",))
        with pytest.raises(RuntimeError), db.write() as inner:
            inner.execute("INSERT INTO things (name) VALUES (?)", ("undone",))
            raise RuntimeError("one step refused")
    names = {r[0] for r in db.all("SELECT name FROM things")}
    assert names == {"kept"}


def test_literals_with_question_marks_and_percents_survive(db: Database) -> None:
    with db.write() as tx:
        tx.execute("INSERT INTO things (name, note) VALUES ('what?', '100%')")
        tx.execute("INSERT INTO things (name, note) VALUES (?, ?)", ("50% off?", "x"))
    row = db.one("SELECT note FROM things WHERE name = 'what?'")
    assert row is not None and row[0] == "100%"
    assert db.one("SELECT 1 FROM things WHERE name = ?", ("50% OFF?",)) is not None


def test_a_read_sees_one_snapshot_and_writes_see_their_own_rows(db: Database) -> None:
    with db.read() as r:
        assert r.one("SELECT value FROM counter") is not None
        assert r.execute("SELECT COUNT(*) FROM things").fetchone()[0] == 0
    with db.write() as tx:
        tx.execute("INSERT INTO things (name) VALUES ('inside')")
        with db.read() as r:
            assert r.one("SELECT 1 FROM things WHERE name = 'inside'") is not None


def test_generation_changes_when_another_connection_commits(db: Database, location: str) -> None:
    before = db.generation()
    with open_database(location) as other, other.write() as tx:
        tx.execute("UPDATE counter SET value = value + 1")
    assert db.generation() != before


def test_fifty_writers_at_once_are_serialized(db: Database, location: str) -> None:
    """Read-modify-write in each transaction, over two connections (two "processes"): no
    update is lost, and refused writers leave nothing behind."""
    other = open_database(location)
    start = threading.Barrier(50)
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        target = db if i % 2 else other
        start.wait()
        try:
            with target.write() as tx:
                row = tx.one("SELECT value FROM counter WHERE id = 1")
                assert row is not None
                tx.execute("UPDATE counter SET value = ? WHERE id = 1", (row[0] + 1,))
                tx.execute("INSERT INTO things (name) VALUES (?)", (f"w{i % 40}",))
        except Exception as exc:  # the ten duplicate names are refused, whole
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    other.close()
    counter = db.one("SELECT value FROM counter WHERE id = 1")
    things = db.one("SELECT COUNT(*) FROM things")
    assert counter is not None and things is not None
    assert len(errors) == 10
    assert counter[0] == 40 and things[0] == 40


def test_a_newer_schema_is_refused(location: str) -> None:
    with open_database(location) as d:
        d.migrate(MIGRATIONS)
    with open_database(location) as d, pytest.raises(StoreError, match="newer"):
        d.migrate(MIGRATIONS[:1])


def test_postgres_spelling() -> None:
    assert translate("SELECT '?', \"a?\" FROM t WHERE x = ? AND y LIKE '%a'") == (
        "SELECT '?', \"a?\" FROM t WHERE x = %s AND y LIKE '%%a'"
    )
    assert translate("SELECT x % 2 FROM t WHERE y = ?") == "SELECT x %% 2 FROM t WHERE y = %s"
    rendered = render(
        "id INTEGER PRIMARY KEY, n TEXT COLLATE NOCASE, k INTEGER, t REAL", "postgresql"
    )
    assert rendered == (
        'id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n TEXT COLLATE "nocase",'
        " k BIGINT, t DOUBLE PRECISION"
    )


def test_a_connection_postgresql_dropped_is_opened_again(postgres: Any) -> None:
    """A PostgreSQL restart or failover ends the front end's connection: the next read is
    answered on a new one, and writes go on (before: every call failed until a restart)."""
    import psycopg

    url = str(postgres.new_database())
    with open_database(url) as d:
        d.migrate(MIGRATIONS)
        with d.write() as tx:
            tx.execute("INSERT INTO things (name) VALUES (?)", ("before",))
        generation = d.generation()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        assert d.one("SELECT name FROM things")[0] == "before"
        with d.write() as tx:
            tx.execute("INSERT INTO things (name) VALUES (?)", ("after",))
        assert d.generation() > generation
        assert [r[0] for r in d.all("SELECT name FROM things ORDER BY id")] == ["before", "after"]
