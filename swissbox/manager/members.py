"""`/orgs/{org_id}/members`: the directory (collaborators see it as CardDAV shows it) and,
for administrators, adding, re-roling and removing members with the CLI's rules
(`swissbox.directory.members`)."""

from __future__ import annotations

from typing import Any

from swissbox.directory import Conflict, DirectoryError, NotFound
from swissbox.directory import members as rules
from swissbox.directory.visibility import view_for_role, visible
from swissbox.manager.api import Call
from swissbox.manager.endpoint import LOGIN, ORG_ID, Endpoint, refuse
from swissbox.manager.permissions import may_assign_role
from swissbox.manager.schema import Bool, Doc, Obj, Str
from swissbox.manager.views import LOGIN as LOGIN_FIELD
from swissbox.manager.views import MEMBER, PASSWORD, ROLE, listing, member_json
from swissbox.runtime import ACCOUNT_REMOVED, MEMBER_ROLE_CHANGED

ADD = Obj(
    {
        "login": LOGIN_FIELD,
        "role": ROLE,
        "password": PASSWORD,
        "name": Str(max_length=200),
        "phone": Str(max_length=100),
    },
    required=("login", "role", "password"),
    description="A new account of this organization, with its password.",
)
CHANGE = Obj(
    {"role": ROLE, "private": Bool(description="hide the entry from collaborators")},
    description="The new role, the private flag of the directory entry, or both.",
)
REMOVE = Obj(
    {
        "confirm": Str(max_length=320, description="the removed login again"),
        "transfer_to": Str(max_length=320, description="member who receives the data"),
        "delete_data": Bool(description="delete calendars and address books instead"),
    },
    required=("confirm",),
)
REMOVED = Obj(
    {
        "login": Str(max_length=320),
        "account_deleted": Bool(),
        "mailboxes": listing(
            Obj(
                {"address": Str(max_length=320), "fate": Str(max_length=20)},
                open=True,
            )
        ),
    },
    required=("login", "account_deleted", "mailboxes"),
    open=True,
)


def list_members(call: Call) -> tuple[int, Any]:
    assert call.org is not None and call.role is not None
    d = call.directory
    view = view_for_role(call.role)
    if view is None:
        raise refuse("external members do not see the organization directory")
    if view == "full":
        teams_of = rules.teams_of_members(d, call.org.name)
        return 200, [
            member_json(m, teams_of.get(m.account.login)) for m in d.members(call.org.name)
        ]
    return 200, [
        member_json(m, full=False)
        for m in d.members(call.org.name)
        if visible(view, m.role, m.private)
    ]


def _may(call: Call, old: str | None, new: str | None) -> None:
    assert call.role is not None
    decision = may_assign_role(call.role, old, new)
    if not decision.allowed:
        raise refuse(decision.reason)


def _refuse_foreign_account(call: Call, login: str) -> None:
    """An organization's administrator may not pull in (and so read the details of) an
    account that belongs to other organizations: unlike the operator's CLI, the API adds
    only new accounts, or re-adds none (the error is the same as a taken login)."""
    assert call.org is not None
    try:
        account = call.directory.account(login)
    except NotFound:
        return
    raise Conflict(f"account {account.login!r} already exists")


def add_member(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    body = call.body
    _may(call, None, body["role"])
    _refuse_foreign_account(call, body["login"])
    member = rules.add_member(
        call.directory,
        call.org.name,
        body["login"],
        body["role"],
        call.manager.hash_params,
        body.get("password"),
        body.get("name", ""),
        body.get("phone", ""),
        "the password",
    )
    call.audit("member.add", member.account.login, {"role": member.role})
    return 201, member_json(member)


def change_member(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d, org, body = call.directory, call.org.name, call.body
    current = d.member(org, call.path["login"])
    login = current.account.login
    if "role" not in body and "private" not in body:
        raise DirectoryError("give role, private or both")
    new = body.get("role", current.role)
    _may(call, current.role, new)
    with d.transaction():
        old = d.set_role(org, login, new)
        if "private" in body:
            d.set_private(org, login, body["private"])
    call.audit("member.change", login, {"from": old, "to": new, "private": body.get("private")})
    if old != new and call.manager.emit is not None:
        call.manager.emit(MEMBER_ROLE_CHANGED, org, login, old, new)
    return 200, member_json(d.member(org, login))


def remove_member(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d, org, body = call.directory, call.org.name, call.body
    current = d.member(org, call.path["login"])
    _may(call, current.role, None)
    removal = rules.check_removal(
        d,
        org,
        current.account.login,
        body.get("confirm"),
        body.get("transfer_to"),
        bool(body.get("delete_data")),
        ("confirm", "transfer_to", "delete_data"),
    )
    fates, deleted = rules.remove_member(d, removal)
    call.audit(
        "member.remove",
        removal.login,
        {"transfer_to": removal.transfer_to, "account_deleted": deleted},
    )
    if deleted and call.manager.emit is not None:
        call.manager.emit(ACCOUNT_REMOVED, removal.login, removal.transfer_to)
    return 200, {
        "login": removal.login,
        "account_deleted": deleted,
        "mailboxes": [
            {"address": f.address, "fate": f.fate, "holders": list(f.holders)} for f in fates
        ],
    }


ENDPOINTS = [
    Endpoint(
        "GET",
        "/orgs/{org_id}/members",
        list_members,
        Doc(
            "The organization directory (administrators: with private entries and teams)",
            answers={200: listing(MEMBER)},
        ),
        permission="members:read",
        params=[ORG_ID],
        tag="members",
    ),
    Endpoint(
        "POST",
        "/orgs/{org_id}/members",
        add_member,
        Doc(
            "Add a member: an existing account, or a new one with its password",
            body=ADD,
            answers={201: MEMBER},
        ),
        permission="members:write",
        params=[ORG_ID],
        tag="members",
    ),
    Endpoint(
        "PATCH",
        "/orgs/{org_id}/members/{login}",
        change_member,
        Doc(
            "Change a member's role (they are mailed a summary) or private flag",
            body=CHANGE,
            answers={200: MEMBER},
        ),
        permission="members:write",
        params=[ORG_ID, LOGIN],
        tag="members",
    ),
    Endpoint(
        "DELETE",
        "/orgs/{org_id}/members/{login}",
        remove_member,
        Doc(
            "Remove a member (irreversible): repeat the login in `confirm` and choose"
            " `transfer_to` or `delete_data` for their calendars and address books",
            body=REMOVE,
            answers={200: REMOVED},
        ),
        permission="members:write",
        params=[ORG_ID, LOGIN],
        tag="members",
    ),
]
