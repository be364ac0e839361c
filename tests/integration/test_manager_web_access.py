"""The access pages of `/manager/` in a real browser (Playwright driving Debian's chromium)
against the running server, as a person uses them, each checked on the page AND in effect:
an API token made in the browser works with http.client against /api/v1 with exactly the
permissions ticked and stops working once revoked in the browser; a TSIG key made there
signs nsupdate within its pattern until deleted there; the audit log pages newest first;
ending a session in one browser makes the other browser's next page the login page; the
devices page shows what autoconfig serves and an IMAP login on the shown port works.
Screenshots under each test's tmp_path/screenshots."""

from __future__ import annotations

import http.client
import imaplib
import re
import ssl
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swissbox.auth import totp
from tests.conftest import require_tool
from tests.integration import test_manager_web as web
from tests.integration.test_manager_web import browser  # noqa: F401
from tests.support.manager_client import PASSWORD, Client
from tests.support.stack import Stack

ADA, ZOE = "ada@acme.test", "zoe@acme.test"  # an administrator, a collaborator
MAX = "max@acme.test"  # a collaborator who turns two-factor authentication on
SHARED, ADA_BOX_PW, SHARED_PW = "team@acme.test", "ada-mailbox-pw-1", "team-mailbox-pw-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("manager-web-access")
    with Stack(tmp, auth={"failure_delay_base": 0.01, "failure_delay_max": 0.05}) as s:
        s.init()
        s.cli("org", "add", "acme", check=True)
        s.cli(
            "account", "add", ADA, "--org", "acme", "--role", "admin", "--password-stdin",
            stdin=PASSWORD + "\n", check=True,
        )  # fmt: skip
        s.start()
        # the rest through the API (each CLI call is a Python start: seconds on a busy box)
        admin = Client(s)
        assert admin.login(ADA).status == 200
        org = admin.request("GET", "/orgs").json[0]["id"]
        for method, path, body in (
            ("POST", "/domains", {"name": "acme.test"}),
            ("PUT", "/domains/acme.test/mail", {}),
            ("POST", "/members", {"login": ZOE, "role": "collaborator", "password": PASSWORD}),
            ("POST", "/members", {"login": MAX, "role": "collaborator", "password": PASSWORD}),
            ("POST", "/mailboxes", {"address": ADA, "password": ADA_BOX_PW}),
            ("POST", "/mailboxes", {"address": SHARED, "password": SHARED_PW}),
            ("PUT", f"/mailboxes/{SHARED}/users/{ADA}", {"access": "full"}),
        ):
            answer = admin.request(method, f"/orgs/{org}{path}", body)
            assert answer.status in (200, 201), (path, answer)
        yield s


class Person(web.Person):
    """test_manager_web's person; a login must reach the home page."""

    def log_in(self, login: str, password: str = PASSWORD) -> None:
        super().log_in(login, password)
        assert self.page.url.endswith("/manager/")

    def notice(self) -> str:
        return str(self.page.get_by_role("status").inner_text())


@pytest.fixture
def person(browser: Any, stack: Stack, tmp_path: Path) -> Iterator[Any]:  # noqa: F811
    made: list[Person] = []

    def make() -> Person:
        made.append(Person(browser, stack, tmp_path / "screenshots"))
        return made[-1]

    yield make
    for p in made:
        p.context.close()


