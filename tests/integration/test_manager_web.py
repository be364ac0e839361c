"""The Manager's web pages (`/manager/`) in a real browser: Playwright driving Debian's
chromium against the running server, through each flow as a person would (login with and
without 2FA, members, DNS records, the own page), checking what the page says and what the
directory then holds (CLI read-back); a screenshot of each page under the test's tmp_path.
Also: a form posted without its CSRF field is refused; a collaborator sees no admin controls
and gets 403 when posting to them anyway."""

from __future__ import annotations

import email
import email.policy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api

from swissbox.auth import totp
from tests.conftest import require_tool
from tests.support.manager_client import PASSWORD, Client
from tests.support.stack import Stack

ADA, BEA, CARL, PIA, TOM, UNA = (
    f"{n}@acme.test" for n in ("ada", "bea", "carl", "pia", "tom", "una")
)
ROLES = {ADA: "admin", BEA: "collaborator", CARL: "collaborator", PIA: "collaborator"}
ROLES |= {TOM: "admin", UNA: "collaborator"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("manager-web")
    limits = {"failure_delay_base": 0.01, "failure_delay_max": 0.05}
    with Stack(tmp, auth=limits) as s:
        s.init()
        s.cli("org", "add", "acme", check=True)
        s.cli("org", "add", "other", check=True)  # an organization ada is no member of
        s.cli(
            "account", "add", "olga@other.test", "--org", "other", "--role", "admin",
            "--password-stdin", stdin=PASSWORD + "\n", check=True,
        )  # fmt: skip
        s.cli("domain", "add", "acme.test", "--org", "acme", check=True)
        s.cli("mail", "enable", "acme.test", check=True)
        for login, role in ROLES.items():
            s.cli(
                "account", "add", login, "--org", "acme", "--role", role, "--password-stdin",
                stdin=PASSWORD + "\n", check=True,
            )  # fmt: skip
        s.cli("mailbox", "add", BEA, "--password-stdin", stdin="bea-mailbox-pw-1\n", check=True)
        s.cli("mailbox", "add", PIA, "--password-stdin", stdin="pia-mailbox-pw-1\n", check=True)
        s.start()
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_tool("chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True)
        yield b
        b.close()


class Person:
    """One browser context (its own cookie jar) of one person, with screenshots."""

    def __init__(self, browser: Any, stack: Stack, shots: Path, **options: Any) -> None:
        self.stack, self.shots = stack, shots
        self.base = f"https://127.0.0.1:{stack.ports['https']}/manager/"
        self.context = browser.new_context(ignore_https_errors=True, **options)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()

    def shot(self, name: str) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def log_in(self, login: str, password: str = PASSWORD) -> None:
        self.page.goto(self.base + "login")
        self.page.get_by_label("Login (your address)").fill(login)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()

    def open_org(self, name: str = "acme") -> None:
        self.page.goto(self.base)
        self.page.get_by_role("link", name=name, exact=True).click()

    def text(self) -> str:
        return str(self.page.inner_text("main"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def person(browser: Any, stack: Stack, tmp_path: Path) -> Iterator[Any]:
    made: list[Person] = []

    def make(**options: Any) -> Person:
        made.append(Person(browser, stack, tmp_path / "screenshots", **options))
        return made[-1]

    yield make
    for p in made:
        p.close()


def members(stack: Stack) -> dict[str, str]:
    out = stack.cli("org", "member", "list", "--org", "acme", "--json", check=True).stdout
    return {m["login"]: m["role"] for m in json.loads(out)}


def records(stack: Stack) -> list[dict[str, Any]]:
    return list(json.loads(stack.cli("dns", "list", "acme.test", "--json", check=True).stdout))


def mails(stack: Stack, address: str) -> list[email.message.EmailMessage]:
    local, domain = address.split("@")
    box = stack.data / "mail" / domain / local
    files = sorted((box / "new").glob("*")) + sorted((box / "cur").glob("*"))
    return [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for f in files
    ]


def eventually(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_login_home_and_logout(person: Any) -> None:
    ada = person()
    ada.page.goto(ada.base)
    assert ada.page.url.endswith("/manager/login")  # not logged in: the login page
    ada.shot("login")
    ada.log_in(ADA, "wrong-password-1")
    assert "authentication failed" in ada.page.get_by_role("alert").inner_text().lower()
    ada.shot("login-failed")
    ada.log_in(ADA)
    assert ada.page.url.endswith("/manager/")
    table = ada.page.get_by_role("table", name="Your organizations")
    assert "acme" in table.inner_text() and "administrator" in table.inner_text()
    ada.shot("home")
    ada.page.get_by_role("button", name="Log out").click()
    assert "You are logged out" in ada.page.get_by_role("status").inner_text()
    ada.page.goto(ada.base)
    assert ada.page.url.endswith("/manager/login")
    ada.page.goto(ada.base + "me")  # a page of the session that ended: back to the login
    assert ada.page.get_by_role("button", name="Log in").is_visible()


def test_login_with_two_factor(stack: Stack, person: Any) -> None:
    api = Client(stack)
    assert api.login(TOM).status == 200
    secret = api.request("POST", "/me/2fa").json["secret"]
    now = time.time()
    assert api.request("POST", "/me/2fa/confirm", {"code": totp.code_at(secret, now)}).status == 200
    tom = person()
    tom.log_in(TOM)
    assert "Two-factor authentication is on" in tom.text()
    tom.shot("login-code")
    code_box = tom.page.get_by_label("6-digit code from your authenticator app")
    code_box.fill("000000" if totp.code_at(secret, now + totp.STEP) != "000000" else "111111")
    tom.page.get_by_role("button", name="Continue").click()
    assert "code" in tom.page.get_by_role("alert").inner_text().lower()
    tom.shot("login-code-wrong")
    code_box.fill(totp.code_at(secret, now + totp.STEP))  # the confirming step is spent
    tom.page.get_by_role("button", name="Continue").click()
    assert tom.page.get_by_role("table", name="Your organizations").is_visible()


def test_members_add_change_role_and_remove(stack: Stack, person: Any) -> None:
    ada = person()
    ada.log_in(ADA)
    ada.open_org()
    assert ada.page.get_by_role("table", name="Members").is_visible()
    ada.shot("org")
    # add
    ada.page.get_by_label("Login (address) of the new member").fill("nell@acme.test")
    ada.page.get_by_label("Name", exact=True).fill("Nell N.")
    ada.page.get_by_label("Role", exact=True).select_option("collaborator")
    ada.page.get_by_label("First password").fill("short")
    ada.page.get_by_role("button", name="Add member").click()
    assert ada.page.get_by_role("alert").is_visible()  # the account realm's password rule
    assert "nell@acme.test" not in members(stack)
    ada.shot("member-add-refused")
    ada.page.get_by_label("Login (address) of the new member").fill("nell@acme.test")
    ada.page.get_by_label("First password").fill("nell-long-password-1")
    ada.page.get_by_role("button", name="Add member").click()
    status = ada.page.get_by_role("status").inner_text()
    assert "nell@acme.test was added as collaborator" in status
    assert members(stack)["nell@acme.test"] == "collaborator"
    ada.shot("member-added")
    # change a role: the member is mailed a summary, as by the API and the CLI
    before = len(mails(stack, BEA))
    ada.page.get_by_label(f"Role of {BEA}").select_option("admin")
    ada.page.get_by_role("row", name=BEA).get_by_role("button", name="Change role").click()
    assert f"{BEA} is now administrator" in ada.page.get_by_role("status").inner_text()
    assert members(stack)[BEA] == "admin"
    got = eventually(lambda: len(mails(stack, BEA)) > before and mails(stack, BEA))
    assert got and got[-1]["Subject"] == "Your role in acme: administrator"
    ada.shot("member-role-changed")
    # remove, three steps: choose, what happens to the data, confirm
    ada.page.get_by_role("link", name="Remove nell@acme.test…").click()
    assert "Step 2 of 3" in ada.text()
    ada.shot("member-remove-choice")
    ada.page.get_by_label("Delete them").check()
    ada.page.get_by_role("button", name="Next").click()
    assert "Step 3 of 3" in ada.text() and "deleted" in ada.text()
    ada.shot("member-remove-confirm")
    ada.page.get_by_label("Type nell@acme.test to confirm").fill("someone-else@acme.test")
    ada.page.get_by_role("button", name="Remove nell@acme.test").click()
    assert ada.page.get_by_role("alert").is_visible()
    assert "nell@acme.test" in members(stack)  # a wrong confirmation removes nothing
    ada.page.get_by_label("Type nell@acme.test to confirm").fill("nell@acme.test")
    ada.page.get_by_role("button", name="Remove nell@acme.test").click()
    assert "nell@acme.test was removed" in ada.page.get_by_role("status").inner_text()
    assert "nell@acme.test" not in members(stack)
    ada.shot("member-removed")


def test_remove_a_member_handing_over_their_data(stack: Stack, person: Any) -> None:
    ada = person()
    ada.log_in(ADA)
    ada.open_org()
    ada.page.get_by_label("Login (address) of the new member").fill("otto@acme.test")
    ada.page.get_by_label("First password").fill("otto-long-password-1")
    ada.page.get_by_role("button", name="Add member").click()
    assert members(stack)["otto@acme.test"] == "collaborator"
    ada.page.get_by_role("link", name="Remove otto@acme.test…").click()
    ada.page.get_by_label("Hand them over to another member").check()
    ada.page.get_by_label("Member who receives them").select_option(ADA)
    ada.page.get_by_role("button", name="Next").click()
    assert f"go to {ADA}" in ada.text()
    ada.page.get_by_label("Type otto@acme.test to confirm").fill("otto@acme.test")
    ada.page.get_by_role("button", name="Remove otto@acme.test").click()
    status = ada.page.get_by_role("status").inner_text()
    assert f"went to {ADA}" in status and "account was deleted" in status
    assert "otto@acme.test" not in members(stack)


def test_dns_records_add_and_delete(stack: Stack, person: Any) -> None:
    ada = person()
    ada.log_in(ADA)
    ada.open_org()
    ada.page.get_by_role("link", name="acme.test", exact=True).click()
    assert ada.page.get_by_role("table", name="DNS records of acme.test").is_visible()
    ada.shot("dns")
    ada.page.get_by_label("Name (@ for the domain itself, or relative like www)").fill("www")
    ada.page.get_by_label("Type (A, AAAA, CNAME, MX, TXT, SRV, …)").fill("A")
    ada.page.get_by_label("Value (zone-file syntax)").fill("not-an-address")
    ada.page.get_by_role("button", name="Add record").click()
    assert ada.page.get_by_role("alert").is_visible()  # the CLI's validation
    assert not [r for r in records(stack) if r["name"].startswith("www.")]
    assert ada.page.get_by_label("Value (zone-file syntax)").input_value() == "not-an-address"
    ada.shot("dns-add-refused")
    ada.page.get_by_label("Value (zone-file syntax)").fill("192.0.2.7")
    ada.page.get_by_role("button", name="Add record").click()
    assert "was added" in ada.page.get_by_role("status").inner_text()
    www = [r for r in records(stack) if r["name"].startswith("www.")]
    assert [(r["type"], r["rdata"]) for r in www] == [("A", "192.0.2.7")]
    ada.shot("dns-added")
    ada.page.get_by_role("row", name="192.0.2.7").get_by_role("link").click()
    assert "192.0.2.7" in ada.text()
    ada.shot("dns-delete-confirm")
    ada.page.get_by_role("button", name="Delete record").click()
    assert "was deleted" in ada.text(), ada.text()
    assert not [r for r in records(stack) if r["name"].startswith("www.")]
    ada.shot("dns-deleted")


def test_own_page_details_app_passwords_devices_and_password(stack: Stack, person: Any) -> None:
    pia = person(viewport={"width": 390, "height": 844})  # a phone
    pia.log_in(PIA)
    pia.page.get_by_role("link", name=f"My account ({PIA})").click()
    text = pia.text()
    assert f"port {stack.ports['imaps']} (TLS)" in text
    assert f"port {stack.ports['submissions']} (TLS)" in text
    assert pia.page.get_by_role("link", name=f"Automatic configuration for {PIA}").is_visible()
    pia.shot("me-phone")
    pia.page.get_by_label("Name", exact=True).fill("Pia P.")
    pia.page.get_by_role("button", name="Save details").click()
    assert "saved" in pia.page.get_by_role("status").inner_text()
    # app password: shown once, works at once (IMAP LOGIN), revoked from the same page
    pia.page.get_by_label("Device name (e.g. phone)").fill("phone")
    pia.page.get_by_label("What it opens").select_option(f"imap-smtp:{PIA}")
    pia.page.get_by_role("button", name="Create app password").click()
    assert pia.page.locator("#app-password").count() == 1, pia.text()
    secret = pia.page.locator("#app-password").inner_text()
    assert len(secret) >= 20 and "shown only this once" in pia.text()
    pia.shot("me-app-password")
    listed = stack.cli("account", "app-passwords", PIA, check=True).stdout
    assert "phone" in listed
    pia.page.get_by_role("button", name="Revoke phone").click()
    assert "revoked" in pia.page.get_by_role("status").inner_text()
    assert "phone" not in stack.cli("account", "app-passwords", PIA, check=True).stdout
    # password: the wrong current one is refused in words, the right one changes it
    pia.page.get_by_label("Current password").fill("not-my-password-1")
    pia.page.get_by_label("New password").fill("pia-new-password-2")
    pia.page.get_by_role("button", name="Change password").click()
    assert "current password is not right" in pia.page.get_by_role("alert").inner_text()
    pia.page.get_by_label("Current password").fill(PASSWORD)
    pia.page.get_by_label("New password").fill("pia-new-password-2")
    pia.page.get_by_role("button", name="Change password").click()
    assert "password was changed" in pia.page.get_by_role("status").inner_text()
    pia.shot("me-password-changed")
    assert Client(stack).login(PIA, "pia-new-password-2").status == 200
    assert Client(stack).login(PIA).status == 401
    assert pia.stack is stack


def two_factor(stack: Stack, login: str) -> dict[str, Any]:
    out = stack.cli("account", "2fa", login, "status", "--json", check=True).stdout
    return dict(json.loads(out))


def test_own_page_turns_two_factor_on_and_off(stack: Stack, person: Any) -> None:
    una = person()
    una.log_in(UNA)
    una.page.goto(una.base + "me")
    assert "Off: your password alone" in una.text()
    una.page.get_by_role("button", name="Set up two-factor authentication").click()
    assert una.page.get_by_role("img", name="QR code of your two-factor key").is_visible()
    secret = una.page.locator("#totp-secret").inner_text()
    una.shot("me-2fa-enrol")
    code = totp.code_at(secret, time.time())
    una.page.get_by_label("6-digit code the app shows now").fill(code)
    una.page.get_by_role("button", name="Turn on").click()
    assert "Two-factor authentication is on" in una.page.get_by_role("status").inner_text()
    recovery = una.page.locator("#recovery-codes li").all_inner_texts()
    assert len(recovery) == 10
    assert two_factor(stack, UNA)["enabled"] is True
    assert Client(stack).login(UNA).status == 202  # the password alone no longer logs in
    una.shot("me-2fa-recovery-codes")
    una.page.get_by_label("or a recovery code").fill("not-a-recovery-code")
    una.page.get_by_role("button", name="Turn off").click()
    assert "code is not right" in una.page.get_by_role("alert").inner_text()
    assert two_factor(stack, UNA)["enabled"] is True
    una.page.get_by_label("or a recovery code").fill(recovery[0])
    una.page.get_by_role("button", name="Turn off").click()
    assert "is off" in una.page.get_by_role("status").inner_text()
    assert two_factor(stack, UNA)["enabled"] is False


def test_a_form_without_its_csrf_field_is_refused(stack: Stack, person: Any) -> None:
    ada = person()
    ada.log_in(ADA)
    ada.open_org()
    action = ada.page.locator("form:has(button:text('Add member'))").get_attribute("action")
    form = {"login": "mallory@acme.test", "role": "admin", "password": "mallory-password-1"}
    answer = ada.page.request.post(ada.base.removesuffix("/manager/") + action, form=form)
    assert answer.status == 403 and "security token" in answer.text()
    wrong = ada.page.request.post(
        ada.base.removesuffix("/manager/") + action, form={**form, "csrf_token": "x" * 43}
    )
    assert wrong.status == 403
    token = ada.page.locator("input[name=csrf_token]").first.get_attribute("value")
    cross = ada.page.request.post(
        ada.base.removesuffix("/manager/") + action,
        form={**form, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status == 403 and "another site" in cross.text()
    assert "mallory@acme.test" not in members(stack)


def test_another_organizations_pages_are_not_found(stack: Stack, person: Any) -> None:
    olga = Client(stack)
    assert olga.login("olga@other.test").status == 200
    other = olga.request("GET", "/orgs").json[0]["id"]
    ada = person()
    ada.log_in(ADA)
    answer = ada.page.goto(ada.base + f"orgs/{other}")
    assert answer.status == 404 and "No such organization" in ada.text()
    assert ada.page.request.get(ada.base + f"orgs/{other}/domains/acme.test").status == 404


def test_a_collaborator_sees_no_admin_controls_and_is_refused(stack: Stack, person: Any) -> None:
    carl = person()
    carl.log_in(CARL)
    carl.open_org()
    assert carl.page.get_by_role("table", name="Members").is_visible()
    assert carl.page.get_by_role("button", name="Add member").count() == 0
    assert carl.page.get_by_role("button", name="Change role").count() == 0
    assert carl.page.get_by_role("link", name="Remove", exact=False).count() == 0
    carl.shot("org-collaborator")
    token = carl.page.locator("input[name=csrf_token]").first.get_attribute("value")
    org_path = carl.page.url.removeprefix(carl.base.removesuffix("/manager/"))
    root = carl.base.removesuffix("/manager/")
    added = carl.page.request.post(
        root + org_path + "/members",
        form={"csrf_token": token, "login": "eve@acme.test", "role": "admin", "password": "eve-pw-long-1"},
    )  # fmt: skip
    assert added.status == 403 and "Not allowed" in added.text()
    role = carl.page.request.post(
        root + org_path + f"/members/{ADA}/role", form={"csrf_token": token, "role": "external"}
    )
    assert role.status == 403
    removal = carl.page.request.get(root + org_path + f"/members/{ADA}/remove")
    assert removal.status == 403
    now = members(stack)
    assert "eve@acme.test" not in now and now[ADA] == "admin"
