"""`/orgs/{org_id}/ddns`: dynamic DNS hosts in the organization's zones, and their users
(the ddns realm: the provider's password rule, `swissbox.directory.ddnsrules`)."""

from __future__ import annotations

from typing import Any

from swissbox.auth import WeakPassword, hashed_new_secret
from swissbox.directory import DirectoryError, NotFound
from swissbox.directory.ddnsrules import add_ddns_host
from swissbox.manager.api import Call
from swissbox.manager.endpoint import ORG_ID, Endpoint
from swissbox.manager.schema import Bool, Doc, Obj, Param, Str
from swissbox.manager.scope import member_login, zone_of
from swissbox.manager.views import OK, listing
from swissbox.runtime import ZONE_CHANGED

HOST = Obj(
    {
        "hostname": Str(max_length=253),
        "zone": Str(max_length=253),
        "user": Str(max_length=64),
        "offline": Bool(),
    },
    required=("hostname", "zone", "user"),
    open=True,
)
HOST_IN = Obj(
    {
        "hostname": Str(min_length=1, max_length=253),
        "user": Str(min_length=1, max_length=64),
        "password": Str(
            min_length=1,
            max_length=1024,
            description="for a new DDNS user: 8+ letters and digits, upper, lower and a digit",
        ),
        "owner": Str(min_length=1, max_length=320, description="member owning a new user"),
        "ip": Str(min_length=2, max_length=45, description="a first address"),
    },
    required=("hostname", "user"),
)


def _org_hosts(call: Call) -> list[Any]:
    assert call.org is not None
    zones = {x.name for x in call.directory.domains(call.org.name)}
    return [h for h in call.directory.ddns_hosts() if h.zone in zones]


def list_hosts(call: Call) -> tuple[int, Any]:
    return 200, [
        {"hostname": h.hostname, "zone": h.zone, "user": h.username, "offline": h.offline}
        for h in _org_hosts(call)
    ]


def _org_user(call: Call, user: str) -> str:
    """A DDNS user all of whose hosts are in the organization's zones (it has one at least)."""
    hosts = call.directory.ddns_hosts(user.strip())
    mine = {h.hostname for h in _org_hosts(call)}
    if not hosts or any(h.hostname not in mine for h in hosts):
        raise NotFound(f"no DDNS user {user!r} in this organization")
    return hosts[0].username


def set_user_password(call: Call) -> tuple[int, Any]:
    user = _org_user(call, call.path["user"])
    try:
        new_hash = hashed_new_secret("ddns", call.body["password"], call.manager.hash_params)
    except WeakPassword as exc:
        raise DirectoryError(str(exc)) from None
    call.directory.set_secret_hash("ddns", user, new_hash)
    call.audit("ddns.password", user)
    return 200, {"ok": True}


def add_host(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    d, body, org = call.directory, call.body, call.org.name
    zone_of(d, org, body["hostname"])
    user = body["user"].strip()
    if d.ddns_user_exists(user):
        # a user whose hosts live in another organization's zones is not ours to extend
        zones = {x.name for x in d.domains(org)}
        if any(h.zone not in zones for h in d.ddns_hosts(user)):
            raise NotFound(f"no DDNS user {user!r} in this organization")
    owner = member_login(d, org, body["owner"]) if body.get("owner") else None
    host, created, _ = add_ddns_host(
        d,
        body["hostname"],
        user,
        call.manager.hash_params,
        call.manager.settings.ddns.default_ttl,
        body.get("password"),
        owner,
        body.get("ip"),
        ("password", "owner"),
    )
    call.audit("ddns.add", host.hostname, {"user": user, "user_created": created})
    if body.get("ip") and call.manager.emit_on_loop is not None:
        call.manager.emit_on_loop(ZONE_CHANGED)
    return 201, {
        "hostname": host.hostname,
        "zone": host.zone,
        "user": host.username,
        "offline": host.offline,
    }


def remove_host(call: Call) -> tuple[int, Any]:
    """As `swissbox ddns delete`: the host's A/AAAA records go (the next DNS answer has
    none), /nic/update for it is refused, and its user goes with its last host."""
    name = call.path["hostname"].strip().rstrip(".").lower()
    host = next((h for h in _org_hosts(call) if h.hostname == name), None)
    if host is None:
        raise NotFound(f"no DDNS host {call.path['hostname']!r} in this organization")
    user_removed = call.directory.remove_ddns_host(host.hostname)
    call.audit("ddns.remove", host.hostname, {"user": host.username, "user_removed": user_removed})
    if call.manager.emit_on_loop is not None:
        call.manager.emit_on_loop(ZONE_CHANGED)
    return 200, {"ok": True, "user": host.username, "user_removed": user_removed}


USER = Param("user", Str(min_length=1, max_length=64), description="DDNS user name")
USER_PASSWORD = Obj({"password": HOST_IN.properties["password"]}, required=("password",))

HOSTNAME = Param("hostname", Str(min_length=1, max_length=253), description="DDNS host name")
REMOVED = Obj(
    {
        "ok": Bool(),
        "user": Str(max_length=64),
        "user_removed": Bool(description="the DDNS user went with its last host"),
    },
    required=("ok", "user", "user_removed"),
)

ENDPOINTS = [
    Endpoint(
        "DELETE",
        "/orgs/{org_id}/ddns/{hostname}",
        remove_host,
        Doc(
            "Remove a DDNS host: its address records go and updates for it are refused"
            " (its user goes with its last host)",
            answers={200: REMOVED},
        ),
        permission="ddns:write",
        params=[ORG_ID, HOSTNAME],
        tag="ddns",
    ),
    Endpoint(
        "PUT",
        "/orgs/{org_id}/ddns/users/{user}/password",
        set_user_password,
        Doc(
            "Set a DDNS user's password (the provider's rule)",
            body=USER_PASSWORD,
            answers={200: OK},
        ),
        permission="ddns:write",
        params=[ORG_ID, USER],
        tag="ddns",
    ),
    Endpoint(
        "GET",
        "/orgs/{org_id}/ddns",
        list_hosts,
        Doc("Dynamic DNS hosts in the organization's zones", answers={200: listing(HOST)}),
        permission="ddns:read",
        params=[ORG_ID],
        tag="ddns",
    ),
    Endpoint(
        "POST",
        "/orgs/{org_id}/ddns",
        add_host,
        Doc(
            "A host name a DDNS user may update (a new user needs a password)",
            body=HOST_IN,
            answers={201: HOST},
        ),
        permission="ddns:write",
        params=[ORG_ID],
        tag="ddns",
    ),
]
