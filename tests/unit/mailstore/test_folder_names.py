"""Folder names whose Maildir++ directory would not fit the file system are refused before
anything is created, moved or indexed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from swissbox.mailstore import MailStore, folders
from swissbox.mailstore.paths import MAX_DIR_NAME, FolderNameTooLong, check_folder_name

ADDR = "toto@abc.xyz"


@pytest.fixture
def store(tmp_path: Path):
    s = MailStore(tmp_path / "mail")
    yield s
    s.close()


def snapshot(path: Path) -> list[str]:
    return sorted(os.listdir(path))


@pytest.mark.parametrize(
    "name",
    [
        "a" * (MAX_DIR_NAME + 1),  # too many characters
        "é" * 100,  # 100 characters, 600 bytes once escaped
        "/".join(["x" * 60] * 5),  # every segment fine, the whole too long
        "Dossier " + "日本語" * 20,
    ],
)
def test_too_long_is_refused_before_touching_disk(store: MailStore, name: str) -> None:
    box = store.mailbox(ADDR)
    before, folders_before = snapshot(box.path), [f.name for f in box.folders()]
    with pytest.raises(FolderNameTooLong):
        box.create_folder(name)
    assert snapshot(box.path) == before
    assert [f.name for f in box.folders()] == folders_before


def test_longest_that_fits_works(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    name = "a" * (MAX_DIR_NAME - 1)  # "." + name
    box.create_folder(name)
    assert (box.path / ("." + name) / "cur").is_dir()
    with pytest.raises(FolderNameTooLong):
        check_folder_name(name + "a")


def test_rename_whose_children_would_not_fit_changes_nothing(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    box.create_folder("P/" + "c" * 200)
    before, folders_before = snapshot(box.path), sorted(f.name for f in box.folders())
    with pytest.raises(FolderNameTooLong):  # "P2345..." + "/" + 200 chars: the child is too long
        folders.rename_folder(box, "P", "Q" * 60)
    assert snapshot(box.path) == before
    assert sorted(f.name for f in box.folders()) == folders_before
    folders.rename_folder(box, "P", "Q")  # a name that fits still works
    assert "Q/" + "c" * 200 in {f.name for f in box.folders()}
