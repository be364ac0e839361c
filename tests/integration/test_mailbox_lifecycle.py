"""A mailbox's and a DDNS host's end of life, and a quota changed, against the running server
through the CLI, the admin API and the web pages (plain form posts with the session cookie):
a deleted address's mail is out of reach at once (its IMAP sessions end, an address created
again starts empty over IMAP, on SQLite and on PostgreSQL), a new quota refuses an SMTP
delivery over it, a removed DDNS host no longer resolves and its updates are refused."""

from __future__ import annotations

import base64
import http.client
import imaplib
import json
import smtplib
import ssl
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swissbox.mailstore import removal
from tests.conftest import require_tool
from tests.support.manager_client import PASSWORD, Answer, Client
from tests.support.polling import eventually
from tests.support.stack import Stack

ADMIN = "alice@acme.test"
BOX_PW = "dora-mailbox-pw-1"
DDNS_PW = "Router2024xyz"


def _setup(stack: Stack) -> None:
    stack.init()
    stack.cli("org", "add", "acme", check=True)
    stack.cli(
        "account", "add", ADMIN, "--org", "acme", "--role", "admin", "--password-stdin",
        stdin=PASSWORD + "\n", check=True,
    )  # fmt: skip
    stack.start()
    client = Client(stack)
    assert client.login(ADMIN).status == 200
    org = client.request("GET", "/orgs").json[0]["id"]
    assert client.request("POST", f"/orgs/{org}/domains", {"name": "acme.test"}).status == 201
    assert client.request("PUT", f"/orgs/{org}/domains/acme.test/mail", {}).status in (200, 201)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("lifecycle")) as s:
        _setup(s)
        yield s
        assert "Traceback" not in s.log()


@pytest.fixture(scope="module")
def admin(stack: Stack) -> tuple[Client, int]:
    client = Client(stack, https=True)
    assert client.login(ADMIN).status == 200
    return client, client.request("GET", "/orgs").json[0]["id"]


def add_box(client: Client, org: int, address: str, quota: int | None = None) -> None:
    body: dict[str, Any] = {"address": address, "password": BOX_PW}
    if quota is not None:
        body["quota_bytes"] = quota
    made = client.request("POST", f"/orgs/{org}/mailboxes", body)
    assert made.status == 201, made


def deliver(stack: Stack, to: str, subject: str, size: int = 0) -> None:
    raw = f"From: far@away.example\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n".encode()
    raw += b"x" * size + b"\r\n"
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=30) as mx:
        mx.sendmail("far@away.example", [to], raw)


def imap(stack: Stack, address: str) -> imaplib.IMAP4_SSL:
    tls = ssl.create_default_context(cafile=str(stack.ca_file))
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls, timeout=10)
    m.login(address, BOX_PW)
    return m


def subjects(m: imaplib.IMAP4, folder: str = "INBOX") -> list[str]:
    typ, data = m.select(folder)
    assert typ == "OK", data
    if data[0] == b"0":
        return []
    _, got = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    return [x[1].decode().split(":", 1)[1].strip() for x in got if isinstance(x, tuple)]


def all_messages(m: imaplib.IMAP4) -> int:
    _, listed = m.list()
    total = 0
    for line in listed:
        assert isinstance(line, bytes)
        name = line.decode().rsplit(' "/" ', 1)[1].strip('"')
        _, status = m.status(f'"{name}"', "(MESSAGES)")
        assert isinstance(status[0], bytes)
        total += int(status[0].decode().rsplit("MESSAGES ", 1)[1].rstrip(")"))
    return total


def web(client: Client, method: str, path: str, data: bytes | None = None, **h: str) -> Answer:
    """One request to the Manager's pages with the session's cookie, over HTTPS."""
    ctx = ssl.create_default_context(cafile=str(client.stack.ca_file))
    conn = http.client.HTTPSConnection(
        "127.0.0.1", client.stack.ports["https"], timeout=30, context=ctx
    )
    headers = {"Cookie": client.cookie or "", **{k.replace("_", "-"): v for k, v in h.items()}}
    try:
        conn.request(method, path, data, headers)
        r = conn.getresponse()
        return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def form_post(client: Client, path: str, fields: dict[str, str]) -> Answer:
    """What a browser sends for one of the Manager's forms."""
    data = urllib.parse.urlencode({**fields, "csrf_token": client.csrf or ""}).encode()
    return web(client, "POST", path, data, Content_Type="application/x-www-form-urlencoded")


