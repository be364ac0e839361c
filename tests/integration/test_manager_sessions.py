"""A person's sessions through the admin API on the running server: listed (this one marked),
one ended, all others ended; turning two-factor authentication on ends the other sessions
(a session opened with the password alone must not outlive it) while API tokens stay; the
audit log is pruned by age (`swissbox audit prune`)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import pytest

from swissbox.auth import totp
from tests.support.manager_client import PASSWORD, Client
from tests.support.stack import Stack

PEOPLE = ("sam@acme.test", "tia@acme.test", "uma@acme.test")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("sessions")) as s:
        s.init()
        s.cli("org", "add", "acme", check=True)
        s.cli(
            "account", "add", PEOPLE[0], "--org", "acme", "--role", "admin", "--password-stdin",
            stdin=PASSWORD + "\n", check=True,
        )  # fmt: skip
        # two audit entries written before this start: 500 and 10 days ago
        with sqlite3.connect(s.data / "swissbox.db") as db:
            for action, days in (("ancient.entry", 500), ("recent.entry", 10)):
                db.execute(
                    "INSERT INTO audit_log (time, org_id, actor, via, client, action, target,"
                    " detail) VALUES (?, (SELECT id FROM orgs WHERE name = 'acme'), 'x', 'cli',"
                    " '', ?, '', '{}')",
                    (int(time.time()) - days * 86400, action),
                )
        s.start()
        admin = Client(s)  # the others through the API (faster than a CLI start each)
        assert admin.login(PEOPLE[0]).status == 200
        org = admin.request("GET", "/orgs").json[0]["id"]
        for login in PEOPLE[1:]:
            body = {"login": login, "role": "admin", "password": PASSWORD}
            assert admin.request("POST", f"/orgs/{org}/members", body).status == 201
        assert admin.request("DELETE", "/session").status == 204
        yield s


def logged_in(stack: Stack, login: str) -> Client:
    client = Client(stack)
    assert client.login(login).status == 200
    return client


def test_sessions_are_listed_and_ended_one_or_all_others(stack: Stack) -> None:
    here, laptop, phone = (logged_in(stack, "sam@acme.test") for _ in range(3))
    listed = here.request("GET", "/me/sessions").json
    assert len(listed) == 3 and sum(s["current"] for s in listed) == 1
    mine = next(s["id"] for s in listed if s["current"])
    laptop_id = next(s["id"] for s in laptop.request("GET", "/me/sessions").json if s["current"])
    assert here.request("DELETE", f"/me/sessions/{laptop_id}").json == {"ended": 1}
    assert laptop.request("GET", "/me").status == 401
    assert phone.request("GET", "/me").status == 200
    assert here.request("DELETE", f"/me/sessions/{laptop_id}").status == 404
    # another person's session id is not found either
    other = logged_in(stack, "tia@acme.test")
    other_id = other.request("GET", "/me/sessions").json[0]["id"]
    assert here.request("DELETE", f"/me/sessions/{other_id}").status == 404
    assert other.request("GET", "/me").status == 200
    assert here.request("POST", "/me/sessions/end-others").json == {"ended": 1}
    assert phone.request("GET", "/me").status == 401
    assert [s["id"] for s in here.request("GET", "/me/sessions").json] == [mine]


def test_a_token_may_list_but_not_end_sessions(stack: Stack) -> None:
    person = logged_in(stack, "tia@acme.test")
    org = person.request("GET", "/orgs").json[0]["id"]
    made = person.request("POST", f"/orgs/{org}/tokens", {"name": "s", "permissions": ["org:read"]})
    script = Client(stack, made.json["token"])
    assert script.request("GET", "/me/sessions").status == 200
    refused = script.request("POST", "/me/sessions/end-others")
    assert refused.status == 403 and "session" in refused.json["reason"]
    assert person.request("GET", "/me").status == 200


def test_turning_2fa_on_ends_the_other_sessions_and_keeps_tokens(stack: Stack) -> None:
    here, elsewhere = logged_in(stack, "uma@acme.test"), logged_in(stack, "uma@acme.test")
    org = here.request("GET", "/orgs").json[0]["id"]
    made = here.request("POST", f"/orgs/{org}/tokens", {"name": "ci", "permissions": ["org:read"]})
    script = Client(stack, made.json["token"])
    secret = here.request("POST", "/me/2fa").json["secret"]
    code = totp.code_at(secret, time.time())
    assert here.request("POST", "/me/2fa/confirm", {"code": code}).status == 200
    assert elsewhere.request("GET", "/me").status == 401
    assert here.request("GET", "/me").status == 200
    assert script.request("GET", f"/orgs/{org}").status == 200


def test_the_server_prunes_entries_older_than_audit_days(stack: Stack) -> None:
    person = logged_in(stack, "sam@acme.test")
    org = person.request("GET", "/orgs").json[0]["id"]

    def actions() -> list[str]:
        return [e["action"] for e in person.request("GET", f"/orgs/{org}/audit").json]

    deadline = time.monotonic() + 10
    while "ancient.entry" in actions() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "ancient.entry" not in actions() and "recent.entry" in actions()


def test_audit_prune_verb_keeps_recent_entries(stack: Stack) -> None:
    person = logged_in(stack, "sam@acme.test")
    org = person.request("GET", "/orgs").json[0]["id"]
    before = len(person.request("GET", f"/orgs/{org}/audit").json)
    assert before > 0
    kept = stack.cli("audit", "prune", "--json", check=True)
    assert '"pruned": 0' in kept.stdout and '"days": 400' in kept.stdout
    assert len(person.request("GET", f"/orgs/{org}/audit").json) == before
    assert stack.cli("audit", "prune", "--days", "0").returncode != 0


def test_each_session_shows_the_address_and_browser_it_began_from(stack: Stack) -> None:
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    browser = Client(stack)
    body = {"login": "tia@acme.test", "password": PASSWORD}  # (uma turns 2FA on above)
    answer = browser.request("POST", "/session", body, {"User-Agent": firefox})
    assert answer.status == 200
    browser.cookie = answer.headers["set-cookie"].split(";", 1)[0]
    browser.csrf = answer.json["csrf_token"]
    (mine,) = [s for s in browser.request("GET", "/me/sessions").json if s["current"]]
    assert mine["client"] == "127.0.0.1" and mine["agent"] == firefox
