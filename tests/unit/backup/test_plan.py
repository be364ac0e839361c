"""What a backup takes, skips and reuses, decided on paths and manifests alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from swissbox.backup.manifest import (
    DATABASE,
    MESSAGE,
    Entry,
    Folder,
    Manifest,
    ManifestError,
    new_id,
    parse,
    safe_path,
)
from swissbox.backup.plan import (
    COPY,
    DESCEND,
    EMPTY_DIR,
    SKIP,
    Tally,
    destination_problem,
    is_sqlite,
    message_cache,
    objects_of,
    walk_action,
)

SHA = "ab" * 32


@pytest.mark.parametrize(
    ("path", "is_dir", "action"),
    [
        ("swissbox.toml", False, COPY),
        ("tls/server.key", False, COPY),
        ("dkim/example.test/20260101-rsa.pem", False, COPY),
        ("queue/1A2B.msg", False, COPY),
        ("queue/1A2B.state", False, COPY),
        ("queue/1A2B.state.tmp", False, SKIP),  # being replaced
        ("queue/tmp", True, EMPTY_DIR),  # files being written
        ("swissbox.db-wal", False, SKIP),  # the online backup copies the database whole
        ("swissbox.db-shm", False, SKIP),
        ("dav/directory.sqlite-journal", False, SKIP),
        ("mail", True, SKIP),  # taken from the mailbox indexes
        ("dav/collection-root/alice/mail", True, DESCEND),  # only the top-level mail/
        ("dav/.Radicale.lock", False, SKIP),
        ("dav/collection-root/alice/calendar/.Radicale.cache", True, SKIP),
        ("dav/collection-root/alice/calendar/.Radicale.tmp-x1", False, SKIP),
        ("dav/collection-root/alice/calendar/.Radicale.props", False, COPY),
        ("dav/collection-root/alice/calendar/event.ics", False, COPY),
        ("dav", True, DESCEND),
    ],
)
def test_walk_action(path: str, is_dir: bool, action: str) -> None:
    assert walk_action(path, is_dir) == action


def test_sqlite_told_by_its_header() -> None:
    assert is_sqlite(b"SQLite format 3\x00\x10\x00")
    assert not is_sqlite(b"[server]\nhostname")


def test_destination_must_be_apart_from_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert destination_problem(data, tmp_path / "backups") is None
    assert "inside the data folder" in (destination_problem(data, data / "bk") or "")
    assert "inside the data folder" in (destination_problem(data, data) or "")
    assert "inside" in (destination_problem(data, tmp_path) or "")


def entry(path: str, kind: str = MESSAGE, key: str = "", sha: str = SHA) -> Entry:
    return Entry(path, sha, 10, 0o600, 1.0, kind, key)


def test_message_cache_by_mailbox_and_key() -> None:
    """A flag change renames the file (new/KEY -> cur/KEY:2,S), a folder rename moves it:
    the key in its mailbox finds it again; the same key in another mailbox does not."""
    m = Manifest(
        "x",
        0,
        "/d",
        entries=[
            entry("mail/a.test/bob/new/K1", key="K1"),
            entry("mail/a.test/bob/swissbox-index.sqlite", kind=DATABASE),
        ],
    )
    cache = message_cache(m)
    assert list(cache) == [("mail/a.test/bob", "K1")]
    assert ("mail/a.test/eve", "K1") not in cache
    assert message_cache(None) == {}


def test_tally_counts_messages_apart() -> None:
    t = Tally()
    t.add(entry("mail/a/b/new/K", key="K"), written=True)
    t.add(entry("swissbox.toml", kind="file"), written=True)
    t.add(entry("mail/a/b/new/L", key="L"), written=False)
    assert (t.files, t.messages_written, t.others_written, t.reused) == (3, 1, 1, 1)
    assert t.bytes == 30 and t.bytes_written == 20


def test_objects_of_lists_every_path_an_object_serves() -> None:
    one = Manifest("1", 0, "/d", entries=[entry("a", key="a"), entry("b", key="b")])
    two = Manifest("2", 0, "/d", entries=[entry("a", key="a", sha="cd" * 32)])
    needed = objects_of([one, two])
    assert [(sid, e.path) for sid, e in needed[SHA]] == [("1", "a"), ("1", "b")]
    assert [(sid, e.path) for sid, e in needed["cd" * 32]] == [("2", "a")]


def test_manifest_round_trip() -> None:
    m = Manifest(
        new_id([], 0),
        12.5,
        "/srv/data",
        entries=[entry("mail/a.test/bob/cur/K:2,S", key="K")],
        dirs=[Folder("mail", 0o700)],
        notes=["n"],
    )
    assert m.id == "000001-19700101T000000Z"
    assert parse(m.to_bytes()) == m


def test_snapshot_ids_sort_by_sequence_even_if_the_clock_goes_back() -> None:
    first = new_id([], 2_000_000_000)
    second = new_id([first, "notes.txt"], 1_000_000_000)
    assert second.startswith("000002-") and sorted([second, first]) == [first, second]


@pytest.mark.parametrize(
    "path", ["../etc/passwd", "/etc/passwd", "a/../../b", "a//b", "./a", "", "a\\..\\b"]
)
def test_paths_outside_the_data_folder_are_refused(path: str) -> None:
    with pytest.raises(ManifestError):
        safe_path(path)
    m = Manifest("x", 0, "/d", entries=[entry(path or "x")])
    if path:
        with pytest.raises(ManifestError):
            parse(m.to_bytes())


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b'{"format": 2}', b'{"format": 1, "id": "x"}'])
def test_unreadable_manifests(data: bytes) -> None:
    with pytest.raises(ManifestError):
        parse(data)