def page(client: Client, path: str) -> str:
    answer = web(client, "GET", path)
    assert answer.status == 200, answer
    return answer.raw.decode()


def notice(client: Client, answer: Answer) -> str:
    """The page a form's redirect leads to, with its notice."""
    assert answer.status == 303, answer
    location = urllib.parse.urlsplit(answer.headers["location"]).path
    flash = answer.headers.get("set-cookie", "").split(";", 1)[0]
    cookie = f"{client.cookie}; {flash}" if flash else client.cookie or ""
    shown = web(client, "GET", location, Cookie=cookie)
    assert shown.status == 200, shown
    return shown.raw.decode()


def held(stack: Stack, address: str) -> list[Path]:
    return [p for p, note in removal.held(stack.data / "mail") if note["address"] == address]


# -- a deleted address ------------------------------------------------------------------------


def test_a_deleted_address_created_again_starts_empty_and_its_sessions_end(
    stack: Stack, admin: tuple[Client, int]
) -> None:
    client, org = admin
    box = "dora@acme.test"
    add_box(client, org, box)
    deliver(stack, box, "old secret")
    old = imap(stack, box)
    assert subjects(old) == ["old secret"]
    team = {"address": "team@acme.test", "targets": [box, "x@example.org"]}
    assert client.request("POST", f"/orgs/{org}/aliases", team).status == 201
    catch = {"target": box}
    assert client.request("PUT", f"/orgs/{org}/domains/acme.test/catch-all", catch).status == 200

    gone = client.request("DELETE", f"/orgs/{org}/mailboxes/{box}")
    assert gone.status == 200, gone
    assert gone.json["aliases"] == ["team@acme.test"] and gone.json["catch_alls"] == ["acme.test"]
    assert gone.json["erase_after"] > 0
    # the open session's next command ends it (BYE), with no traceback on the server
    with pytest.raises(imaplib.IMAP4.abort, match="was deleted"):
        old.noop()
    aliases = client.request("GET", f"/orgs/{org}/aliases").json
    assert [a["targets"] for a in aliases if a["address"] == "team@acme.test"] == [
        ["x@example.org"]
    ]
    routing = client.request("GET", f"/orgs/{org}/routing").json
    assert not any(r.get("kind") == "catch-all" for r in routing)
    assert len(held(stack, box)) == 1  # held, out of reach, until erased

    add_box(client, org, box)  # whoever gets the address now
    new = imap(stack, box)
    assert subjects(new) == [] and all_messages(new) == 0
    assert client.request("GET", f"/orgs/{org}/mailboxes/{box}/deleted").json == []
    usage = client.request("GET", f"/orgs/{org}/mailboxes/{box}/usage").json
    assert usage["used_bytes"] == 0
    deliver(stack, box, "new mail")
    assert subjects(new) == ["new mail"]
    new.logout()
    audit = client.request("GET", f"/orgs/{org}/audit?limit=20").json
    assert any(a["action"] == "mailbox.remove" and a["target"] == box for a in audit)


def test_the_cli_deletes_while_the_server_runs_and_mailbox_add_starts_empty(
    stack: Stack, admin: tuple[Client, int]
) -> None:
    client, org = admin
    box = "cleo@acme.test"
    add_box(client, org, box)
    deliver(stack, box, "cleo private")
    old = imap(stack, box)
    assert subjects(old) == ["cleo private"]
    done = stack.cli("mailbox", "delete", box, check=True)
    assert "erased on" in done.stdout
    with pytest.raises(imaplib.IMAP4.abort, match="was deleted"):
        old.fetch("1", "(BODY[])")
    assert stack.cli("mailbox", "delete", box).returncode != 0  # no mailbox any more
    stack.cli("mailbox", "add", box, "--password-stdin", stdin=BOX_PW + "\n", check=True)
    new = imap(stack, box)
    assert subjects(new) == [] and all_messages(new) == 0
    new.logout()


