"""`/orgs/{org_id}/teams`: teams (group cards of the directory). Collaborators see them as
the CardDAV directory shows them (no private member); administrators manage them."""

from __future__ import annotations

from typing import Any

from swissbox.directory.visibility import view_for_role, visible
from swissbox.manager.api import Call
from swissbox.manager.endpoint import LOGIN, ORG_ID, Endpoint, refuse
from swissbox.manager.schema import Arr, Doc, Obj, Param, Str
from swissbox.manager.scope import member_login
from swissbox.manager.views import OK, listing

TEAM = Obj(
    {"name": Str(max_length=200), "members": Arr(Str(max_length=320), max_items=100_000)},
    required=("name", "members"),
    open=True,
)
TEAM_IN = Obj({"name": Str(min_length=1, max_length=100)}, required=("name",))
TEAM_NAME = Param("team", Str(min_length=1, max_length=100), description="team name")


def list_teams(call: Call) -> tuple[int, Any]:
    assert call.org is not None and call.role is not None
    d, org = call.directory, call.org.name
    view = view_for_role(call.role)
    if view is None:
        raise refuse("external members do not see the organization directory")
    shown = {m.account.login for m in d.members(org) if visible(view, m.role, m.private)}
    return 200, [
        {"name": t["name"], "members": [login for login in t["members"] if login in shown]}
        for t in d.teams(org)
    ]


def add_team(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    call.directory.add_team(call.org.name, call.body["name"])
    call.audit("team.add", call.body["name"].strip())
    return 201, {"name": call.body["name"].strip(), "members": []}


def remove_team(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    call.directory.remove_team(call.org.name, call.path["team"])
    call.audit("team.remove", call.path["team"])
    return 200, {"ok": True}


def _team(call: Call, name: str) -> dict[str, Any]:
    assert call.org is not None
    found = [t for t in call.directory.teams(call.org.name) if t["name"].lower() == name.lower()]
    return {"name": found[0]["name"], "members": found[0]["members"]} if found else {}


def add_team_member(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    login = member_login(call.directory, call.org.name, call.path["login"])
    call.directory.add_team_member(call.org.name, call.path["team"], login)
    call.audit("team.member.add", call.path["team"], {"login": login})
    return 200, _team(call, call.path["team"])


def remove_team_member(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    login = member_login(call.directory, call.org.name, call.path["login"])
    call.directory.remove_team_member(call.org.name, call.path["team"], login)
    call.audit("team.member.remove", call.path["team"], {"login": login})
    return 200, _team(call, call.path["team"])


T = "/orgs/{org_id}/teams"
ENDPOINTS = [
    Endpoint(
        "GET",
        T,
        list_teams,
        Doc("Teams and their members", answers={200: listing(TEAM)}),
        permission="members:read",
        params=[ORG_ID],
        tag="members",
    ),
    Endpoint(
        "POST",
        T,
        add_team,
        Doc("Create a team", body=TEAM_IN, answers={201: TEAM}),
        permission="members:write",
        params=[ORG_ID],
        tag="members",
    ),
    Endpoint(
        "DELETE",
        T + "/{team}",
        remove_team,
        Doc("Delete a team", answers={200: OK}),
        permission="members:write",
        params=[ORG_ID, TEAM_NAME],
        tag="members",
    ),
    Endpoint(
        "PUT",
        T + "/{team}/members/{login}",
        add_team_member,
        Doc("Put a member into a team", answers={200: TEAM}),
        permission="members:write",
        params=[ORG_ID, TEAM_NAME, LOGIN],
        tag="members",
    ),
    Endpoint(
        "DELETE",
        T + "/{team}/members/{login}",
        remove_team_member,
        Doc("Take a member out of a team", answers={200: TEAM}),
        permission="members:write",
        params=[ORG_ID, TEAM_NAME, LOGIN],
        tag="members",
    ),
]
