"""Catalog.recheck(): another front end said it committed a zone change, so the next check
reads the serials even though `generation()` did not move (it was read while that writer's
transaction was still open)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from swissbox.directory import Directory
from swissbox.dns.catalog import Catalog
from tests.unit.dns.kit import ZONE, make_directory


class StuckGeneration(Directory):
    """A directory whose generation was read before the last commit and looks unchanged."""

    def generation(self) -> Any:
        return "read while the writer was still open"


def test_recheck_reads_serials_the_generation_would_skip(tmp_path: Path) -> None:
    make_directory(tmp_path).close()
    with StuckGeneration(tmp_path / "swissbox.db") as directory:
        catalog = Catalog(directory)
        catalog.refresh(force=True)
        serial = catalog.serials()[ZONE]
        directory.change_records(ZONE, add=[(f"new.{ZONE}", "A", 60, "192.0.2.9")])
        assert catalog.refresh() == []  # the generation alone: stale
        catalog.recheck()
        assert catalog.refresh() == [ZONE]
        assert catalog.serials()[ZONE] == serial + 1
        assert catalog.refresh() == []  # once: the next check trusts the generation again
