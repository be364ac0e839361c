"""Handing a member's collections over or deleting them; the role change mail."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

from swissbox.dav import data
from swissbox.dav.notify import role_change_message


def make(folder: Path, login: str, name: str, tag: str, items: int = 1) -> None:
    path = folder / "collection-root" / login / name
    path.mkdir(parents=True)
    (path / ".Radicale.props").write_text(json.dumps({"tag": tag, "D:displayname": name.title()}))
    for i in range(items):
        (path / f"{i}.ics").write_text("x")


def test_transfer_renames_on_collision_and_marks_origin(tmp_path: Path) -> None:
    make(tmp_path, "b@x.test", "calendar", "VCALENDAR", 2)
    make(tmp_path, "b@x.test", "contacts", "VADDRESSBOOK")
    make(tmp_path, "a@x.test", "calendar", "VCALENDAR")
    moved = data.transfer(tmp_path, "b@x.test", "a@x.test")
    assert moved == [("calendar", "calendar-from-b"), ("contacts", "contacts")]
    assert not (tmp_path / "collection-root" / "b@x.test").exists()
    info = {c.name: c for c in data.collections(tmp_path, "a@x.test")}
    assert info["calendar-from-b"].items == 2
    assert info["calendar-from-b"].displayname == "Calendar (from b@x.test)"
    assert info["calendar"].displayname == "Calendar"


def test_transfer_to_a_member_who_never_logged_in(tmp_path: Path) -> None:
    make(tmp_path, "b@x.test", "calendar", "VCALENDAR")
    data.transfer(tmp_path, "b@x.test", "new@x.test")
    names = sorted(c.name for c in data.collections(tmp_path, "new@x.test"))
    assert names == ["calendar", "calendar-from-b", "contacts"]
    assert data.transfer(tmp_path, "nobody@x.test", "new@x.test") == []


def test_delete(tmp_path: Path) -> None:
    make(tmp_path, "b@x.test", "calendar", "VCALENDAR")
    make(tmp_path, "b@x.test", "contacts", "VADDRESSBOOK")
    assert data.delete(tmp_path, "b@x.test") == 2
    assert data.collections(tmp_path, "b@x.test") == []
    assert data.delete(tmp_path, "b@x.test") == 0


def test_role_change_message() -> None:
    raw = role_change_message(
        org="Acme",
        login="b@x.test",
        name="Bé Bop",
        old_role="collaborator",
        new_role="external",
        sender="postmaster@mx.x.test",
        to="b@x.test",
        when=0,
    )
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "Your role in Acme: external"
    assert msg["To"] == "Bé Bop <b@x.test>"
    assert msg["Auto-Submitted"] == "auto-generated"
    body = msg.get_content()  # type: ignore[attr-defined]
    assert "from collaborator to external" in body and "no longer listed" in body