def test_mail_left_by_a_delete_of_older_versions_is_not_handed_to_the_new_holder(
    stack: Stack, admin: tuple[Client, int]
) -> None:
    """Deletes before this version left the mail in place; creating the address moves it."""
    from swissbox.conf import load
    from swissbox.directory import Directory

    client, org = admin
    for box, again in (("lea@acme.test", "cli"), ("leo@acme.test", "api")):
        add_box(client, org, box)
        deliver(stack, box, f"{box} left behind")
        with Directory(load(data=str(stack.data)).db_path) as d:
            d.remove_mailbox(box)  # the row only, as the old delete did
        if again == "cli":
            stack.cli("mailbox", "add", box, "--password-stdin", stdin=BOX_PW + "\n", check=True)
        else:
            add_box(client, org, box)
        m = imap(stack, box)
        assert all_messages(m) == 0, box
        m.logout()
        assert len(held(stack, box)) == 1


def test_an_idling_session_of_a_deleted_address_is_ended_at_once(
    stack: Stack, admin: tuple[Client, int]
) -> None:
    client, org = admin
    box = "ida@acme.test"
    add_box(client, org, box)
    deliver(stack, box, "ida private")
    idle = imap(stack, box)
    idle.select("INBOX")
    idle.send(b"i1 IDLE\r\n")
    assert idle.readline().startswith(b"+")
    assert client.request("DELETE", f"/orgs/{org}/mailboxes/{box}").status == 200
    line = idle.readline()  # at once: no command needed (the socket's timeout is 10 s)
    assert line.startswith(b"* BYE [UNAVAILABLE]") and b"was deleted" in line, line
    assert idle.readline() == b""  # closed


def test_a_notify_session_of_a_deleted_address_is_ended_at_once(
    stack: Stack, admin: tuple[Client, int]
) -> None:
    client, org = admin
    box = "nora@acme.test"
    add_box(client, org, box)
    deliver(stack, box, "nora private")
    watcher = imap(stack, box)
    watcher.send(b"n1 NOTIFY SET (personal (MessageNew MessageExpunge))\r\n")
    assert watcher.readline().startswith(b"n1 OK")
    assert client.request("DELETE", f"/orgs/{org}/mailboxes/{box}").status == 200
    line = watcher.readline()  # not a STATUS of the deleted mailbox's folders
    assert line.startswith(b"* BYE [UNAVAILABLE]"), line
    assert watcher.readline() == b""


def test_the_web_page_deletes_and_erases_at_once(stack: Stack, admin: tuple[Client, int]) -> None:
    client, org = admin
    box = "erin@acme.test"
    add_box(client, org, box)
    deliver(stack, box, "erin mail")
    confirm = page(client, f"/manager/orgs/{org}/mailboxes/{box}/delete")
    assert "moved out of reach at once and erased after" in confirm
    assert "starts empty" in confirm and 'name="erase"' in confirm
    wrong = form_post(client, f"/manager/orgs/{org}/mailboxes/{box}/delete", {"confirm": "x"})
    assert wrong.status == 400 and any(b["address"] == box for b in _boxes(client, org))
    answer = form_post(
        client,
        f"/manager/orgs/{org}/mailboxes/{box}/delete",
        {"confirm": box, "erase": "true"},
    )
    assert f"{box} was deleted; its messages were erased" in notice(client, answer)
    assert held(stack, box) == []
    assert not (stack.data / "mail" / "acme.test" / "erin").exists()
    add_box(client, org, box)
    m = imap(stack, box)
    assert all_messages(m) == 0
    m.logout()


def _boxes(client: Client, org: int) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = client.request("GET", f"/orgs/{org}/mailboxes").json
    return answer


def test_fifty_clients_deleting_and_changing_mailboxes_at_once(
    stack: Stack, admin: tuple[Client, int]
) -> None:
    import concurrent.futures

    client, org = admin
    boxes = [f"crowd{n}@acme.test" for n in range(8)]
    for box in boxes:
        add_box(client, org, box)
        deliver(stack, box, f"{box} private")
    M = f"/orgs/{org}/mailboxes"
    calls: list[tuple[str, str, object]] = []
    for box in boxes:
        calls += [
            ("DELETE", f"{M}/{box}", None),  # one 200, the other 404
            ("DELETE", f"{M}/{box}", None),
            ("PATCH", f"{M}/{box}", {"quota_bytes": 4096}),  # 200, or 404 once deleted
            ("PATCH", f"{M}/{box}", {"quota_bytes": -1}),  # always 400
            ("DELETE", f"{M}/{box}?erase=maybe", None),  # always 400
            ("DELETE", f"/orgs/{org}/ddns/none-{box.split('@')[0]}.acme.test", None),  # 404
        ]
    calls += [("DELETE", f"{M}/nobody@acme.test", None)] * 2

    def send(call: tuple[str, str, object]) -> int:
        return Client.request(client, *call).status

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(send, calls))
    for n, box in enumerate(boxes):
        mine = statuses[n * 6 : n * 6 + 6]
        assert sorted(mine[:2]) == [200, 404], (box, mine)
        assert mine[2] in (200, 404) and mine[3:] == [400, 400, 404], (box, mine)
        assert len(held(stack, box)) == 1
    assert statuses[-2:] == [404, 404]
    for box in boxes[:2]:
        add_box(client, org, box)
        m = imap(stack, box)
        assert all_messages(m) == 0
        m.logout()


