"""The admin API's mail endpoints that follow CLI verbs, against the running server:
a mailbox's Sieve script, a domain's sieve-before script, domain aliases, removed mail listed
and restored (seen over IMAP afterwards) and a mailbox's usage; each with its refusals
(a script that does not compile, a collaborator, another organization's names)."""

from __future__ import annotations

import imaplib
import json
import ssl
from collections.abc import Iterator

import pytest

from tests.support.manager_client import PASSWORD, Client
from tests.support.stack import Stack

BOX, BOX_PW = "dora@acme.test", "dora-mailbox-pw-1"
OTHER_BOX = "olga@other.test"
GOOD = 'require ["fileinto"];\r\nif header :contains "subject" "invoice" { fileinto "Bills"; }\r\n'
BROKEN = 'require ["fileinto"];\r\nif header :contains "subject" {\r\n'


def created(client: Client, method: str, path: str, body: object = None) -> None:
    answer = client.request(method, path, body)
    assert answer.status in (200, 201), (path, answer)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("mailapi")) as s:
        s.init()
        # the CLI for one administrator per organization; the rest through the API (faster)
        for org, login in (("acme", "alice@acme.test"), ("other", "olga@other.test")):
            s.cli("org", "add", org, check=True)
            s.cli(
                "account", "add", login, "--org", org, "--role", "admin", "--password-stdin",
                stdin=PASSWORD + "\n", check=True,
            )  # fmt: skip
        s.start()
        for login, domains, box, password in (
            ("alice@acme.test", ("acme.test", "acme-alias.test"), BOX, BOX_PW),
            ("olga@other.test", ("other.test",), OTHER_BOX, "olga-mailbox-pw-1"),
        ):
            admin = Client(s)
            assert admin.login(login).status == 200
            org = admin.request("GET", "/orgs").json[0]["id"]
            for domain in domains:
                created(admin, "POST", f"/orgs/{org}/domains", {"name": domain})
            created(admin, "PUT", f"/orgs/{org}/domains/{domains[0]}/mail", {})
            created(admin, "POST", f"/orgs/{org}/mailboxes", {"address": box, "password": password})
        colin = {"login": "colin@acme.test", "role": "collaborator", "password": PASSWORD}
        admin = Client(s)
        admin.login("alice@acme.test")
        created(
            admin, "POST", f"/orgs/{admin.request('GET', '/orgs').json[0]['id']}/members", colin
        )
        yield s


@pytest.fixture(scope="module")
def admin(stack: Stack) -> tuple[Client, int]:
    client = Client(stack)
    assert client.login("alice@acme.test").status == 200
    return client, client.request("GET", "/orgs").json[0]["id"]


def test_a_mailbox_sieve_script_is_stored_read_and_stopped(admin: tuple[Client, int]) -> None:
    client, org = admin
    path = f"/orgs/{org}/mailboxes/{BOX}/sieve"
    assert client.request("GET", path).json == {"address": BOX, "scripts": []}
    put = client.request("PUT", path, {"script": GOOD})
    assert put.status == 200, put
    assert put.json["active"] == "main" and put.json["script"] == GOOD
    assert client.request("GET", path).json["scripts"] == [{"name": "main", "active": True}]
    off = client.request("DELETE", path)
    assert off.status == 200
    after = client.request("GET", path).json
    assert "active" not in after and after["scripts"] == [{"name": "main", "active": False}]


def test_a_script_that_does_not_compile_is_a_400_with_the_compilers_message(
    admin: tuple[Client, int], stack: Stack
) -> None:
    client, org = admin
    client.request("PUT", f"/orgs/{org}/mailboxes/{BOX}/sieve", {"script": GOOD, "name": "ok"})
    bad = client.request("PUT", f"/orgs/{org}/mailboxes/{BOX}/sieve", {"script": BROKEN})
    assert bad.status == 400 and "line" in bad.json["error"], bad
    # the CLI's compiler says the same, and nothing was stored
    cli = stack.cli("mailbox", "sieve", BOX, "-", stdin=BROKEN)
    assert cli.returncode != 0 and bad.json["error"].split(": ", 1)[1] in cli.stderr
    kept = client.request("GET", f"/orgs/{org}/mailboxes/{BOX}/sieve").json
    assert kept["active"] == "ok" and kept["script"] == GOOD
    before = client.request(
        "PUT", f"/orgs/{org}/domains/acme.test/sieve-before", {"script": BROKEN}
    )
    assert before.status == 400 and "line" in before.json["error"]


