"""The how-tos of the Manager's web pages in a real browser (Playwright driving Debian's
chromium), each done as a person would, then checked where the user meets it: an address
given to several members is opened over IMAP by one of them (imaplib), deleted mail restored
in the browser is back over IMAP, a DDNS host added in the browser is updated over HTTP
(/nic/update with Basic auth) and answered by `dig`; the directory database then holds what
the page said (read back as the CLI reads it). A screenshot of each page under the test's
tmp_path/screenshots."""

from __future__ import annotations

import base64
import http.client
import imaplib
import smtplib
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swissbox.auth import HashParams, hash_secret
from swissbox.conf import load
from swissbox.directory import Directory
from swissbox.directory.mailservice import enable_mail
from tests.conftest import require_tool
from tests.integration.test_manager_web import Person, browser, eventually  # noqa: F401
from tests.support.manager_client import PASSWORD
from tests.support.stack import Stack

ADA, BEA, CARL, PIA = (f"{n}@acme.test" for n in ("ada", "bea", "carl", "pia"))
ROLES = {ADA: "admin", BEA: "collaborator", CARL: "collaborator", PIA: "collaborator"}
BOX_PW = {BEA: "bea-mailbox-pw-1", PIA: "pia-mailbox-pw-1", CARL: "carl-mailbox-pw-1"}
INFO, BOSS, DESK = "info@acme.test", "boss@other.test", "desk@acme.test"
CHEAP = HashParams(8, 1, 1)  # the server verifies any parameters a hash names


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("manager-howtos")
    with Stack(tmp, auth={"failure_delay_base": 0.01, "failure_delay_max": 0.05}) as s:
        s.init()
        provision(s)
        s.start()
        yield s


def provision(stack: Stack) -> None:
    """What `org add`, `domain add`, `mail enable`, `account add` and `mailbox add` do, in
    this process (one interpreter start each would cost seconds), with cheap hashes."""
    config = load(data=str(stack.data))
    hostname = config.settings.server.hostname
    with Directory(config.db_path) as d:
        for org, domain in (("acme", "acme.test"), ("other", "other.test")):
            d.add_org(org)
            d.add_domain(domain, org, hostname)
            enable_mail(d, config.dkim_dir, config.settings, domain, None)
        for login, role in ROLES.items():
            d.add_account(login, hash_secret(PASSWORD, CHEAP), "acme", role, "", "")
        for address, pw in {**BOX_PW, BOSS: "boss-mailbox-pw-1", DESK: "desk-mailbox-pw-1"}.items():
            d.add_mailbox(address, hash_secret(pw, CHEAP))


@pytest.fixture
def admin(browser: Any, stack: Stack, tmp_path: Path) -> Iterator[Person]:  # noqa: F811
    ada = Person(browser, stack, tmp_path / "screenshots")
    ada.log_in(ADA)
    ada.open_org()
    yield ada
    ada.close()


def directory(stack: Stack) -> Directory:
    """The directory database the server writes, read here as the CLI reads it (opened
    afresh for each read-back: no process start per check)."""
    return Directory(load(data=str(stack.data)).db_path)


def routes(stack: Stack) -> dict[tuple[str, str], dict[str, Any]]:
    """Aliases, forwards and catch-alls as `alias list` shows them, by (kind, address)."""
    with directory(stack) as d:
        out: dict[tuple[str, str], dict[str, Any]] = {
            ("alias", a.address): {"targets": list(a.targets), "send_as": a.send_as}
            for a in d.aliases()
        }
        for f in d.forwards():
            out["forward", f.address] = {"targets": [f.target], "keep": f.keep}
        for domain, target in d.catch_alls().items():
            out["catch-all", f"@{domain}"] = {"targets": [target]}
    return out


