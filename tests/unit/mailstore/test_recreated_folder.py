"""A folder deleted and created again under the same name is a new folder (RFC 3501 2.3.1.1):
a larger UIDVALIDITY and a folder id never used before, even within the same second, so that
nothing cached for the old folder (index rows, rendered envelopes, header caches, all keyed
by folder id and UIDVALIDITY) can answer for the new one."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from swissbox.mailstore import INBOX, MailStore
from swissbox.mailstore import folders as folder_ops
from swissbox.mailstore.index import Index
from swissbox.mailstore.paths import INDEX_NAME

ADDR = "toto@abc.xyz"


def message(subject: str) -> bytes:
    return f"From: a@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()


@pytest.fixture
def store(tmp_path: Path):
    s = MailStore(tmp_path / "mail")
    yield s
    s.close()


def test_recreated_folder_gets_a_new_uidvalidity_and_id(
    store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = store.mailbox(ADDR)
    frozen = time.time()
    monkeypatch.setattr(time, "time", lambda: frozen)  # all in the same second
    old = box.create_folder("Work")
    box.append("Work", message("old one"))
    folder_ops.delete_folder(box, "Work")
    new = box.create_folder("Work")
    assert new.uidvalidity > old.uidvalidity
    assert new.id != old.id
    assert box.messages("Work") == []
    done = box.append("Work", message("new one"))
    assert (done.uid, done.uidvalidity) == (1, new.uidvalidity)
    (row,) = box.messages("Work", full=True)
    assert row.envelope[1] == "new one"


def test_high_water_survives_reopening_and_deleting_the_newest_folder(
    store: MailStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_backend: str
) -> None:
    box = store.mailbox(ADDR)
    frozen = time.time()
    monkeypatch.setattr(time, "time", lambda: frozen)
    ids = {f.id for f in box.folders()}
    validities = {f.uidvalidity for f in box.folders()}
    for _ in range(3):
        info = box.create_folder("Tmp")
        assert info.id not in ids and info.uidvalidity not in validities
        ids.add(info.id)
        validities.add(info.uidvalidity)
        folder_ops.delete_folder(box, "Tmp")
    path = box.path / INDEX_NAME
    store.close()
    # a fresh process: only the database remembers
    index = Index(path) if index_backend == "sqlite" else Index(path, index_backend, ADDR)
    with index.transaction():
        info = index.create_folder("Tmp")
    index.close()
    assert info.id > max(ids) and info.uidvalidity > max(validities)


def test_inbox_and_default_folders_keep_their_uidvalidity(store: MailStore) -> None:
    box = store.mailbox(ADDR)
    before = {f.name: f.uidvalidity for f in box.folders()}
    box.create_folder("X")
    folder_ops.delete_folder(box, "X")
    after = {f.name: f.uidvalidity for f in box.folders()}
    assert after == before and INBOX in after
