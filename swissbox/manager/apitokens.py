"""`/orgs/{org_id}/tokens`: API tokens for scripts. Each is scoped to one organization and a
set of permissions (no more than its maker's role has), acts as its maker, is shown once
(only its SHA-256 is kept, see `tokens`), and can be revoked; its last use is recorded."""

from __future__ import annotations

from typing import Any

from swissbox.directory import NotFound
from swissbox.manager.api import Call
from swissbox.manager.endpoint import ORG_ID, Endpoint, refuse
from swissbox.manager.permissions import PERMISSIONS, grantable
from swissbox.manager.schema import Arr, Doc, Int, Obj, Param, Str
from swissbox.manager.tokens import digest, new_api_token
from swissbox.manager.views import listing

TOKEN = Obj(
    {
        "id": Int(),
        "name": Str(max_length=100),
        "login": Str(max_length=320),
        "permissions": Arr(Str(enum=PERMISSIONS), max_items=len(PERMISSIONS)),
        "created": Int(),
        "last_used": Int(nullable=True),
        "revoked": Int(nullable=True),
    },
    required=("id", "name", "login", "permissions", "created"),
    open=True,
)
NEW_TOKEN = Obj(
    {**TOKEN.properties, "token": Str(max_length=200)}, required=("id", "token"), open=True
)
TOKEN_IN = Obj(
    {
        "name": Str(min_length=1, max_length=100),
        "permissions": Arr(
            Str(enum=PERMISSIONS), min_items=1, max_items=len(PERMISSIONS), unique=True
        ),
    },
    required=("name", "permissions"),
)
TOKEN_ID = Param("token_id", Int(minimum=1, maximum=2**53), description="API token id")


def _json(t: Any) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "login": t.login,
        "permissions": list(t.permissions),
        "created": t.created,
        "last_used": t.last_used,
        "revoked": t.revoked,
    }


def list_tokens(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    return 200, [_json(t) for t in call.directory.tokens(call.org.id)]


def create_token(call: Call) -> tuple[int, Any]:
    assert call.org is not None and call.role is not None
    wanted = call.body["permissions"]
    decision = grantable(call.role, wanted)
    if not decision.allowed:
        raise refuse(decision.reason)
    maker = call.principal.token if call.principal else None
    if maker is not None and not set(wanted) <= set(maker.permissions):
        raise refuse("a token cannot make a token with more permissions than its own")
    secret = new_api_token()
    row = call.directory.add_token(
        digest(secret), call.org.id, call.login, call.body["name"], wanted
    )
    call.audit("token.add", str(row.id), {"name": row.name, "permissions": list(row.permissions)})
    return 201, {**_json(row), "token": secret}


def revoke_token(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    try:
        row = call.directory.revoke_token(call.org.id, call.path["token_id"])
    except NotFound:
        raise NotFound("no live API token with this id in this organization") from None
    call.audit("token.revoke", str(row.id), {"name": row.name})
    return 200, _json(row)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/orgs/{org_id}/tokens",
        list_tokens,
        Doc(
            "API tokens of the organization (never the tokens themselves)",
            answers={200: listing(TOKEN)},
        ),
        permission="tokens:read",
        params=[ORG_ID],
        tag="tokens",
    ),
    Endpoint(
        "POST",
        "/orgs/{org_id}/tokens",
        create_token,
        Doc(
            "A new API token acting as you with these permissions; shown only this once",
            body=TOKEN_IN,
            answers={201: NEW_TOKEN},
        ),
        permission="tokens:write",
        params=[ORG_ID],
        tag="tokens",
    ),
    Endpoint(
        "DELETE",
        "/orgs/{org_id}/tokens/{token_id}",
        revoke_token,
        Doc("Revoke an API token (at once, for every later request)", answers={200: TOKEN}),
        permission="tokens:write",
        params=[ORG_ID, TOKEN_ID],
        tag="tokens",
    ),
]
