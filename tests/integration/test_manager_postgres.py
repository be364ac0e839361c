"""The admin API with the directory on PostgreSQL and two front ends over it: a session made
on front end A is valid on B (and its logout ends it on both), a token revoked through B is
refused by A at once, and both write one audit log; removed mail is listed and restored
through the API with the mail index on PostgreSQL too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.manager_client import PASSWORD, Client
from tests.support.stack import Stack


@pytest.fixture(scope="module")
def frontends(
    tmp_path_factory: pytest.TempPathFactory, postgres: Any
) -> Iterator[tuple[Stack, Stack]]:
    tmp_path: Path = tmp_path_factory.mktemp("manager-pg")
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


def test_removed_mail_restored_through_the_api_with_the_index_on_postgresql(
    frontends: tuple[Stack, Stack],
) -> None:
    import imaplib
    import ssl

    a, _ = frontends
    admin = Client(a)
    assert admin.login("alice@acme.test").status == 200
    org = admin.request("GET", "/orgs").json[0]["id"]
    box = {"address": "alice@acme.test", "password": "alice-mailbox-pw-1"}
    assert admin.request("POST", f"/orgs/{org}/mailboxes", box).status == 201
    tls = ssl.create_default_context(cafile=str(a.ca_file))
    with imaplib.IMAP4_SSL("127.0.0.1", a.ports["imaps"], ssl_context=tls, timeout=10) as m:
        m.login(box["address"], box["password"])
        message = b"From: b@example.org\r\nSubject: gone-on-pg\r\n\r\nbody\r\n"
        assert m.append("INBOX", None, None, message)[0] == "OK"
        m.select("INBOX")
        m.store("1:*", "+FLAGS", r"(\Deleted)")
        m.expunge()
        path = f"/orgs/{org}/mailboxes/{box['address']}"
        assert [x["subject"] for x in admin.request("GET", f"{path}/deleted").json] == [
            "gone-on-pg"
        ]
        assert admin.request("POST", f"{path}/restore", {}).json["restored"] == 1
        m.select("Restored")
        _, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert b"gone-on-pg" in b"".join(x[1] for x in data if isinstance(x, tuple))