def test_the_domain_sieve_before_script(admin: tuple[Client, int], stack: Stack) -> None:
    client, org = admin
    path = f"/orgs/{org}/domains/acme.test/sieve-before"
    assert client.request("PUT", path, {"script": GOOD}).json == {
        "domain": "acme.test",
        "script": GOOD,
    }
    assert client.request("GET", path).json["script"] == GOOD
    assert client.request("DELETE", path).status == 200
    assert client.request("GET", path).json == {"domain": "acme.test"}
    # a domain of another organization is not found, as if it did not exist
    other = client.request("PUT", f"/orgs/{org}/domains/other.test/sieve-before", {"script": GOOD})
    assert other.status == 404


def test_a_collaborator_and_another_organization_are_refused(
    admin: tuple[Client, int], stack: Stack
) -> None:
    _, org = admin
    colin = Client(stack)
    colin.login("colin@acme.test")
    refused = colin.request("PUT", f"/orgs/{org}/mailboxes/{BOX}/sieve", {"script": GOOD})
    assert refused.status == 403 and "mail:write" in refused.json["reason"]
    assert colin.request("GET", f"/orgs/{org}/mailboxes/{BOX}/deleted").status == 403
    assert colin.request("POST", f"/orgs/{org}/mailboxes/{BOX}/restore", {}).status == 403
    client = admin[0]
    for method, rest, body in (
        ("GET", f"/mailboxes/{OTHER_BOX}/sieve", None),
        ("GET", f"/mailboxes/{OTHER_BOX}/deleted", None),
        ("POST", f"/mailboxes/{OTHER_BOX}/restore", {}),
        ("GET", f"/mailboxes/{OTHER_BOX}/usage", None),
        ("PUT", "/domains/acme-alias.test/alias", {"target": "other.test"}),
        ("PUT", "/domains/other.test/alias", {"target": "acme.test"}),
    ):
        assert client.request(method, f"/orgs/{org}{rest}", body).status == 404, rest


def test_a_domain_alias_with_its_mail_records(admin: tuple[Client, int], stack: Stack) -> None:
    client, org = admin
    made = client.request(
        "PUT", f"/orgs/{org}/domains/acme-alias.test/alias", {"target": "acme.test"}
    )
    assert made.status == 200 and made.json["target"] == "acme.test"
    assert made.json["records"] > 0  # the alias domain got its Email Service: MX, SPF, ...
    listed = client.request("GET", f"/orgs/{org}/domain-aliases").json
    assert listed == [{"domain": "acme-alias.test", "target": "acme.test"}]
    records = client.request("GET", f"/orgs/{org}/domains/acme-alias.test/records").json
    assert any(r["type"] == "MX" for r in records)
    assert "acme-alias.test" in stack.cli("alias", "list", check=True).stdout
    assert client.request("DELETE", f"/orgs/{org}/domains/acme-alias.test/alias").status == 200
    assert client.request("GET", f"/orgs/{org}/domain-aliases").json == []
    again = client.request("DELETE", f"/orgs/{org}/domains/acme-alias.test/alias")
    assert again.status == 404


def _imap(stack: Stack) -> imaplib.IMAP4_SSL:
    tls = ssl.create_default_context(cafile=str(stack.ca_file))
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls, timeout=10)
    m.login(BOX, BOX_PW)
    return m


def _message(subject: str) -> bytes:
    return (
        f"From: Ann <ann@example.org>\r\nTo: {BOX}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject}@example.org>\r\n\r\nbody of {subject}\r\n"
    ).encode()


def test_removed_mail_is_listed_and_restored_into_restored(
    admin: tuple[Client, int], stack: Stack
) -> None:
    client, org = admin
    m = _imap(stack)
    for subject in ("lost-one", "lost-two"):
        assert m.append("INBOX", None, None, _message(subject))[0] == "OK"
    m.select("INBOX")
    assert m.store("1:*", "+FLAGS", r"(\Deleted)")[0] == "OK"
    assert m.expunge()[0] == "OK"
    usage = client.request("GET", f"/orgs/{org}/mailboxes/{BOX}/usage").json
    assert usage == {"address": BOX, "used_bytes": 0, "quota_bytes": None}

    listed = client.request("GET", f"/orgs/{org}/mailboxes/{BOX}/deleted")
    assert listed.status == 200
    assert [(x["subject"], x["folder"]) for x in listed.json] == [
        ("lost-two", "INBOX"),
        ("lost-one", "INBOX"),
    ]
    assert listed.json[0]["from"] == "Ann <ann@example.org>"
    newest = client.request("GET", f"/orgs/{org}/mailboxes/{BOX}/deleted?limit=1").json
    assert [x["subject"] for x in newest] == ["lost-two"]
    later = listed.json[0]["expunged"] + 3600
    assert client.request("GET", f"/orgs/{org}/mailboxes/{BOX}/deleted?since={later}").json == []

    restored = client.request("POST", f"/orgs/{org}/mailboxes/{BOX}/restore", {})
    assert restored.status == 200 and restored.json == {"restored": 2, "folder": "Restored"}
    m.select("Restored")
    _, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    got = sorted(x[1].decode().split(":", 1)[1].strip() for x in data if isinstance(x, tuple))
    assert got == ["lost-one", "lost-two"]
    m.logout()
    assert client.request("GET", f"/orgs/{org}/mailboxes/{BOX}/deleted").json == []
    assert client.request("GET", f"/orgs/{org}/mailboxes/{BOX}/usage").json["used_bytes"] > 0
    audit = client.request("GET", f"/orgs/{org}/audit?limit=5").json
    assert any(a["action"] == "mailbox.restore" and a["detail"]["restored"] == 2 for a in audit)