def api_get(stack: Stack, path: str, token: str) -> int:
    """What a script with this token gets (http.client, as curl would)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.ports["http"], timeout=10)
    try:
        conn.request("GET", "/api/v1" + path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def org_id(stack: Stack) -> int:
    client = Client(stack)
    assert client.login(ADA).status == 200
    return int(client.request("GET", "/orgs").json[0]["id"])


def test_an_api_token_made_in_the_browser_works_until_revoked_there(
    stack: Stack, person: Any
) -> None:
    oid = org_id(stack)
    ada = person()
    ada.log_in(ADA)
    ada.open_org()
    ada.page.get_by_role("link", name="API tokens").click()
    ada.shot("tokens-empty")
    ada.page.get_by_label("Name (what the script is for)").fill("backup script")
    ada.page.get_by_label(re.compile(r"^domains:read:")).check()
    ada.page.get_by_role("button", name="Make token").click()
    assert ada.page.url.endswith(f"/manager/orgs/{oid}/tokens")  # redirected after the POST
    assert "backup script was made" in ada.notice() and "shown only this once" in ada.text()
    token = ada.page.locator("#api-token").inner_text()
    assert token.startswith("sbx_")
    ada.shot("token-shown-once")
    # the token does what was ticked (org:read is ticked by default, domains:read by ada)
    assert api_get(stack, f"/orgs/{oid}/domains", token) == 200
    assert api_get(stack, f"/orgs/{oid}", token) == 200
    assert api_get(stack, f"/orgs/{oid}/members", token) == 403
    ada.page.reload()  # the page again: the token is never shown twice, nothing is made twice
    assert token not in ada.page.content() and "backup script" in ada.text()
    assert ada.page.get_by_role("row", name=re.compile("backup script")).count() == 1
    row = ada.page.get_by_role("row", name=re.compile("backup script"))
    assert "domains:read, org:read" in row.inner_text() and "live" in row.inner_text()
    ada.page.get_by_role("button", name="Revoke backup script").click()
    assert "backup script was revoked" in ada.notice()
    assert ada.page.url.endswith(f"/manager/orgs/{oid}/tokens")  # redirected after the POST
    ada.shot("token-revoked")
    assert api_get(stack, f"/orgs/{oid}/domains", token) == 401
    ada.page.reload()  # the notice was for one page only
    assert ada.page.get_by_role("status").count() == 0
    assert "revoked" in ada.page.get_by_role("row", name=re.compile("backup script")).inner_text()


def test_a_token_with_nothing_ticked_is_refused_in_words(stack: Stack, person: Any) -> None:
    ada = person()
    ada.log_in(ADA)
    ada.page.goto(ada.base + f"orgs/{org_id(stack)}/tokens")
    ada.page.get_by_label("Name (what the script is for)").fill("nothing")
    ada.page.get_by_label(re.compile(r"^org:read:")).uncheck()
    ada.page.get_by_role("button", name="Make token").click()
    assert "choose at least one" in ada.page.get_by_role("alert").inner_text()


def nsupdate(stack: Stack, key: str, name: str) -> subprocess.CompletedProcess[str]:
    script = (
        f"server 127.0.0.1 {stack.ports['dns']}\nzone acme.test\n"
        f"update add {name} 60 A 192.0.2.9\nsend\n"
    )
    return subprocess.run(
        [require_tool("nsupdate"), "-y", key], input=script, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip


def test_a_tsig_key_made_in_the_browser_signs_nsupdate_until_deleted(
    stack: Stack, person: Any
) -> None:
    ada = person()
    ada.log_in(ADA)
    ada.open_org()
    ada.page.get_by_role("link", name="TSIG keys (DNS updates with nsupdate)").click()
    ada.page.get_by_label("Key name (e.g. router.example.org)").fill("router.acme.test")
    ada.page.get_by_label("Zone it may change").select_option("acme.test")
    ada.page.get_by_label("Only these names (empty: any; e.g. *.dyn.example.org)").fill(
        "*.dyn.acme.test"
    )
    ada.page.get_by_role("button", name="Make key").click()
    assert "router.acme.test was made" in ada.notice()
    once = ada.page.get_by_role("region", name="Your new TSIG key").inner_text()
    shown = re.search(r"nsupdate -y (\S+)", once)
    assert shown is not None
    key = shown.group(1)
    ada.shot("tsig-key-shown-once")
    assert nsupdate(stack, key, "nas.dyn.acme.test").returncode == 0
    listed = stack.cli("dns", "list", "acme.test", check=True).stdout
    assert "nas.dyn\t60\tIN\tA\t192.0.2.9" in listed
    assert nsupdate(stack, key, "www.acme.test").returncode != 0  # outside its pattern
    ada.page.reload()
    assert key.rsplit(":", 1)[1] not in ada.page.content()  # shown once only
    ada.page.get_by_role("button", name="Delete router.acme.test").click()
    assert "router.acme.test was deleted" in ada.notice()
    ada.shot("tsig-key-deleted")
    assert nsupdate(stack, key, "nas2.dyn.acme.test").returncode != 0
    assert "nas2.dyn" not in stack.cli("dns", "list", "acme.test", check=True).stdout


def test_the_audit_log_newest_first_in_pages(stack: Stack, person: Any) -> None:
    oid = org_id(stack)
    script = Client(stack)
    script.login(ADA)
    for n in range(55):
        record = {"name": f"host{n}", "type": "A", "value": f"192.0.2.{n + 1}"}
        assert (
            script.request("POST", f"/orgs/{oid}/domains/acme.test/records", record).status == 201
        )
    ada = person()
    ada.log_in(ADA)
    ada.open_org()
    ada.page.get_by_role("link", name="Audit log").click()
    rows = ada.page.get_by_role("table", name="Audit log, newest first").locator("tbody tr")
    assert rows.count() == 50
    assert "host54" in rows.first.inner_text() and "dns.add" in rows.first.inner_text()
    ada.shot("audit-first-page")
    ada.page.get_by_role("link", name="Older entries").click()
    older = ada.page.get_by_role("table", name="Audit log, newest first").locator("tbody tr")
    assert "host4" in older.first.inner_text()  # 54..5 were on the first page
    assert "host0" in ada.text() and "host5\t" not in ada.text()
    ada.shot("audit-older")


def test_ending_a_session_in_one_browser_logs_the_other_out(stack: Stack, person: Any) -> None:
    laptop, phone, tablet = person(), person(), person()
    for device in (laptop, phone, tablet):
        device.log_in(ZOE)
    laptop.page.get_by_role("link", name="Sessions").click()
    table = laptop.page.get_by_role("table", name="Your sessions (this browser's first)")
    assert table.locator("tbody tr").count() == 3 and "this browser" in table.inner_text()
    laptop.shot("sessions")
    # this browser's session is listed first; end the next one
    laptop.page.get_by_role("button", name="End session 2").click()
    assert "That session was ended" in laptop.notice()
    assert (
        laptop.page.get_by_role("table", name="Your sessions (this browser's first)")
        .locator("tbody tr")
        .count()
        == 2
    )
    laptop.shot("session-ended")
    ended = [b for b in (phone, tablet) if not _still_in(b)]
    assert len(ended) == 1  # exactly one of the other two is at the login page now
    ended[0].shot("ended-browser-at-login")
    # the same form without its security field (as another site would post it): refused
    forged = laptop.page.request.post(laptop.base + "me/sessions/end-others", form={"x": "1"})
    assert forged.status == 403 and "out of date" in forged.text()
    assert _still_in([b for b in (phone, tablet) if b not in ended][0])
    laptop.page.goto(laptop.base + "me/sessions")
    laptop.page.get_by_role("button", name="End all other sessions").click()
    assert "1 other session ended" in laptop.notice()
    assert not _still_in(phone) and not _still_in(tablet)
    laptop.page.goto(laptop.base + "me/devices")
    assert laptop.page.url.endswith("/me/devices")  # this browser stays logged in


def test_turning_2fa_on_in_the_browser_logs_the_other_browser_out(
    stack: Stack, person: Any
) -> None:
    laptop, phone = person(), person()
    laptop.log_in(MAX)
    phone.log_in(MAX)
    laptop.page.get_by_role("link", name=f"My account ({MAX})").click()
    laptop.page.get_by_role("button", name="Set up two-factor authentication").click()
    secret = laptop.page.locator("#totp-secret").inner_text()
    laptop.page.get_by_label("6-digit code the app shows now").fill(
        totp.code_at(secret, time.time())
    )
    laptop.page.get_by_role("button", name="Turn on").click()
    assert "your other sessions were logged out" in laptop.notice()
    laptop.shot("2fa-on-others-out")
    assert not _still_in(phone)
    phone.shot("phone-at-login-after-2fa")
    assert _still_in(laptop)


def _still_in(p: Person) -> bool:
    p.page.goto(p.base + "me")
    return not p.page.get_by_role("button", name="Log in").is_visible()


def test_devices_show_what_autoconfig_serves_and_work(stack: Stack, person: Any) -> None:
    ada = person()
    ada.log_in(ADA)
    ada.page.get_by_role("link", name="Devices").click()
    ada.shot("devices")
    conn = http.client.HTTPConnection("127.0.0.1", stack.ports["http"], timeout=10)
    conn.request("GET", f"/mail/config-v1.1.xml?emailaddress={SHARED}")
    served = ET.fromstring(conn.getresponse().read())
    conn.close()
    imaps = served.find(".//incomingServer[socketType='SSL']")
    smtps = served.find(".//outgoingServer[socketType='SSL']")
    assert imaps is not None and smtps is not None
    for address in (ADA, SHARED):
        settings = ada.page.get_by_role("table", name=f"Settings for {address}").inner_text()
        assert f"{imaps.findtext('hostname')}, port {imaps.findtext('port')} (TLS)" in settings
        assert f"port {smtps.findtext('port')} (TLS)" in settings
        dav = f"https://{stack.hostname}:{stack.ports['https']}/dav/"
        assert dav in settings
    # the port the page shows takes a real IMAP login (the host name is not in DNS here)
    shown = re.search(r"port (\d+) \(TLS\)", ada.text())
    assert shown is not None
    tls = ssl.create_default_context(cafile=str(stack.ca_file))
    with imaplib.IMAP4_SSL("127.0.0.1", int(shown.group(1)), ssl_context=tls, timeout=10) as m:
        assert m.login(ADA, ADA_BOX_PW)[0] == "OK"
    ada.page.get_by_role("link", name=f"Automatic configuration for {SHARED}").click()
    assert stack.hostname in ada.page.content() and "clientConfig" in ada.page.content()


def test_a_collaborator_sees_no_token_or_audit_pages(stack: Stack, person: Any) -> None:
    zoe = person()
    zoe.log_in(ZOE)
    zoe.open_org()
    assert zoe.page.get_by_role("link", name="API tokens").count() == 0
    assert zoe.page.get_by_role("link", name="Audit log").count() == 0
    response = zoe.page.goto(zoe.base + f"orgs/{org_id(stack)}/audit")
    assert response is not None and response.status == 403
    assert "audit:read" in zoe.page.get_by_role("alert").inner_text()
