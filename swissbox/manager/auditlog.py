"""`/orgs/{org_id}/audit`: the organization's audit log, newest first (administrators)."""

from __future__ import annotations

from typing import Any

from swissbox.directory.managerdata import AUDIT_PAGE
from swissbox.manager.api import Call
from swissbox.manager.endpoint import ORG_ID, Endpoint
from swissbox.manager.schema import Doc, Int, Obj, Param, Str
from swissbox.manager.views import listing

ENTRY = Obj(
    {
        "id": Int(),
        "time": Int(),
        "actor": Str(max_length=320),
        "via": Str(max_length=40),
        "client": Str(max_length=100),
        "action": Str(max_length=100),
        "target": Str(max_length=1000),
        "detail": Obj({}, open=True),
    },
    required=("id", "time", "actor", "via", "action"),
    open=True,
)


def read_audit(call: Call) -> tuple[int, Any]:
    assert call.org is not None
    entries = call.directory.audit_entries(
        call.org.id, call.query.get("before"), call.query.get("limit", AUDIT_PAGE)
    )
    return 200, [
        {
            "id": e.id,
            "time": e.time,
            "actor": e.actor,
            "via": e.via,
            "client": e.client,
            "action": e.action,
            "target": e.target,
            "detail": e.detail,
        }
        for e in entries
    ]


ENDPOINTS = [
    Endpoint(
        "GET",
        "/orgs/{org_id}/audit",
        read_audit,
        Doc(
            "Changes made through the API, newest first",
            answers={200: listing(ENTRY)},
            query=[
                Param(
                    "before",
                    Int(minimum=1, maximum=2**53),
                    "query",
                    False,
                    "entries older than this id",
                ),
                Param("limit", Int(minimum=1, maximum=AUDIT_PAGE), "query", False),
            ],
        ),
        permission="audit:read",
        params=[ORG_ID],
        tag="audit",
    ),
]
