"""DirectoryBook: sequence numbers, tokens and incremental changes per view."""

from __future__ import annotations

from pathlib import Path

import pytest

from swissbox.dav.book import DirectoryBook, InvalidToken
from swissbox.dav.orgdir import build_views, member_uid, team_uid
from swissbox.directory import Directory


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Directory, DirectoryBook, int]:
    d = Directory(tmp_path / "db.sqlite")
    org = d.add_org("acme")
    d.add_account("a@x.test", "h", "acme", "legal", "Ann")
    d.add_account("b@x.test", "h", "acme", "collaborator", "Ben")
    d.add_account("e@x.test", "h", "acme", "external", "Eve")
    return d, DirectoryBook(d, tmp_path / "book.sqlite"), org.id


def test_initial_state_and_no_change(setup: tuple[Directory, DirectoryBook, int]) -> None:
    d, book, org = setup
    token, hrefs = book.changes(org, "full", "")
    assert sorted(hrefs) == sorted(f"{member_uid(org, i)}.vcf" for i in (1, 2))
    assert book.changes(org, "full", token) == (token, [])
    d.update_account("a@x.test", password_hash="other")  # not directory data
    assert book.changes(org, "full", token) == (token, [])


def test_changes_are_per_view(setup: tuple[Directory, DirectoryBook, int]) -> None:
    d, book, org = setup
    full, _ = book.changes(org, "full", "")
    public, _ = book.changes(org, "public", "")
    d.set_private("acme", "b@x.test", True)
    full2, changed_full = book.changes(org, "full", full)
    assert full2 == full and changed_full == []  # the full view did not change
    public2, changed_public = book.changes(org, "public", public)
    assert public2 != public and changed_public == [f"{member_uid(org, 2)}.vcf"]
    assert f"{member_uid(org, 2)}.vcf" not in book.org(org).views["public"].cards  # type: ignore[union-attr]
    d.add_team("acme", "T")
    _, changed = book.changes(org, "public", public2)
    assert changed == [f"{team_uid(org, 1)}.vcf"]


def test_tokens_survive_a_restart_and_foreign_tokens_fail(
    setup: tuple[Directory, DirectoryBook, int], tmp_path: Path
) -> None:
    d, book, org = setup
    token, _ = book.changes(org, "full", "")
    etags = {h: e.etag for h, e in book.org(org).views["full"].cards.items()}  # type: ignore[union-attr]
    book.close()
    again = DirectoryBook(d, tmp_path / "book.sqlite")
    assert again.changes(org, "full", token) == (token, [])
    cards = again.org(org).views["full"].cards  # type: ignore[union-attr]
    assert {h: e.etag for h, e in cards.items()} == etags
    public, _ = again.changes(org, "public", "")
    for bad in (public, token + "0", token[:-1] + "x", "http://radicale.org/ns/sync/abc"):
        with pytest.raises(InvalidToken):
            again.changes(org, "full", bad)


def test_colours_per_login(setup: tuple[Directory, DirectoryBook, int]) -> None:
    _, book, org = setup
    book.set_colours("a@x.test", org, {"ICAL:calendar-color": "#112233"})
    assert book.colours("a@x.test", org) == {"ICAL:calendar-color": "#112233"}
    assert book.colours("b@x.test", org) == {}
    book.set_colours("a@x.test", org, {"ICAL:calendar-color": None})
    assert book.colours("a@x.test", org) == {}
    book.set_colours("a@x.test", org, {"ICAL:calendar-color": "#1"})
    book.forget_login("a@x.test")
    assert book.colours("a@x.test", org) == {}


def test_removed_org_has_no_state(setup: tuple[Directory, DirectoryBook, int]) -> None:
    d, book, org = setup
    assert book.org(org) is not None
    d.remove_org("acme")
    assert book.org(org) is None


def test_incremental_refresh_matches_a_full_build(
    setup: tuple[Directory, DirectoryBook, int],
) -> None:
    d, book, org = setup
    book.org(org)
    steps = [
        lambda: d.add_team("acme", "T"),
        lambda: d.add_team_member("acme", "T", "b@x.test"),
        lambda: d.add_team_member("acme", "T", "e@x.test"),
        lambda: d.set_private("acme", "b@x.test", True),
        lambda: d.update_account("a@x.test", display_name="Ann Other", phone="+1"),
        lambda: d.set_role("acme", "e@x.test", "collaborator"),
        lambda: d.remove_member("acme", "b@x.test"),
        lambda: d.remove_team("acme", "T"),
    ]
    for step in steps:
        step()
        state = book.org(org)
        assert state is not None
        members, teams = d.directory_rows(org)
        wanted = build_views(org, "acme", members, teams)
        for view in ("full", "public"):
            got = {h: e.body for h, e in state.views[view].cards.items()}
            assert got == {h: c.body for h, c in wanted[view].items()}