def mailboxes(stack: Stack) -> dict[str, dict[str, Any]]:
    """As `mailbox list`: address -> quota and users."""
    with directory(stack) as d:
        boxes = d.mailboxes()
        users = d.mailbox_users(boxes)
        return {
            m.address: {
                "quota_bytes": m.quota_bytes,
                "users": [{"login": u.login, "access": u.access} for u in users[m.id]],
            }
            for m in boxes
        }


def ddns_hosts(stack: Stack) -> list[tuple[str, str]]:
    with directory(stack) as d:
        return [(h.hostname, h.username) for h in d.ddns_hosts()]


def imap(stack: Stack, user: str, password: str) -> imaplib.IMAP4_SSL:
    tls = ssl.create_default_context(cafile=str(stack.ca_file))
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls, timeout=10)
    m.login(user, password)
    return m


def message(subject: str, to: str = INFO) -> bytes:
    return (
        f"From: carol@example.org\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.org>\r\n"
        f"Date: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\nbody of {subject}\r\n"
    ).encode()


def subjects(m: imaplib.IMAP4_SSL, folder: str) -> list[str]:
    typ, data = m.select(folder)
    assert typ == "OK", data
    _, fetched = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    heads = [bytes(item[1]) for item in fetched if isinstance(item, tuple)]
    return sorted(h.decode().split(":", 1)[1].strip() for h in heads)


def status(p: Person) -> str:
    return str(p.page.get_by_role("status").inner_text())


def alert(p: Person) -> str:
    return str(p.page.get_by_role("alert").inner_text())


def test_an_address_for_several_members(stack: Stack, admin: Person) -> None:
    ada = admin
    ada.page.get_by_role("link", name="Email Service", exact=False).click()
    assert ada.page.get_by_role("table", name="Addresses", exact=True).is_visible()
    assert "Password rule: at least 8 characters" in ada.text()
    ada.shot("mail")
    # the mailbox realm's rule, refused in words; the typed address stays
    ada.page.get_by_label("New address").fill(INFO)
    ada.page.get_by_label("Its password").fill("short")
    ada.page.get_by_role("button", name="Create address").click()
    assert "8 characters" in alert(ada)
    assert INFO not in mailboxes(stack)
    assert ada.page.get_by_label("New address").input_value() == INFO
    ada.shot("mail-create-refused")
    ada.page.get_by_label("Its password").fill("info-mailbox-pw-1")
    ada.page.get_by_label("Quota in MB (empty: no limit)").fill("50")
    ada.page.get_by_role("button", name="Create address").click()
    assert f"{INFO} was created" in status(ada)
    assert mailboxes(stack)[INFO]["quota_bytes"] == 50 * 1024 * 1024
    assert "used; quota: 50 MB" in ada.text()
    ada.page.reload()  # POST-redirect-GET: a reload repeats nothing, the notice is gone
    assert ada.page.get_by_role("status").count() == 0
    ada.shot("mailbox")
    # several members at once
    ada.page.get_by_label(BEA, exact=False).check()
    ada.page.get_by_label(PIA, exact=False).focus()
    ada.page.keyboard.press("Space")  # ticked from the keyboard
    ada.page.get_by_label("Access", exact=True).select_option("full")
    ada.page.get_by_role("button", name="Grant access").click()
    assert f"{BEA}, {PIA} may now use {INFO} (full)" in status(ada)
    users = {u["login"]: u["access"] for u in mailboxes(stack)[INFO]["users"]}
    assert users == {BEA: "full", PIA: "full"}
    ada.shot("mailbox-granted")
    # what the wave-1 bug broke: the member opens the shared address over IMAP
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as smtp:
        smtp.sendmail("carol@example.org", [INFO], message("for the team"))
    bea = imap(stack, BEA, BOX_PW[BEA])
    assert subjects(bea, f'"Shared Folders/{INFO}/INBOX"') == ["for the team"]
    bea.logout()
    # revoke one; their IMAP no longer opens it, the other's still does
    ada.page.get_by_role("button", name=f"Revoke {PIA}").click()
    assert f"{PIA} no longer uses {INFO}" in status(ada)
    assert [u["login"] for u in mailboxes(stack)[INFO]["users"]] == [BEA]
    pia = imap(stack, PIA, BOX_PW[PIA])
    assert pia.select(f'"Shared Folders/{INFO}/INBOX"')[0] == "NO"
    pia.logout()
    # a new password for the address: the rule again, then IMAP with the new one
    ada.page.get_by_label("New password").fill("short")
    ada.page.get_by_role("button", name="Set password").click()
    assert "8 characters" in alert(ada)
    ada.page.get_by_label("New password").fill("info-mailbox-pw-2")
    ada.page.get_by_role("button", name="Set password").click()
    assert f"{INFO} has a new password" in status(ada)
    imap(stack, INFO, "info-mailbox-pw-2").logout()
    with pytest.raises(imaplib.IMAP4.error):
        imap(stack, INFO, "info-mailbox-pw-1")
    # forward, then stop
    ada.page.get_by_label("Forward to").fill("outside@example.org")
    ada.page.get_by_label("Keep a copy in this mailbox").check()
    ada.page.get_by_role("button", name="Forward", exact=True).click()
    assert "now goes on to outside@example.org, a copy stays" in status(ada)
    forward = routes(stack)[("forward", INFO)]
    assert forward["targets"] == ["outside@example.org"] and forward["keep"] is True
    ada.shot("mailbox-forwarded")
    ada.page.get_by_role("button", name="Stop forwarding").click()
    assert "no longer forwarded" in status(ada)
    assert ("forward", INFO) not in routes(stack)


