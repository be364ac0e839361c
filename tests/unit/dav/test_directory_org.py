"""The organization-management section of Directory: members, teams, private flags, removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from swissbox.directory import Conflict, Directory, NotFound


@pytest.fixture
def d(tmp_path: Path) -> Directory:
    directory = Directory(tmp_path / "db.sqlite")
    directory.add_org("acme")
    directory.add_org("other")
    for login, role in (("a@x.test", "legal"), ("b@x.test", "collaborator"), ("c@x.test", "admin")):
        directory.add_account(login, "h", "acme", role, login[0].upper())
    directory.add_domain("x.test", "acme", "ns.x.test")
    directory.enable_email("x.test")
    directory.add_mailbox("team@x.test", "h")
    directory.grant("team@x.test", "b@x.test")
    return directory


def test_members_and_private_flag(d: Directory) -> None:
    assert d.member("acme", "b@x.test").role == "collaborator"
    d.add_member("other", "b@x.test", "legal")
    assert [m.org for m in d.memberships("b@x.test")] == ["acme", "other"]
    with pytest.raises(Conflict):
        d.add_member("other", "b@x.test")
    assert d.set_private("acme", "b@x.test", True) is False
    assert d.member("acme", "b@x.test").private is True
    assert d.member("other", "b@x.test").private is False
    with pytest.raises(NotFound):
        d.member("other", "a@x.test")


def test_teams(d: Directory) -> None:
    d.add_team("acme", "Sales")
    with pytest.raises(Conflict):
        d.add_team("acme", "sales")  # names are case-insensitive
    d.add_team_member("acme", "Sales", "b@x.test")
    d.add_team_member("acme", "Sales", "a@x.test")
    d.add_team_member("acme", "Sales", "a@x.test")  # idempotent
    assert d.teams("acme") == [{"id": 1, "name": "Sales", "members": ["a@x.test", "b@x.test"]}]
    with pytest.raises(NotFound):
        d.add_team_member("other", "Sales", "a@x.test")  # not a member of other
    d.remove_team_member("acme", "Sales", "a@x.test")
    with pytest.raises(NotFound):
        d.remove_team_member("acme", "Sales", "a@x.test")
    d.remove_team("acme", "Sales")
    assert d.teams("acme") == []


def test_directory_rows(d: Directory) -> None:
    d.add_team("acme", "T")
    d.add_team_member("acme", "T", "b@x.test")
    members, teams = d.directory_rows(d.org("acme").id)
    b = next(m for m in members if m[1] == "b@x.test")
    assert b[2:] == ("B", "", "collaborator", 0, "team@x.test")
    assert teams == [(1, "T", str(b[0]))]
    assert d.member_orgs("b@x.test") == [(1, "acme", "collaborator")]
    assert d.member_orgs("not a login") == []


def test_remove_member_clears_teams_and_grants(d: Directory) -> None:
    d.add_team("acme", "T")
    d.add_team_member("acme", "T", "b@x.test")
    d.add_member("other", "b@x.test", "legal")
    assert d.remove_member("acme", "b@x.test") is False  # still in other
    assert d.teams("acme")[0]["members"] == []
    assert d.granted_mailboxes("b@x.test") == []
    assert [m.org for m in d.memberships("b@x.test")] == ["other"]
    with pytest.raises(Conflict):
        d.remove_member("other", "b@x.test")  # its only legal representative
    d.add_member("acme", "b@x.test")
    assert d.remove_member("acme", "b@x.test") is False
    d.add_account("z@x.test", "h", "acme")
    assert d.remove_member("acme", "z@x.test") is True
    with pytest.raises(NotFound):
        d.account("z@x.test")
    with pytest.raises(Conflict):
        d.remove_member("acme", "a@x.test")