def test_fifty_clients_restoring_at_once_bring_each_message_back_once(
    admin: tuple[Client, int], stack: Stack
) -> None:
    import concurrent.futures

    client, org = admin
    m = _imap(stack)
    m.create("Busy")
    for n in range(10):
        assert m.append("Busy", None, None, _message(f"busy-{n}"))[0] == "OK"
    m.select("Busy")
    m.store("1:*", "+FLAGS", r"(\Deleted)")
    m.expunge()
    calls = [
        ("POST", f"/orgs/{org}/mailboxes/{BOX}/restore", {}),
        ("POST", f"/orgs/{org}/mailboxes/{OTHER_BOX}/restore", {}),  # another org's: 404
        ("POST", f"/orgs/{org}/mailboxes/{BOX}/restore", {"since": -1}),  # invalid: 400
        ("GET", f"/orgs/{org}/mailboxes/{BOX}/deleted", None),
        ("PUT", f"/orgs/{org}/mailboxes/{BOX}/sieve", {"script": BROKEN}),  # 400
    ] * 10

    def send(call: tuple[str, str, object]) -> tuple[int, object]:
        answer = client.request(*call)
        return answer.status, answer.json

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(send, calls))
    restored = sum(body["restored"] for status, body in results[0::5] if status == 200)
    assert [s for s, _ in results[0::5]] == [200] * 10 and restored == 10
    assert {s for s, _ in results[1::5]} == {404} and {s for s, _ in results[2::5]} == {400}
    assert {s for s, _ in results[3::5]} == {200} and {s for s, _ in results[4::5]} == {400}
    m.select("Restored")
    _, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    got = [x[1].decode().split(":", 1)[1].strip() for x in data if isinstance(x, tuple)]
    assert sorted(s for s in got if s.startswith("busy-")) == [f"busy-{n}" for n in range(10)]
    m.logout()


def test_routing_lists_what_alias_list_shows_and_targets_go_one_by_one(
    admin: tuple[Client, int], stack: Stack
) -> None:
    client, org = admin
    made = client.request(
        "POST",
        f"/orgs/{org}/aliases",
        {"address": "sales@acme.test", "targets": [BOX, "x@example.org"]},
    )
    assert made.status == 201
    fwd = {"target": "dora@example.net", "keep": True}
    assert client.request("PUT", f"/orgs/{org}/mailboxes/{BOX}/forward", fwd).status == 200
    assert (
        client.request("PUT", f"/orgs/{org}/domains/acme.test/catch-all", {"target": BOX}).status
        == 200
    )
    rows = client.request("GET", f"/orgs/{org}/routing").json
    cli = json.loads(stack.cli("alias", "list", "acme.test", "--json", check=True).stdout)
    assert rows == cli
    assert {r["kind"] for r in rows} == {"alias", "forward", "catch-all"}
    path = f"/orgs/{org}/aliases/sales@acme.test/targets"
    assert client.request("DELETE", f"{path}/nobody@example.org").status == 404
    one = client.request("DELETE", f"{path}/x@example.org")
    assert one.json == {
        "address": "sales@acme.test",
        "targets": [BOX],
        "send_as": True,
        "removed": False,
    }
    last = client.request("DELETE", f"{path}/{BOX}")
    assert last.json["removed"] is True
    assert all(
        r["address"] != "sales@acme.test"
        for r in client.request("GET", f"/orgs/{org}/routing").json
    )
    client.request("DELETE", f"/orgs/{org}/mailboxes/{BOX}/forward")
    client.request("DELETE", f"/orgs/{org}/domains/acme.test/catch-all")
    # another organization's rows are not listed, nor its aliases reachable
    assert client.request("DELETE", f"/orgs/{org}/aliases/a@other.test/targets/{BOX}").status == 404