def test_delete_an_address_after_confirming(stack: Stack, admin: Person) -> None:
    ada = admin
    ada.page.get_by_role("link", name="Email Service", exact=False).click()
    ada.page.get_by_label("New address").fill("old@acme.test")
    ada.page.get_by_label("Its password").fill("old-mailbox-pw-1")
    ada.page.get_by_role("button", name="Create address").click()
    assert "old@acme.test" in mailboxes(stack)
    # its quota changed on its page, as `swissbox mailbox quota` would
    ada.page.get_by_label("Quota in MB (empty: no limit)").fill("5")
    ada.page.get_by_role("button", name="Set quota").click()
    assert "The quota of old@acme.test is now 5 MB" in status(ada)
    with directory(stack) as d:
        changed = d.mailbox("old@acme.test")
        assert changed is not None and changed.quota_bytes == 5 * 1024 * 1024
    ada.page.get_by_role("link", name="Delete old@acme.test…").click()
    assert "Its messages are moved out of reach at once" in ada.text()
    ada.shot("mailbox-delete-confirm")
    ada.page.get_by_label("Type old@acme.test to confirm").fill("info@acme.test")
    ada.page.get_by_role("button", name="Delete old@acme.test").click()
    assert "nothing was deleted" in alert(ada)
    assert "old@acme.test" in mailboxes(stack)
    ada.page.get_by_label("Type old@acme.test to confirm").fill("old@acme.test")
    ada.page.get_by_role("button", name="Delete old@acme.test").click()
    assert "old@acme.test was deleted" in status(ada)
    assert "old@acme.test" not in mailboxes(stack)
    assert ada.page.get_by_role("link", name="old@acme.test").count() == 0


