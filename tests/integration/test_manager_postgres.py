"""The admin API with the directory on PostgreSQL and two front ends over it: a session made
on front end A is valid on B (and its logout ends it on both), a token revoked through B is
refused by A at once, and both write one audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.manager_client import PASSWORD, Client
from tests.support.stack import Stack


@pytest.fixture
def frontends(tmp_path: Path, postgres: Any) -> Iterator[tuple[Stack, Stack]]:
    url = postgres.new_database()
    a = Stack(tmp_path / "a", store={"url": url})
    b = Stack(tmp_path / "b", store={"url": url})
    a.provision(org="acme", domain="acme.test", accounts={"alice@acme.test": PASSWORD})
    a.cli("org", "member", "set-role", "alice@acme.test", "legal", check=True)
    b.init()
    with a, b:
        a.start()
        b.start()
        yield a, b


def test_sessions_tokens_and_audit_hold_across_front_ends(
    frontends: tuple[Stack, Stack],
) -> None:
    a, b = frontends
    on_a = Client(a)
    assert on_a.login("alice@acme.test").status == 200
    on_b = Client(b)
    on_b.cookie, on_b.csrf = on_a.cookie, on_a.csrf
    org = on_b.request("GET", "/orgs").json[0]["id"]
    made = on_b.request("POST", f"/orgs/{org}/tokens", {"name": "ci", "permissions": ["org:read"]})
    assert made.status == 201
    script_a = Client(a, made.json["token"])
    assert script_a.request("GET", f"/orgs/{org}").status == 200
    assert on_b.request("DELETE", f"/orgs/{org}/tokens/{made.json['id']}").status == 200
    assert script_a.request("GET", f"/orgs/{org}").status == 401
    record = {"name": "pg", "type": "A", "value": "192.0.2.60"}
    assert on_a.request("POST", f"/orgs/{org}/domains/acme.test/records", record).status == 201
    actions = [e["action"] for e in on_b.request("GET", f"/orgs/{org}/audit").json]
    assert actions[:3] == ["dns.add", "token.revoke", "token.add"]
    assert on_b.request("DELETE", "/session").status == 204
    assert on_a.request("GET", "/me").status == 401
