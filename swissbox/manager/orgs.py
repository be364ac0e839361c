"""`/orgs`: the organizations the caller belongs to (a token: its own one)."""

from __future__ import annotations

from typing import Any

from swissbox.manager.api import Call
from swissbox.manager.endpoint import ORG_ID, Endpoint
from swissbox.manager.permissions import effective
from swissbox.manager.schema import Doc
from swissbox.manager.views import ORG, listing


def _token_permissions(call: Call) -> Any:
    token = call.principal.token if call.principal else None
    return token.permissions if token else None


def list_orgs(call: Call) -> tuple[int, Any]:
    token = call.principal.token if call.principal else None
    return 200, [
        {"id": oid, "name": name, "role": role}
        for oid, name, role in call.directory.member_orgs(call.login)
        if token is None or token.org_id == oid
    ]


def read_org(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    allowed = effective(call.role, _token_permissions(call))
    return 200, {
        "id": call.org.id,
        "name": call.org.name,
        "role": call.role,
        "permissions": sorted(allowed),
    }


ENDPOINTS = [
    Endpoint(
        "GET",
        "/orgs",
        list_orgs,
        Doc("Your organizations", answers={200: listing(ORG)}),
        tag="orgs",
    ),
    Endpoint(
        "GET",
        "/orgs/{org_id}",
        read_org,
        Doc("One organization, with your role and permissions in it", answers={200: ORG}),
        permission="org:read",
        params=[ORG_ID],
        tag="orgs",
    ),
]