def test_aliases_and_catch_all(stack: Stack, admin: Person) -> None:
    ada = admin
    ada.page.set_viewport_size({"width": 390, "height": 844})  # a phone
    ada.page.get_by_role("link", name="Email Service", exact=False).click()
    assert ada.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    ada.page.get_by_label("Alias address").fill("sales@acme.test")
    ada.page.get_by_label("Delivers to (addresses, separated by commas)").fill(f"{BEA}, {PIA}")
    ada.page.get_by_label("Users of the targets may send as the alias").uncheck()
    ada.page.get_by_role("button", name="Add alias").click()
    assert f"sales@acme.test now delivers to {BEA}, {PIA}" in status(ada)
    sales = routes(stack)[("alias", "sales@acme.test")]
    assert sales["targets"] == [BEA, PIA] and not sales["send_as"]
    ada.shot("mail-alias-added")
    ada.page.get_by_label("Catch-all of acme.test").fill(BEA)
    ada.page.get_by_role("button", name="Set catch-all of acme.test").click()
    assert f"unknown addresses of acme.test now goes to {BEA}" in status(ada)
    assert routes(stack)[("catch-all", "@acme.test")]["targets"] == [BEA]
    ada.shot("mail-catch-all")
    ada.page.get_by_role("button", name="No catch-all for acme.test").click()
    assert "has no catch-all" in status(ada)
    assert ("catch-all", "@acme.test") not in routes(stack)
    ada.page.get_by_role("button", name="Remove alias sales@acme.test").click()
    assert "The alias sales@acme.test was removed" in status(ada)
    assert ("alias", "sales@acme.test") not in routes(stack)


def test_restore_deleted_mail(stack: Stack, admin: Person) -> None:
    carl = imap(stack, CARL, BOX_PW[CARL])
    for subject in ("invoice 1", "invoice 2"):
        assert carl.append("INBOX", None, None, message(subject, CARL))[0] == "OK"
    carl.select("INBOX")
    assert carl.store("1:*", "+FLAGS", r"(\Deleted)")[0] == "OK"
    assert carl.expunge()[0] == "OK"
    assert subjects(carl, "INBOX") == []
    ada = admin
    ada.page.goto(ada.page.url.rstrip("/") + "/mailboxes/" + CARL)
    ada.page.get_by_role("link", name="Restore deleted mail…").click()
    table = ada.page.get_by_role("table", name="Deleted messages")
    assert "invoice 1" in table.inner_text() and "invoice 2" in table.inner_text()
    ada.shot("restore")
    ada.page.get_by_role("button", name="Restore all 2 messages").click()
    assert f"2 messages were restored into the folder Restored of {CARL}" in status(ada)
    assert "No deleted mail to restore" in ada.text()
    ada.shot("restored")
    assert subjects(carl, "Restored") == ["invoice 1", "invoice 2"]
    carl.logout()


