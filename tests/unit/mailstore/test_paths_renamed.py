"""`paths.renamed`: where a message file went after another front end's flag change renamed
it, found by the names this store gives without listing the folder; names other Maildir
programs gave (other info letters) by listing it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from swissbox.mailstore import paths


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / sub).mkdir()
    for n in range(200):
        (tmp_path / "cur" / f"other{n}:2,S").write_bytes(b"x")
    return tmp_path


def test_a_flag_change_is_followed_without_listing_the_folder(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = folder / "new" / "1700000000.abc.host"
    now = folder / "cur" / paths.file_name(old.name, {"\\Seen", "\\Flagged", "\\Answered"}, "cur")
    now.write_bytes(b"message")

    def no_listing(*args: object) -> None:
        raise AssertionError("listed the folder")

    monkeypatch.setattr(os, "scandir", no_listing)
    assert paths.renamed(str(old)) == str(now)
    back = folder / "new" / old.name
    now.rename(back)
    assert paths.renamed(str(now)) == str(back)


def test_another_programs_name_and_a_vanished_file(folder: Path) -> None:
    old = folder / "cur" / "1700000001.def.host:2,S"
    foreign = folder / "cur" / "1700000001.def.host:2,Sa"  # a keyword letter of Dovecot's
    foreign.write_bytes(b"message")
    assert paths.renamed(str(old)) == str(foreign)
    foreign.unlink()
    assert paths.renamed(str(old)) is None