# -- quota ----------------------------------------------------------------------------------


def test_a_new_quota_refuses_the_next_delivery_over_it(
    stack: Stack, admin: tuple[Client, int]
) -> None:
    client, org = admin
    box = "quinn@acme.test"
    add_box(client, org, box)
    deliver(stack, box, "small", 100)
    low = client.request("PATCH", f"/orgs/{org}/mailboxes/{box}", {"quota_bytes": 2000})
    assert low.status == 200 and low.json["quota_bytes"] == 2000, low
    with pytest.raises(smtplib.SMTPException) as refused:
        deliver(stack, box, "too big", 5000)
    assert "5.2.2" in str(refused.value) and box in str(refused.value)
    bad = client.request("PATCH", f"/orgs/{org}/mailboxes/{box}", {"quota_bytes": 0})
    assert bad.status == 400
    assert (
        "quota of quinn@acme.test: no limit"
        in stack.cli("mailbox", "quota", box, "none", check=True).stdout
    )
    deliver(stack, box, "now it fits", 5000)
    assert stack.cli("mailbox", "quota", box, "0").returncode != 0
    assert stack.cli("mailbox", "quota", box, "lots").returncode != 0
    # the address page's form sets it in MB
    answer = form_post(client, f"/manager/orgs/{org}/mailboxes/{box}/quota", {"quota_mb": "1"})
    assert f"The quota of {box} is now 1 MB" in notice(client, answer)
    listed = json.loads(stack.cli("mailbox", "list", "--json", check=True).stdout)
    assert [m["quota_bytes"] for m in listed if m["address"] == box] == [1024 * 1024]
    m = imap(stack, box)
    assert subjects(m) == ["small", "now it fits"]
    m.logout()


# -- dynamic DNS ------------------------------------------------------------------------------


