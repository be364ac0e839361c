"""The shared namespace's pure parts: names, rights per grant, the flags a user sees (RFC 4314
rights decide which flags a STORE may change), and what a session's person may use."""

from __future__ import annotations

from pathlib import Path

import pytest

from swissbox.directory import Directory
from swissbox.imap.mailbox import ALL_RIGHTS, FolderMailbox
from swissbox.imap.shared import (
    FULL_RIGHTS,
    READ_RIGHTS,
    RIGHTS_OF_ACCESS,
    SHARED_PREFIX,
    Access,
    shared_name,
    split_shared,
)
from swissbox.mailstore.index import FolderInfo


@pytest.mark.parametrize(
    "name, parts",
    [
        ("INBOX", None),
        ("Shared", None),
        ("Shared Folders Old", None),
        ("Shared Folders", ("", "")),
        ("Shared Folders/info@x.test", ("info@x.test", "")),
        ("Shared Folders/info@x.test/INBOX", ("info@x.test", "INBOX")),
        ("Shared Folders/info@x.test/Sent/2024", ("info@x.test", "Sent/2024")),
    ],
)
def test_split_shared(name: str, parts: tuple[str, str] | None) -> None:
    assert split_shared(name) == parts


def test_names_and_rights() -> None:
    assert shared_name("info@x.test", "Sent") == f"{SHARED_PREFIX}/info@x.test/Sent"
    assert RIGHTS_OF_ACCESS == {"own": FULL_RIGHTS, "full": FULL_RIGHTS, "read": READ_RIGHTS}
    assert set(READ_RIGHTS) < set(FULL_RIGHTS) < set(ALL_RIGHTS)


def folder(rights: str, seen_user: str | None) -> FolderMailbox:
    info = FolderInfo(1, "INBOX", 1, 1, 1, True)
    return FolderMailbox(None, info, True, rights, seen_user)  # type: ignore[arg-type]


def test_a_shared_folder_shows_the_users_own_seen() -> None:
    box = folder(FULL_RIGHTS, "bob@x.test")
    box.seen = {2}
    assert box.view(1, "\\Flagged \\Seen") == "\\Flagged"  # the box's own \Seen hidden
    assert box.view(2, "\\Flagged") == "\\Flagged \\Seen"
    own = folder(ALL_RIGHTS, None)
    assert own.view(1, "\\Flagged \\Seen") == "\\Flagged \\Seen"


def test_rights_decide_which_flags_change() -> None:
    ro = folder(READ_RIGHTS, "bob@x.test")
    ro.keywords = {"$Label1"}
    assert ro.permanent_flags() == ["\\Seen"]
    assert ro.allowed_flags(["\\Seen", "\\Flagged", "\\Deleted", "$x"]) == ["\\Seen"]
    full = folder(FULL_RIGHTS, "bob@x.test")
    assert full.allowed_flags(["\\Seen", "\\Flagged", "\\Deleted"]) == [
        "\\Seen",
        "\\Flagged",
        "\\Deleted",
    ]
    assert not ro.may("e") and full.may("e") and not full.may("a")


def test_access_follows_the_directory(tmp_path: Path) -> None:
    d = Directory(tmp_path / "db")
    d.add_org("o")
    d.add_account("bob@x.test", "h", "o")
    d.add_domain("x.test", "o", "ns.x.test")
    d.enable_email("x.test")
    for address in ("bob@x.test", "info@x.test", "news@x.test"):
        d.add_mailbox(address, "h")
    d.grant("info@x.test", "bob@x.test")
    d.grant("news@x.test", "bob@x.test", "read")
    mine = Access(d, "bob@x.test", "bob@x.test")
    mine.refresh()
    assert mine.shared() == {
        "info@x.test": ("info@x.test", FULL_RIGHTS),
        "news@x.test": ("news@x.test", READ_RIGHTS),
    }
    assert mine.usable_as("INFO@x.test") == "info@x.test" and mine.usable_as("news@x.test") is None
    proxied = Access(d, "bob@x.test", "info@x.test")
    proxied.refresh()
    assert proxied.proxied and proxied.allowed() and proxied.shared() == {}
    d.revoke("info@x.test", "bob@x.test")
    proxied.refresh()
    mine.refresh()
    assert not proxied.allowed()
    assert list(mine.shared()) == ["news@x.test"]
