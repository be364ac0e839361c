"""Shared response schemas and the JSON form of directory rows (one place per shape)."""

from __future__ import annotations

from typing import Any

from swissbox.manager.schema import ERROR, Arr, Bool, Int, Obj, Schema, Str

LOGIN = Str(min_length=1, max_length=320, description="account login (address-shaped)")
PASSWORD = Str(min_length=1, max_length=1024, description="a new password (never stored)")
ROLE = Str(enum=("legal", "admin", "collaborator", "external"))
PERMISSION_LIST = Arr(Str(max_length=40), max_items=20)
OK = Obj({"ok": Bool()}, required=("ok",), open=True)
STANDARD_ERRORS = (400, 401, 403, 404, 405, 409, 413, 415, 503)


def errors(*statuses: int) -> dict[int, Schema]:
    return {s: ERROR for s in statuses}


def listing(item: Schema) -> Arr:
    return Arr(item, max_items=100_000)


MEMBER = Obj(
    {
        "login": Str(max_length=320),
        "name": Str(max_length=2000),
        "phone": Str(max_length=2000),
        "role": ROLE,
        "private": Bool(),
        "teams": Arr(Str(max_length=200), max_items=10_000),
    },
    required=("login", "role"),
    open=True,
)

ORG = Obj(
    {
        "id": Int(),
        "name": Str(max_length=200),
        "role": ROLE,
        "permissions": PERMISSION_LIST,
    },
    required=("id", "name"),
    open=True,
)


def member_json(m: Any, teams: list[str] | None = None, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "login": m.account.login,
        "name": m.account.display_name,
        "phone": m.account.phone,
        "role": m.role,
    }
    if full:
        out["private"] = m.private
        out["teams"] = teams or []
    return out
