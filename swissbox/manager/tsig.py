"""`/orgs/{org_id}/tsig`: TSIG keys for RFC 2136 UPDATE of the organization's zones. A new
key's secret is in the answer that creates it, and never again."""

from __future__ import annotations

from typing import Any

from swissbox.directory import DirectoryError, NotFound
from swissbox.dns.recordedit import new_tsig_key
from swissbox.dns.records import RecordError
from swissbox.manager.api import Call
from swissbox.manager.endpoint import ORG_ID, Endpoint
from swissbox.manager.schema import Doc, Obj, Param, Str
from swissbox.manager.scope import domain_of
from swissbox.manager.views import OK, listing

KEY = Obj(
    {
        "name": Str(max_length=253),
        "zone": Str(max_length=253),
        "algorithm": Str(max_length=40),
        "names": Str(max_length=4000),
    },
    required=("name", "zone", "algorithm"),
    open=True,
)
NEW_KEY = Obj(
    {**KEY.properties, "secret": Str(max_length=200)}, required=("name", "secret"), open=True
)
KEY_IN = Obj(
    {
        "name": Str(min_length=1, max_length=253),
        "zone": Str(min_length=1, max_length=253),
        "names": Str(min_length=1, max_length=4000, description="e.g. '*.dyn.example.org'"),
    },
    required=("name", "zone"),
)
KEY_NAME = Param("name", Str(min_length=1, max_length=253), description="TSIG key name")


def _json(key: Any) -> dict[str, Any]:
    return {
        "name": key.name,
        "zone": key.zone,
        "algorithm": key.algorithm,
        "names": key.name_pattern,
    }


def list_keys(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    zones = {x.name for x in call.directory.domains(call.org.name)}
    return 200, [_json(k) for k in call.directory.tsig_keys() if k.zone in zones]


def add_key(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    body = call.body
    zone = domain_of(call.directory, call.org.name, body["zone"])
    try:
        key, secret = new_tsig_key(call.directory, body["name"], zone.name, body.get("names"))
    except RecordError as exc:
        raise DirectoryError(str(exc)) from None
    call.audit("tsig.add", key.name, {"zone": key.zone, "names": key.name_pattern})
    return 201, {**_json(key), "secret": secret}


def remove_key(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    key = call.directory.tsig_key(call.path["name"])
    zones = {x.name for x in call.directory.domains(call.org.name)}
    if key is None or key.zone not in zones:
        raise NotFound(f"no TSIG key {call.path['name']!r}")
    call.directory.remove_tsig_key(key.name)
    call.audit("tsig.remove", key.name)
    return 200, {"ok": True}


ENDPOINTS = [
    Endpoint(
        "GET",
        "/orgs/{org_id}/tsig",
        list_keys,
        Doc("TSIG keys (never their secrets)", answers={200: listing(KEY)}),
        permission="domains:read",
        params=[ORG_ID],
        tag="dns",
    ),
    Endpoint(
        "POST",
        "/orgs/{org_id}/tsig",
        add_key,
        Doc(
            "A new hmac-sha256 key; the answer holds its secret, shown only this once",
            body=KEY_IN,
            answers={201: NEW_KEY},
        ),
        permission="domains:write",
        params=[ORG_ID],
        tag="dns",
    ),
    Endpoint(
        "DELETE",
        "/orgs/{org_id}/tsig/{name}",
        remove_key,
        Doc("Remove a TSIG key", answers={200: OK}),
        permission="domains:write",
        params=[ORG_ID, KEY_NAME],
        tag="dns",
    ),
]
