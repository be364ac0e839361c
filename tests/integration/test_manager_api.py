"""The admin API against the running server, driven as a script (http.client with a Bearer
token) and as a browser (cookie session + CSRF token): security rules first (CSRF, session
fixation, other organizations' ids, roles, revoked tokens, brute force), then the resources
and fifty clients at once."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import ssl
from pathlib import Path
from typing import Any

import pytest

from tests.support.manager_client import PASSWORD, Client
from tests.support.stack import Stack

ACME = {
    "alice@acme.test": "legal",
    "adam@acme.test": "admin",
    "colin@acme.test": "collaborator",
    "eve@acme.test": "external",
    "pia@acme.test": "collaborator",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    tmp: Path = tmp_path_factory.mktemp("manager")
    # X-Forwarded-For from loopback is honoured, so that tests can be "elsewhere"
    fast_failures = {"failure_delay_base": 0.01, "failure_delay_max": 0.05}
    with Stack(tmp, http={"trusted_proxies": ["127.0.0.0/8"]}, auth=fast_failures) as s:
        s.init()
        for org, domain in (("acme", "acme.test"), ("other", "other.test")):
            s.cli("org", "add", org, check=True)
            s.cli("domain", "add", domain, "--org", org, check=True)
            s.cli("mail", "enable", domain, check=True)
        for login, role in ACME.items():
            s.cli(
                "account", "add", login, "--org", "acme", "--role", role, "--password-stdin",
                stdin=PASSWORD + "\n", check=True,
            )  # fmt: skip
        s.cli(
            "account", "add", "olga@other.test", "--org", "other", "--role", "legal",
            "--password-stdin", stdin=PASSWORD + "\n", check=True,
        )  # fmt: skip
        s.cli("mailbox", "add", "olga@other.test", "--password-stdin", stdin="mailbox-pw-1\n")
        s.cli("org", "private", "pia@acme.test", "on", "--org", "acme", check=True)
        s.start()
        yield s


def org_ids(stack: Stack) -> dict[str, int]:
    alice = Client(stack)
    assert alice.login("alice@acme.test").status == 200
    olga = Client(stack)
    assert olga.login("olga@other.test").status == 200
    return {
        "acme": alice.request("GET", "/orgs").json[0]["id"],
        "other": olga.request("GET", "/orgs").json[0]["id"],
    }


def new_token(client: Client, org: int, permissions: list[str], name: str = "t") -> dict[str, Any]:
    answer = client.request(
        "POST", f"/orgs/{org}/tokens", {"name": name, "permissions": permissions}
    )
    assert answer.status == 201, answer
    return answer.json


# -- sessions and CSRF ----------------------------------------------------------------------


def test_login_sets_a_strict_httponly_cookie_and_secure_on_https(stack: Stack) -> None:
    plain = Client(stack)
    answer = plain.login("alice@acme.test")
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert plain.request("GET", "/me").json["login"] == "alice@acme.test"
    secure = Client(stack, https=True)
    assert "; Secure" in secure.login("alice@acme.test").headers["set-cookie"]
    assert secure.request("GET", "/session").json["csrf_token"] == secure.csrf


def test_a_wrong_password_and_another_realms_password_fail_alike(stack: Stack) -> None:
    client = Client(stack)
    client.forwarded_for = "198.51.100.40"
    wrong = client.login("alice@acme.test", "not-the-password")
    # olga@other.test is also a mailbox with its own password: it opens nothing here
    mailbox = client.login("olga@other.test", "mailbox-pw-1")
    unknown = client.login("nobody@acme.test", PASSWORD)
    assert wrong.status == mailbox.status == unknown.status == 401
    assert wrong.json == mailbox.json == unknown.json == {"error": "authentication failed"}


def test_state_changes_with_the_cookie_need_the_csrf_token(stack: Stack) -> None:
    ids = org_ids(stack)
    client = Client(stack)
    client.login("adam@acme.test")
    token, client.csrf = client.csrf, None
    body = {"name": "csrf", "type": "A", "value": "192.0.2.50"}
    path = f"/orgs/{ids['acme']}/domains/acme.test/records"
    missing = client.request("POST", path, body)
    assert missing.status == 403 and "X-CSRF-Token" in missing.json["reason"]
    wrong = client.request("POST", path, body, {"X-CSRF-Token": "guess"})
    assert wrong.status == 403 and "does not match" in wrong.json["reason"]
    assert client.request("DELETE", "/session").status == 403  # logout too
    assert all(r["name"] != "csrf.acme.test" for r in client.request("GET", path).json)
    client.csrf = token
    evil = client.request("POST", path, body, {"Origin": "https://evil.test"})
    assert evil.status == 403 and "another site" in evil.json["reason"]
    assert client.request("POST", path, body).status == 201
    planted = Client(stack).request(
        "POST", "/session", {"login": "adam@acme.test", "password": PASSWORD},
        {"Origin": "https://evil.test"},
    )  # fmt: skip
    assert planted.status == 403 and "set-cookie" not in planted.headers


def test_login_never_adopts_a_planted_session_id(stack: Stack) -> None:
    victim = Client(stack)
    planted = "swissbox_session=attacker-chosen-value-0123456789"
    victim.cookie = planted
    answer = victim.login("alice@acme.test")
    assert answer.status == 200 and victim.cookie != planted
    attacker = Client(stack)
    attacker.cookie = planted
    assert attacker.request("GET", "/me").status == 401
    # logging in again from a live session ends the old one
    old = victim.cookie
    victim.login("alice@acme.test")
    stale = Client(stack)
    stale.cookie = old
    assert victim.cookie != old and stale.request("GET", "/me").status == 401
    assert victim.request("DELETE", "/session").status == 204
    assert victim.request("GET", "/me").status == 401


# -- organizations, roles, tokens -------------------------------------------------------------


def test_another_organizations_ids_answer_404_and_change_nothing(stack: Stack) -> None:
    ids = org_ids(stack)
    alice = Client(stack)
    alice.login("alice@acme.test")
    olga = Client(stack)
    olga.login("olga@other.test")
    olga_token = new_token(olga, ids["other"], ["org:read", "mail:read"])
    acme, other = ids["acme"], ids["other"]
    for method, path, body in (
        ("GET", f"/orgs/{other}", None),
        ("GET", f"/orgs/{other}/members", None),
        ("GET", f"/orgs/{acme}/domains/other.test/records", None),
        ("POST", f"/orgs/{acme}/domains/other.test/records", {"name": "x", "type": "A", "value": "192.0.2.1"}),
        ("DELETE", f"/orgs/{acme}/domains/other.test", None),
        ("PATCH", f"/orgs/{acme}/members/olga@other.test", {"role": "external"}),
        ("DELETE", f"/orgs/{acme}/members/olga@other.test", {"confirm": "olga@other.test", "delete_data": True}),
        ("PUT", f"/orgs/{acme}/mailboxes/olga@other.test/users/alice@acme.test", {"access": "full"}),
        ("DELETE", f"/orgs/{acme}/mailboxes/olga@other.test", None),
        ("POST", f"/orgs/{acme}/mailboxes", {"address": "x@other.test", "password": "long-enough-1"}),
        ("DELETE", f"/orgs/{acme}/tokens/{olga_token['id']}", None),
        ("GET", f"/orgs/{other}/audit", None),
    ):  # fmt: skip
        answer = alice.request(method, path, body)
        assert answer.status == 404, (method, path, answer)
        assert "olga" not in answer.raw.decode() or "olga" in path
    # nor can an administrator pull another organization's account in to read its details
    pulled = alice.request(
        "POST", f"/orgs/{acme}/members",
        {"login": "olga@other.test", "role": "collaborator", "password": PASSWORD},
    )  # fmt: skip
    assert pulled.status == 409
    logins = {m["login"] for m in alice.request("GET", f"/orgs/{acme}/members").json}
    assert "olga@other.test" not in logins
    script = Client(stack, olga_token["token"])
    assert script.request("GET", f"/orgs/{other}/mailboxes").json[0]["address"] == "olga@other.test"
    assert script.request("GET", f"/orgs/{acme}").status == 404  # a token sees one org only
    assert [o["id"] for o in script.request("GET", "/orgs").json] == [other]


def test_collaborator_and_external_are_refused_admin_endpoints_with_a_reason(stack: Stack) -> None:
    acme = org_ids(stack)["acme"]
    colin = Client(stack)
    colin.login("colin@acme.test")
    members = colin.request("GET", f"/orgs/{acme}/members")
    logins = {m["login"] for m in members.json}
    # the directory as CardDAV shows it: no private entry, no external member
    assert "alice@acme.test" in logins and "pia@acme.test" not in logins
    assert "eve@acme.test" not in logins and "private" not in members.json[0]
    for method, path, body in (
        ("POST", f"/orgs/{acme}/members", {"login": "x@acme.test", "role": "admin", "password": PASSWORD}),
        ("PATCH", f"/orgs/{acme}/members/colin@acme.test", {"role": "admin"}),
        ("GET", f"/orgs/{acme}/audit", None),
        ("GET", f"/orgs/{acme}/mailboxes", None),
        ("POST", f"/orgs/{acme}/tokens", {"name": "x", "permissions": ["org:read"]}),
    ):  # fmt: skip
        answer = colin.request(method, path, body)
        assert answer.status == 403 and "collaborator" in answer.json["reason"], (path, answer)
    me = colin.request("GET", "/me").json
    assert me["orgs"][0]["role"] == "collaborator"
    eve = Client(stack)
    eve.login("eve@acme.test")
    refused = eve.request("GET", f"/orgs/{acme}/members")
    assert refused.status == 403 and "external" in refused.json["reason"]
    assert eve.request("GET", f"/orgs/{acme}").json["permissions"] == ["org:read"]


def test_an_administrator_cannot_name_or_remove_a_legal_representative(stack: Stack) -> None:
    acme = org_ids(stack)["acme"]
    adam = Client(stack)
    adam.login("adam@acme.test")
    answer = adam.request("PATCH", f"/orgs/{acme}/members/colin@acme.test", {"role": "legal"})
    assert answer.status == 403 and "legal representative" in answer.json["reason"]
    answer = adam.request(
        "DELETE", f"/orgs/{acme}/members/alice@acme.test",
        {"confirm": "alice@acme.test", "delete_data": True},
    )  # fmt: skip
    assert answer.status == 403


def test_token_scope_and_revocation(stack: Stack) -> None:
    acme = org_ids(stack)["acme"]
    alice = Client(stack)
    alice.login("alice@acme.test")
    made = new_token(alice, acme, ["domains:read"], "reader")
    assert made["token"].startswith("sbx_")
    listed = alice.request("GET", f"/orgs/{acme}/tokens").json
    assert made["token"] not in json.dumps(listed)  # shown once, never listed
    script = Client(stack, made["token"])
    assert script.request("GET", f"/orgs/{acme}/domains").status == 200
    refused = script.request("POST", f"/orgs/{acme}/domains", {"name": "new.test"})
    assert refused.status == 403 and "token does not carry" in refused.json["reason"]
    used = next(
        t for t in alice.request("GET", f"/orgs/{acme}/tokens").json if t["id"] == made["id"]
    )
    assert used["last_used"] is not None
    assert alice.request("DELETE", f"/orgs/{acme}/tokens/{made['id']}").status == 200
    revoked = script.request("GET", f"/orgs/{acme}/domains")
    assert revoked.status == 401 and revoked.json["error"] == "unknown or revoked API token"
    colin = Client(stack)
    colin.login("colin@acme.test")
    assert (
        alice.request("POST", f"/orgs/{acme}/tokens", {"name": "x", "permissions": ["nope"]}).status
        == 400
    )


def test_login_brute_force_is_limited_like_the_protocols(stack: Stack) -> None:
    attacker = Client(stack)
    attacker.forwarded_for = "198.51.100.77"
    statuses = [attacker.login("colin@acme.test", f"guess-{n}").status for n in range(7)]
    assert statuses == [401] * 7
    # locked out from there: even the right password is refused, with the same answer
    assert attacker.login("colin@acme.test").status == 401
    elsewhere = Client(stack)
    elsewhere.forwarded_for = "198.51.100.78"
    assert elsewhere.login("colin@acme.test").status == 200


def test_guessed_api_tokens_are_limited_per_address(stack: Stack) -> None:
    acme = org_ids(stack)["acme"]
    alice = Client(stack)
    alice.login("alice@acme.test")
    good = new_token(alice, acme, ["org:read"])["token"]
    guesser = Client(stack)
    guesser.forwarded_for = "198.51.100.90"
    for n in range(6):  # distinct guesses: the same wrong one again counts once
        guesser.token = f"sbx_{n:043d}"
        assert guesser.request("GET", "/orgs").status == 401
    guesser.token = good  # locked: even a real token is refused from that address
    assert guesser.request("GET", "/orgs").status == 401
    assert Client(stack, good).request("GET", "/orgs").status == 200


# -- resources --------------------------------------------------------------------------------


def test_members_dns_mail_ddns_tsig_and_the_audit_log(stack: Stack) -> None:
    acme = org_ids(stack)["acme"]
    alice = Client(stack)
    alice.login("alice@acme.test")
    base = f"/orgs/{acme}"
    weak = alice.request(
        "POST",
        f"{base}/members",
        {"login": "nia@acme.test", "role": "collaborator", "password": "short"},
    )
    assert weak.status == 400 and "8 characters" in weak.json["error"]
    added = alice.request(
        "POST",
        f"{base}/members",
        {"login": "nia@acme.test", "role": "collaborator", "password": PASSWORD},
    )
    assert added.status == 201 and added.json["role"] == "collaborator"
    assert Client(stack).login("nia@acme.test").status == 200  # the new account logs in
    changed = alice.request("PATCH", f"{base}/members/nia@acme.test", {"role": "admin"})
    assert changed.status == 200 and changed.json["role"] == "admin"
    unconfirmed = alice.request("DELETE", f"{base}/members/nia@acme.test", {"confirm": "x"})
    assert unconfirmed.status == 400 and "confirm nia@acme.test" in unconfirmed.json["error"]
    undecided = alice.request(
        "DELETE", f"{base}/members/nia@acme.test", {"confirm": "nia@acme.test"}
    )
    assert undecided.status == 400 and "transfer_to LOGIN or delete_data" in undecided.json["error"]
    removed = alice.request(
        "DELETE", f"{base}/members/nia@acme.test", {"confirm": "nia@acme.test", "delete_data": True}
    )
    assert removed.status == 200 and removed.json["account_deleted"] is True
    assert Client(stack).login("nia@acme.test").status == 401
    # DNS: the CLI's validation
    records = f"{base}/domains/acme.test/records"
    assert (
        alice.request("POST", records, {"name": "www", "type": "A", "value": "192.0.2.7"}).status
        == 201
    )
    again = alice.request("POST", records, {"name": "www", "type": "A", "value": "192.0.2.7"})
    assert again.status == 200 and again.json["changed"] is False
    cname = alice.request("POST", records, {"name": "www", "type": "CNAME", "value": "x"})
    assert cname.status == 400 and "CNAME" in cname.json["error"]
    bad = alice.request("POST", records, {"name": "www", "type": "A", "value": "999.1.1.1"})
    assert bad.status == 400
    apex = alice.request("DELETE", records, {"name": "@", "type": "NS"})
    assert apex.status == 400 and "at least one NS" in apex.json["error"]
    assert alice.request("DELETE", records, {"name": "www", "type": "A"}).json["deleted"] == 1
    # mail
    box = alice.request(
        "POST", f"{base}/mailboxes", {"address": "team@acme.test", "password": "mailbox-pw-2"}
    )
    assert box.status == 201
    shared = alice.request(
        "PUT", f"{base}/mailboxes/team@acme.test/users/colin@acme.test", {"access": "read"}
    )
    assert (
        shared.status == 201
        and {"login": "colin@acme.test", "access": "read"} in shared.json["users"]
    )
    colin = Client(stack)
    colin.login("colin@acme.test")
    assert {"address": "team@acme.test", "access": "read"} in colin.request("GET", "/me").json[
        "addresses"
    ]
    alias = alice.request(
        "POST", f"{base}/aliases", {"address": "info@acme.test", "targets": ["team@acme.test"]}
    )
    assert alias.status == 201 and alias.json["send_as"] is True
    # DDNS: the provider's password rule
    host = {"hostname": "nas.acme.test", "user": "nasuser", "password": "lowercaseonly1"}
    weak_ddns = alice.request("POST", f"{base}/ddns", host)
    assert weak_ddns.status == 400 and "upper-case" in weak_ddns.json["error"]
    host["password"], host["ip"] = "Nas0Password", "192.0.2.9"
    assert alice.request("POST", f"{base}/ddns", host).status == 201
    # TSIG: the secret once
    key = alice.request("POST", f"{base}/tsig", {"name": "k1.acme.test", "zone": "acme.test"})
    assert key.status == 201 and key.json["secret"]
    assert "secret" not in alice.request("GET", f"{base}/tsig").json[0]
    outside = alice.request(
        "POST", f"{base}/tsig", {"name": "k2", "zone": "acme.test", "names": "x.other.test"}
    )
    assert outside.status == 400
    # the audit log: who, what, from where; never a secret
    log = alice.request("GET", f"{base}/audit").json
    actions = {e["action"] for e in log}
    assert {
        "member.add",
        "member.change",
        "member.remove",
        "dns.add",
        "mailbox.add",
        "mailbox.grant",
        "alias.add",
        "ddns.add",
        "tsig.add",
    } <= actions
    assert all(e["actor"] and e["client"] for e in log if e["action"] != "session.login")
    text = json.dumps(log)
    assert PASSWORD not in text and "mailbox-pw-2" not in text and "Nas0Password" not in text
    assert key.json["secret"] not in text


def test_errors_are_json_and_bodies_are_checked(stack: Stack) -> None:
    acme = org_ids(stack)["acme"]
    alice = Client(stack)
    alice.login("alice@acme.test")
    assert alice.request("GET", "/nowhere").status == 404
    assert alice.request("PUT", "/orgs").status == 405
    broken = alice.request("POST", f"/orgs/{acme}/domains", b"{not json")
    assert broken.status == 400 and broken.json["error"]
    typo = alice.request("POST", f"/orgs/{acme}/domains", {"nmae": "x.test"})
    assert typo.status == 400 and "unknown field" in typo.json["error"]
    form = alice.request("POST", f"/orgs/{acme}/domains", b"name=x", {"Content-Type": "text/plain"})
    assert form.status == 415
    assert alice.request("GET", "/orgs/abc").status == 400
    assert Client(stack).request("GET", "/me").status == 401
    spec = Client(stack).request("GET", "/openapi.json")
    assert spec.status == 200 and spec.json["openapi"] == "3.1.0"


def test_fifty_clients_at_once_good_and_bad_mixed(stack: Stack) -> None:
    acme = org_ids(stack)["acme"]
    alice = Client(stack)
    alice.login("alice@acme.test")
    token = new_token(alice, acme, ["domains:read", "domains:write", "members:read"])["token"]
    colin = Client(stack)
    colin.login("colin@acme.test")
    base = f"/orgs/{acme}"

    def one(n: int) -> tuple[int, int]:
        kind = n % 5
        if kind == 0:  # a script adding its own record
            c = Client(stack, token)
            body = {"name": f"load{n}", "type": "A", "value": f"192.0.2.{n + 1}"}
            return 201, c.request("POST", f"{base}/domains/acme.test/records", body).status
        if kind == 1:  # a guessed token, each from its own address
            c = Client(stack, "sbx_" + f"{n:043d}")
            c.forwarded_for = f"203.0.113.{n}"
            return 401, c.request("GET", f"{base}/members").status
        if kind == 2:  # a cookie request without its CSRF token
            c = Client(stack)
            c.cookie = alice.cookie
            return 403, c.request("POST", f"{base}/domains", {"name": f"x{n}.test"}).status
        if kind == 3:  # a collaborator at an admin endpoint
            return 403, colin.request("GET", f"{base}/audit").status
        return 200, Client(stack, token).request("GET", f"{base}/members").status

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(one, range(50)))
    assert [got for _, got in results] == [want for want, _ in results]
    names = {r["name"] for r in alice.request("GET", f"{base}/domains/acme.test/records").json}
    assert {f"load{n}.acme.test" for n in range(0, 50, 5)} <= names
    assert alice.request("GET", "/me").status == 200  # the server still serves everyone


def test_teams_private_entries_and_an_email_service(stack: Stack) -> None:
    acme = org_ids(stack)["acme"]
    adam = Client(stack)
    adam.login("adam@acme.test")
    base = f"/orgs/{acme}"
    assert adam.request("POST", f"{base}/teams", {"name": "Sales"}).status == 201
    for login in ("colin@acme.test", "pia@acme.test"):
        assert adam.request("PUT", f"{base}/teams/Sales/members/{login}").status == 200
    outsider = adam.request("PUT", f"{base}/teams/Sales/members/olga@other.test")
    assert outsider.status == 404
    colin = Client(stack)
    colin.login("colin@acme.test")
    teams = {t["name"]: t["members"] for t in colin.request("GET", f"{base}/teams").json}
    assert teams["Sales"] == ["colin@acme.test"]  # pia's entry is private
    assert adam.request("PATCH", f"{base}/members/pia@acme.test", {"private": False}).status == 200
    teams = {t["name"]: t["members"] for t in colin.request("GET", f"{base}/teams").json}
    assert sorted(teams["Sales"]) == ["colin@acme.test", "pia@acme.test"]
    assert adam.request("PATCH", f"{base}/members/pia@acme.test", {}).status == 400
    assert adam.request("POST", f"{base}/domains", {"name": "shop.acme-two.test"}).status == 201
    no_mail = adam.request(
        "POST", f"{base}/mailboxes", {"address": "a@shop.acme-two.test", "password": "mailbox-pw-3"}
    )
    assert no_mail.status == 404 and "Email Service" in no_mail.json["error"]
    enabled = adam.request("PUT", f"{base}/domains/shop.acme-two.test/mail", {"max_addresses": 1})
    assert enabled.status == 200 and enabled.json["records"] > 3
    assert (
        adam.request(
            "POST",
            f"{base}/mailboxes",
            {"address": "a@shop.acme-two.test", "password": "mailbox-pw-3"},
        ).status
        == 201
    )
    full = adam.request(
        "POST", f"{base}/mailboxes", {"address": "b@shop.acme-two.test", "password": "mailbox-pw-3"}
    )
    assert full.status == 409 and "limit" in full.json["error"]
    mx = adam.request("GET", f"{base}/domains/shop.acme-two.test/records").json
    assert any(r["type"] == "MX" for r in mx)


def test_role_change_mails_the_member_and_removal_hands_over_their_collections(
    stack: Stack,
) -> None:
    import base64
    import imaplib

    acme = org_ids(stack)["acme"]
    alice = Client(stack)
    alice.login("alice@acme.test")
    base = f"/orgs/{acme}"
    login = "ruth@acme.test"
    body = {"login": login, "role": "collaborator", "password": PASSWORD}
    assert alice.request("POST", f"{base}/members", body).status == 201
    box = {"address": login, "password": "mailbox-pw-4"}
    assert alice.request("POST", f"{base}/mailboxes", box).status == 201
    assert alice.request("PATCH", f"{base}/members/{login}", {"role": "admin"}).status == 200
    with imaplib.IMAP4("127.0.0.1", stack.ports["imap"]) as imap:
        imap.starttls(ssl.create_default_context(cafile=str(stack.ca_file)))
        imap.login(login, "mailbox-pw-4")
        imap.select("INBOX")
        _, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert b"administrator" in data[0][1].lower()  # type: ignore[index]
    # her DAV home (made on first PROPFIND) goes to alice when she is removed
    dav = http.client.HTTPConnection("127.0.0.1", stack.ports["http"], timeout=30)
    auth = base64.b64encode(f"{login}:{PASSWORD}".encode()).decode()
    dav.request(
        "PROPFIND", f"/dav/{login}/", headers={"Authorization": f"Basic {auth}", "Depth": "1"}
    )
    assert dav.getresponse().status == 207
    dav.close()
    before = stack.cli("account", "collections", "alice@acme.test", "--json", check=True).stdout
    answer = alice.request(
        "DELETE", f"{base}/members/{login}", {"confirm": login, "transfer_to": "alice@acme.test"}
    )
    assert answer.status == 200 and answer.json["account_deleted"] is True
    after = json.loads(
        stack.cli("account", "collections", "alice@acme.test", "--json", check=True).stdout
    )
    assert len(after) > len(json.loads(before))
    assert any("from ruth@acme.test" in c["displayname"] for c in after)


def test_own_details_and_password_and_a_mailbox_password(stack: Stack) -> None:
    import imaplib

    acme = org_ids(stack)["acme"]
    alice = Client(stack)
    alice.login("alice@acme.test")
    body = {"login": "sam@acme.test", "role": "collaborator", "password": PASSWORD}
    assert alice.request("POST", f"/orgs/{acme}/members", body).status == 201
    sam, other_device = Client(stack), Client(stack)
    sam.login("sam@acme.test")
    other_device.login("sam@acme.test")
    changed = sam.request("PATCH", "/me", {"name": "Sam Sample", "phone": "+41 1"})
    assert changed.status == 200 and changed.json["name"] == "Sam Sample"
    names = {m["login"]: m["name"] for m in alice.request("GET", f"/orgs/{acme}/members").json}
    assert names["sam@acme.test"] == "Sam Sample"
    wrong = sam.request("POST", "/me/password", {"current": "nope-nope", "new": "new-password-9"})
    assert wrong.status == 403 and "current password" in wrong.json["reason"]
    weak = sam.request("POST", "/me/password", {"current": PASSWORD, "new": "short"})
    assert weak.status == 400
    assert (
        sam.request("POST", "/me/password", {"current": PASSWORD, "new": "new-password-9"}).status
        == 200
    )
    assert sam.request("GET", "/me").status == 200  # this session stays
    assert other_device.request("GET", "/me").status == 401  # the others end
    assert Client(stack).login("sam@acme.test", PASSWORD).status == 401
    assert Client(stack).login("sam@acme.test", "new-password-9").status == 200
    token = new_token(alice, acme, ["org:read"])["token"]
    by_token = Client(stack, token).request(
        "POST", "/me/password", {"current": PASSWORD, "new": "x" * 12}
    )
    assert by_token.status == 403
    box = {"address": "desk@acme.test", "password": "mailbox-pw-5"}
    assert alice.request("POST", f"/orgs/{acme}/mailboxes", box).status == 201
    path = f"/orgs/{acme}/mailboxes/desk@acme.test/password"
    assert alice.request("PUT", path, {"password": "mailbox-pw-6"}).status == 200
    with imaplib.IMAP4("127.0.0.1", stack.ports["imap"]) as imap:
        imap.starttls(ssl.create_default_context(cafile=str(stack.ca_file)))
        assert imap.login("desk@acme.test", "mailbox-pw-6")[0] == "OK"
    log = json.dumps(alice.request("GET", f"/orgs/{acme}/audit").json)
    assert "mailbox-pw-6" not in log and "new-password-9" not in log


def test_forward_catch_all_and_a_ddns_password(stack: Stack) -> None:
    acme, other = org_ids(stack).values()
    adam = Client(stack)
    adam.login("adam@acme.test")
    base = f"/orgs/{acme}"
    box = {"address": "fwd@acme.test", "password": "mailbox-pw-7"}
    assert adam.request("POST", f"{base}/mailboxes", box).status == 201
    fwd = adam.request(
        "PUT",
        f"{base}/mailboxes/fwd@acme.test/forward",
        {"target": "x@elsewhere.test", "keep": True},
    )
    assert fwd.status == 200 and fwd.json == {
        "address": "fwd@acme.test",
        "target": "x@elsewhere.test",
        "keep": True,
    }
    assert adam.request("DELETE", f"{base}/mailboxes/fwd@acme.test/forward").status == 200
    catch = adam.request("PUT", f"{base}/domains/acme.test/catch-all", {"target": "fwd@acme.test"})
    assert catch.status == 200 and catch.json["target"] == "fwd@acme.test"
    theirs = adam.request(
        "PUT", f"{base}/domains/other.test/catch-all", {"target": "fwd@acme.test"}
    )
    assert theirs.status == 404
    host = {"hostname": "cam.acme.test", "user": "camuser", "password": "Cam0Password"}
    assert adam.request("POST", f"{base}/ddns", host).status == 201
    path = f"{base}/ddns/users/camuser/password"
    weak = adam.request("PUT", path, {"password": "has spaces 1A"})
    assert weak.status == 400 and "letters and digits" in weak.json["error"]
    assert adam.request("PUT", path, {"password": "Cam1Password"}).status == 200
    olga = Client(stack)
    olga.login("olga@other.test")
    assert (
        olga.request(
            "PUT", f"/orgs/{other}/ddns/users/camuser/password", {"password": "Evil1Password"}
        ).status
        == 404
    )
    update = http.client.HTTPConnection("127.0.0.1", stack.ports["http"], timeout=30)
    import base64

    auth = base64.b64encode(b"camuser:Cam1Password").decode()
    update.request(
        "GET", "/nic/update?hostname=cam.acme.test&myip=192.0.2.44",
        headers={"Authorization": f"Basic {auth}", "User-Agent": "test/1"},
    )  # fmt: skip
    assert update.getresponse().read().startswith(b"good")
    update.close()


def test_the_cli_and_the_api_refuse_alike(stack: Stack) -> None:
    """One rule, one place: the same bad input gets the same message from both."""
    acme = org_ids(stack)["acme"]
    alice = Client(stack)
    alice.login("alice@acme.test")
    records = f"/orgs/{acme}/domains/acme.test/records"
    assert (
        alice.request("POST", records, {"name": "same", "type": "A", "value": "192.0.2.3"}).status
        == 201
    )
    for name, rtype, value in (
        ("same", "CNAME", "x"),
        ("bad", "A", "300.1.1.1"),
        ("@", "MX", "nope"),
    ):
        cli = stack.cli("dns", "add", "acme.test", name, rtype, value)
        api = alice.request("POST", records, {"name": name, "type": rtype, "value": value})
        assert cli.returncode == 1 and api.status == 400
        assert cli.stderr.strip() == f"swissbox: error: {api.json['error']}"
    weak = "alllowercase1"
    cli = stack.cli(
        "ddns", "add", "cam2.acme.test", "--user", "cam2", "--password-stdin", stdin=weak + "\n"
    )
    api = alice.request(
        "POST",
        f"/orgs/{acme}/ddns",
        {"hostname": "cam2.acme.test", "user": "cam2", "password": weak},
    )
    assert cli.stderr.strip() == f"swissbox: error: {api.json['error']}"