def nic_update(stack: Stack, user: str, host: str, ip: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", stack.ports["http"], timeout=10)
    token = base64.b64encode(f"{user}:{DDNS_PW}".encode()).decode()
    conn.request(
        "GET",
        f"/nic/update?hostname={host}&myip={ip}",
        headers={"Authorization": f"Basic {token}", "User-Agent": "router/1.0"},
    )
    answer = conn.getresponse().read().decode().strip()
    conn.close()
    return answer


def dig(stack: Stack, name: str) -> tuple[str, str]:
    out = subprocess.run(
        [require_tool("dig"), "@127.0.0.1", "-p", str(stack.ports["dns"]), name, "A"],
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    status = out.stdout.split("status: ", 1)[1].split(",", 1)[0]
    short = [
        line.split()[-1]
        for line in out.stdout.split(";; ANSWER SECTION:\n", 1)[-1].split("\n\n", 1)[0].splitlines()
        if " IN\tA\t" in line or " IN A " in line or "\tA\t" in line
    ]
    return status, ",".join(short)


def test_a_removed_ddns_host_no_longer_resolves_and_its_updates_are_refused(
    stack: Stack, admin: tuple[Client, int]
) -> None:
    client, org = admin
    first = {"hostname": "nas.acme.test", "user": "router", "password": DDNS_PW, "ip": "192.0.2.7"}
    assert client.request("POST", f"/orgs/{org}/ddns", first).status == 201
    second = {"hostname": "cam.acme.test", "user": "router", "ip": "192.0.2.8"}
    assert client.request("POST", f"/orgs/{org}/ddns", second).status == 201
    third = {"hostname": "tv.acme.test", "user": "router", "ip": "192.0.2.9"}
    assert client.request("POST", f"/orgs/{org}/ddns", third).status == 201
    assert eventually(lambda: dig(stack, "nas.acme.test") == ("NOERROR", "192.0.2.7"))

    gone = client.request("DELETE", f"/orgs/{org}/ddns/nas.acme.test")
    assert gone.status == 200 and gone.json == {"ok": True, "user": "router", "user_removed": False}
    assert eventually(lambda: dig(stack, "nas.acme.test")[0] == "NXDOMAIN")
    assert nic_update(stack, "router", "nas.acme.test", "192.0.2.70") == "nohost"
    assert dig(stack, "nas.acme.test")[0] == "NXDOMAIN"
    assert nic_update(stack, "router", "cam.acme.test", "192.0.2.80") == "good 192.0.2.80"
    assert client.request("DELETE", f"/orgs/{org}/ddns/nas.acme.test").status == 404

    # the web page: a confirmation, then the host goes
    listing = page(client, f"/manager/orgs/{org}/ddns")
    assert "Remove cam.acme.test…" in listing
    confirm = page(client, f"/manager/orgs/{org}/ddns/cam.acme.test/delete")
    assert "no longer resolves" in confirm and "the user and its password go" not in confirm
    answer = form_post(client, f"/manager/orgs/{org}/ddns/cam.acme.test/delete", {})
    assert "cam.acme.test was removed: its address records are gone." in notice(client, answer)
    assert eventually(lambda: dig(stack, "cam.acme.test")[0] == "NXDOMAIN")

    # the CLI removes the last host, and its user with it: the password opens nothing now
    out = stack.cli("ddns", "delete", "tv.acme.test", check=True).stdout
    assert "DDNS user router removed with its last host" in out
    assert eventually(lambda: dig(stack, "tv.acme.test")[0] == "NXDOMAIN")
    assert nic_update(stack, "router", "tv.acme.test", "192.0.2.90") == "badauth"
    assert stack.cli("ddns", "list", "--json", check=True).stdout.strip() == "[]"


# -- PostgreSQL -------------------------------------------------------------------------------


def test_on_postgresql_the_index_schema_is_held_then_erased(tmp_path: Path, postgres: Any) -> None:
    """Two front ends over one database and one blob path: deleted through A, the sessions
    on B end too (an idling one at once), and B's address created again starts empty."""
    import psycopg

    url = postgres.new_database()
    store = {"url": url, "blob_path": str(tmp_path / "blobs")}
    with Stack(tmp_path / "a", store=store) as s, Stack(tmp_path / "b", store=store) as b:
        _setup(s)
        b.init()
        b.start()
        client = Client(s)
        client.login(ADMIN)
        org = client.request("GET", "/orgs").json[0]["id"]
        box = "pia@acme.test"
        add_box(client, org, box)
        deliver(s, box, "pia private")
        old = imap(s, box)
        assert subjects(old) == ["pia private"]
        idle_b = imap(b, box)
        assert subjects(idle_b) == ["pia private"]
        idle_b.send(b"i1 IDLE\r\n")
        assert idle_b.readline().startswith(b"+")
        assert client.request("DELETE", f"/orgs/{org}/mailboxes/{box}").status == 200
        with pytest.raises(imaplib.IMAP4.abort, match="was deleted"):
            old.noop()
        line = idle_b.readline()  # B heard it on the bus
        assert line.startswith(b"* BYE [UNAVAILABLE]"), line
        on_b = Client(b)
        on_b.login(ADMIN)
        made = on_b.request("POST", f"/orgs/{org}/mailboxes", {"address": box, "password": BOX_PW})
        assert made.status == 201, made
        for stack in (s, b):
            new = imap(stack, box)
            assert subjects(new) == [] and all_messages(new) == 0
            new.logout()
        assert "Traceback" not in b.log()
        [(path, note)] = [
            (p, n) for p, n in removal.held(tmp_path / "blobs" / "mail") if n["address"] == box
        ]
        with psycopg.connect(url) as conn:
            held_schema = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (note["schema"],)
            ).fetchone()
            assert held_schema is not None
        assert removal.purge(tmp_path / "blobs" / "mail", url, days=1) == 0  # not yet
        assert removal.purge(tmp_path / "blobs" / "mail", url, days=0) == 1
        assert not path.exists()
        with psycopg.connect(url) as conn:
            assert (
                conn.execute(
                    "SELECT 1 FROM pg_namespace WHERE nspname = %s", (note["schema"],)
                ).fetchone()
                is None
            )
        assert "Traceback" not in s.log()
