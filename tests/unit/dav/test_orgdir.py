"""vCards of the organization directory, built from directory rows."""

from __future__ import annotations

import vobject
from hypothesis import given
from hypothesis import strategies as st

from swissbox.dav.orgdir import (
    MemberRow,
    build_views,
    escape,
    fold,
    member_body,
    member_uid,
    split_name,
    team_uid,
    view_for_role,
    with_rev,
)


def member(i: int, role: str = "collaborator", private: bool = False, **kw: object) -> MemberRow:
    row = MemberRow(i, f"m{i}@example.test", f"Member {i}", f"+41 {i}", role, int(private), None)
    return row._replace(**kw)


def test_roles_map_to_views() -> None:
    assert view_for_role("legal") == view_for_role("admin") == "full"
    assert view_for_role("collaborator") == "public"
    assert view_for_role("external") is None


def test_uids_are_stable_and_distinct() -> None:
    assert member_uid(1, 2) == member_uid(1, 2)
    assert len({member_uid(1, 2), member_uid(2, 1), team_uid(1, 2), member_uid(1, 3)}) == 4


def test_member_card_fields_parse_with_vobject() -> None:
    body = member_body(
        7,
        "Acme; Sons, Ltd",
        member(3, display_name="Jean-Luc de la Tour", emails="x@example.test jl@example.test"),
    )
    card = vobject.readOne(with_rev(body, 1_700_000_000))
    assert card.fn.value == "Jean-Luc de la Tour"
    assert card.n.value.family == "Tour" and card.n.value.given == "Jean-Luc de la"
    # the own address (first in the row) stays first and is preferred; shared ones follow
    assert [e.value for e in card.contents["email"]] == ["x@example.test", "jl@example.test"]
    assert "PREF" in card.contents["email"][0].params["TYPE"]
    assert "PREF" not in card.contents["email"][1].params["TYPE"]
    assert card.tel.value == "+41 3"
    assert card.org.value == ["Acme; Sons, Ltd"]
    assert card.rev.value == "20231114T221320Z"
    assert card.uid.value == member_uid(7, 3)


def test_login_is_the_fallback_name_and_email() -> None:
    body = member_body(1, "o", member(1, display_name="", phone=""))
    assert "FN:m1@example.test" in body and "EMAIL;TYPE=INTERNET,WORK:m1@example.test" in body
    assert "TEL" not in body
    assert "EMAIL" not in member_body(1, "o", member(1, login="plainlogin"))


def test_views_leave_out_externals_and_private_entries() -> None:
    members = [
        member(1, "legal"),
        member(2, "collaborator", private=True),
        member(3, "external"),
        member(4, "admin"),
    ]
    teams = [(9, "Team", "1,2,3")]
    views = build_views(5, "org", members, teams)
    full = {c.uid for c in views["full"].values()}
    public = {c.uid for c in views["public"].values()}
    assert full == {member_uid(5, 1), member_uid(5, 2), member_uid(5, 4), team_uid(5, 9)}
    assert public == full - {member_uid(5, 2)}
    team_full = views["full"][f"{team_uid(5, 9)}.vcf"].body
    team_public = views["public"][f"{team_uid(5, 9)}.vcf"].body
    assert team_full.count("\r\nMEMBER:") == 2 and team_public.count("\r\nMEMBER:") == 1
    assert member_uid(5, 3) not in team_full  # the external member
    group = vobject.readOne(with_rev(team_full, 0))
    assert group.contents["kind"][0].value == "group"
    assert len(group.contents["x-addressbookserver-member"]) == 2


def test_split_name() -> None:
    assert split_name("Ada Lovelace") == ("Lovelace", "Ada")
    assert split_name("Plato") == ("Plato", "")
    assert split_name("") == ("", "")


@given(st.text(min_size=0, max_size=300))
def test_escape_and_fold_round_trip_through_vobject(text: str) -> None:
    text = text.replace("\r", "").replace("\x00", "")
    line = fold("NOTE:" + escape(text))
    assert all(len(part.encode()) <= 75 for part in line.split("\r\n"))
    card = vobject.readOne(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n{line}\r\nEND:VCARD\r\n")
    assert card.note.value == text