def nic_update(stack: Stack, user: str, password: str, host: str, ip: str) -> str:
    """What a router does (dyndns2): GET /nic/update with HTTP Basic authentication."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.ports["http"], timeout=10)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    conn.request(
        "GET",
        f"/nic/update?hostname={host}&myip={ip}",
        headers={"Authorization": f"Basic {token}", "User-Agent": "router/1.0"},
    )
    answer = conn.getresponse().read().decode().strip()
    conn.close()
    return answer


def dig(stack: Stack, name: str) -> str:
    out = subprocess.run(
        [require_tool("dig"), "@127.0.0.1", "-p", str(stack.ports["dns"]), "+short", name, "A"],
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def test_a_dynamic_dns_host_with_its_user(stack: Stack, admin: Person) -> None:
    ada = admin
    ada.page.set_viewport_size({"width": 390, "height": 844})  # a phone
    ada.page.get_by_role("link", name="Dynamic DNS hosts").click()
    assert ada.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert "Password rule of the provider: at least 8 characters, only letters and digits" in (
        ada.text()
    )
    ada.shot("ddns")
    ada.page.get_by_label("Host name (inside a domain of the organization)").fill("nas.acme.test")
    ada.page.get_by_label("DDNS user name").fill("acmenas")
    ada.page.get_by_label("Password of a new DDNS user (empty: the user exists)").fill("nas-pass-1")
    ada.page.get_by_role("button", name="Add host").click()
    assert "only letters and digits" in alert(ada)
    assert ddns_hosts(stack) == []
    assert ada.page.get_by_label("DDNS user name").input_value() == "acmenas"
    ada.shot("ddns-add-refused")
    ada.page.get_by_label("Password of a new DDNS user (empty: the user exists)").fill("NasPass123")
    ada.page.get_by_label("Member who owns a new user").select_option(BEA)
    ada.page.get_by_role("button", name="Add host").click()
    assert "nas.acme.test may now be updated by acmenas (a new user" in status(ada)
    assert ddns_hosts(stack) == [("nas.acme.test", "acmenas")]
    assert ada.page.get_by_role("table", name="Dynamic DNS hosts").is_visible()
    ada.shot("ddns-added")
    # a new password for the user: the provider's rule, then the router's update with it
    ada.page.get_by_label("New password").fill("nopassword")
    ada.page.get_by_role("button", name="Set password").click()
    assert "upper-case letter" in alert(ada)
    ada.page.get_by_label("New password").fill("NasPass456")
    ada.page.get_by_role("button", name="Set password").click()
    assert "acmenas has a new password" in status(ada)
    assert nic_update(stack, "acmenas", "NasPass123", "nas.acme.test", "192.0.2.55") == "badauth"
    assert nic_update(stack, "acmenas", "NasPass456", "nas.acme.test", "192.0.2.55") == (
        "good 192.0.2.55"
    )
    assert eventually(lambda: dig(stack, "nas.acme.test") == "192.0.2.55")
    # a second host for the same user: no password (the user has one)
    ada.page.get_by_label("Host name (inside a domain of the organization)").fill("cam.acme.test")
    ada.page.get_by_label("DDNS user name").fill("acmenas")
    ada.page.get_by_role("button", name="Add host").click()
    assert "cam.acme.test may now be updated by acmenas." in status(ada)
    assert sorted(ddns_hosts(stack)) == [("cam.acme.test", "acmenas"), ("nas.acme.test", "acmenas")]
    assert nic_update(stack, "acmenas", "NasPass456", "cam.acme.test", "192.0.2.56") == (
        "good 192.0.2.56"
    )
    assert eventually(lambda: dig(stack, "cam.acme.test") == "192.0.2.56")
    # removed after a confirmation: no longer resolves, and the router's update is refused
    ada.page.get_by_role("link", name="Remove cam.acme.test…").click()
    assert "no longer resolves" in ada.text()
    ada.shot("ddns-remove-confirm")
    ada.page.get_by_role("button", name="Remove cam.acme.test").click()
    assert "cam.acme.test was removed: its address records are gone." in status(ada)
    assert ddns_hosts(stack) == [("nas.acme.test", "acmenas")]
    assert eventually(lambda: dig(stack, "cam.acme.test") == "")
    assert nic_update(stack, "acmenas", "NasPass456", "cam.acme.test", "192.0.2.57") == "nohost"


def teams(stack: Stack) -> dict[str, list[str]]:
    with directory(stack) as d:
        return {t["name"]: t["members"] for t in d.teams("acme")}


def private(stack: Stack) -> dict[str, bool]:
    with directory(stack) as d:
        return {m.account.login: m.private for m in d.members("acme")}


def test_teams_and_private_directory_entries(stack: Stack, admin: Person, browser: Any) -> None:  # noqa: F811
    ada = admin
    ada.page.get_by_role("link", name="Teams and the directory").click()
    ada.page.get_by_label("Name of the new team").fill("Support")
    ada.page.get_by_label("Name of the new team").press("Enter")  # the keyboard submits
    assert "The team Support was created" in status(ada)
    assert teams(stack) == {"Support": []}
    for who in (BEA, PIA, CARL):
        ada.page.get_by_label("Member to add to Support").select_option(who)
        ada.page.get_by_role("button", name="Add to Support").click()
        assert f"{who} is now in Support" in status(ada)
    assert sorted(teams(stack)["Support"]) == sorted([BEA, PIA, CARL])
    ada.page.get_by_role("button", name=f"Take {CARL} out of Support").click()
    assert f"{CARL} is no longer in Support" in status(ada)
    assert sorted(teams(stack)["Support"]) == [BEA, PIA]
    ada.shot("teams")
    # a private entry: collaborators' directory (and the team's member list) leaves it out
    ada.page.get_by_role("button", name=f"Mark private: {PIA}").click()
    assert f"{PIA}'s entry is private" in status(ada)
    assert private(stack)[PIA] is True
    ada.shot("directory-private")
    carl = Person(browser, stack, ada.shots)
    try:
        carl.log_in(CARL)
        carl.open_org()
        carl.page.get_by_role("link", name="Teams and the directory").click()
        directory = carl.page.get_by_role("table", name="Directory").inner_text()
        assert BEA in directory and PIA not in directory
        assert PIA not in carl.page.get_by_role("table", name="Teams").inner_text()
        assert carl.page.get_by_role("button").filter(has_text="Mark private").count() == 0
        assert carl.page.get_by_role("button", name="Create team").count() == 0
        carl.shot("directory-collaborator")
        ada.page.get_by_role("button", name=f"Make visible: {PIA}").click()
        assert f"{PIA}'s entry is visible to collaborators again" in status(ada)
        assert private(stack)[PIA] is False
        carl.page.reload()
        assert PIA in carl.page.get_by_role("table", name="Directory").inner_text()
        # a collaborator has no Email Service page: refused in words
        refused = carl.page.goto(carl.page.url.rsplit("/", 1)[0] + "/mail")
        assert refused is not None and refused.status == 403 and "Not allowed" in carl.text()
    finally:
        carl.close()
    # delete the team after a confirmation
    ada.page.get_by_role("link", name="Delete Support…").click()
    assert "Its members stay in the organization" in ada.text()
    ada.page.get_by_role("button", name="Delete team Support").click()
    assert "The team Support was deleted" in status(ada)
    assert teams(stack) == {}


def test_another_organizations_addresses_are_not_found(stack: Stack, admin: Person) -> None:
    ada = admin
    org_url = ada.page.url
    root = ada.base.removesuffix("/manager/")
    for path in ("", "/restore", "/delete"):
        answer = ada.page.goto(f"{org_url}/mailboxes/{BOSS}{path}")
        assert answer is not None and answer.status == 404, path
    ada.page.goto(org_url + "/mail")
    token = ada.page.locator("input[name=csrf_token]").first.get_attribute("value")
    action = org_url.removeprefix(root) + f"/mailboxes/{BOSS}"
    for path, form in (
        ("/restore", {}),
        ("/password", {"password": "taken-over-pw-1"}),
        ("/users", {"login": ADA, "access": "full"}),
        ("/delete", {"confirm": BOSS}),
    ):
        answer = ada.page.request.post(root + action + path, form={"csrf_token": token, **form})
        assert answer.status == 404, (path, answer.status)
    assert mailboxes(stack)[BOSS]["users"] == []
    # and a form of this organization sent without its security token changes nothing
    own = org_url.removeprefix(root) + f"/mailboxes/{BEA}/users"
    answer = ada.page.request.post(root + own, form={"login": ADA, "access": "full"})
    assert answer.status == 403 and "security token" in answer.text()
    assert ADA not in [u["login"] for u in mailboxes(stack)[BEA]["users"]]
    imap(stack, BOSS, "boss-mailbox-pw-1").logout()  # its password is unchanged


def test_granting_several_members_says_who_got_it_when_one_is_refused(
    stack: Stack, admin: Person
) -> None:
    ada = admin
    ada.page.goto(ada.page.url + f"/mailboxes/{DESK}")
    ada.page.get_by_label(BEA, exact=False).check()
    ada.page.get_by_label(PIA, exact=False).check()
    ada.page.get_by_label("Access", exact=True).select_option("own")  # one owner at most
    ada.page.get_by_role("button", name="Grant access").click()
    said = alert(ada)
    assert said.startswith(f"Not granted to {PIA}: ") and f"({BEA} did get it)" in said, said
    assert mailboxes(stack)[DESK]["users"] == [{"login": BEA, "access": "own"}]
    ada.shot("mailbox-grant-partly-refused")
