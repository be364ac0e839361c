"""`Database.generation()` as a cache key across front ends: a reader that looked while a
writer's transaction was open must see the generation move once that transaction commits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swissbox.store import open_database

TABLE = "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "db.sqlite")
    server: Any = request.getfixturevalue("postgres")
    return str(server.new_database())


def test_a_generation_read_during_a_write_moves_at_its_commit(location: str) -> None:
    with open_database(location) as writer, open_database(location) as reader:
        writer.migrate([TABLE])
        with writer.write() as tx:
            tx.execute("INSERT INTO things (name) VALUES (?)", ("a",))
            during = reader.generation()  # a cache filled now holds no "a"
            assert reader.all("SELECT name FROM things") == []
        assert reader.generation() != during  # so it must be read again


def test_a_rolled_back_write_and_reads_leave_the_generation(location: str) -> None:
    with open_database(location) as writer, open_database(location) as reader:
        writer.migrate([TABLE])
        before = reader.generation()
        with pytest.raises(RuntimeError), writer.write() as tx:
            tx.execute("INSERT INTO things (name) VALUES (?)", ("a",))
            raise RuntimeError("refused")
        with writer.read() as tx:
            tx.execute("SELECT * FROM things")
        assert reader.generation() == before
        with writer.write() as tx:
            tx.execute("INSERT INTO things (name) VALUES (?)", ("b",))
        assert reader.generation() != before
