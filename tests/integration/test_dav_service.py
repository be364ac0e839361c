"""CalDAV/CardDAV on the running stack, by raw HTTP: discovery, the account realm, owners'
collections, the organization directory rules, sync-collection, and bad input.

One stack serves the whole module; tests that change the directory restore what they change.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from swissbox.auth import HashParams, hash_secret
from swissbox.conf import load
from swissbox.directory import Directory
from tests.support.stack import Stack

ORG, DOMAIN = "acme", "example.test"
CHEAP = HashParams(8, 1, 1)
# login: (role, display name, phone)
PEOPLE = {
    "alice@example.test": ("legal", "Alice Martin", "+41 21 000 00 01"),
    "adam@example.test": ("admin", "Adam Admin", "+41 21 000 00 02"),
    "bob@example.test": ("collaborator", "Bob Builder", "+41 21 000 00 03"),
    "carol@example.test": ("collaborator", "Carol Quiet", "+41 21 000 00 04"),
    "dave@example.test": ("collaborator", "Dave Doe", ""),
    "eve@partner.test": ("external", "Eve Extern", "+33 1 00 00 00 05"),
}
PASSWORDS = {login: f"pw-{login.split('@')[0]}-2026" for login in PEOPLE}
MAILBOX_PW = "mailbox-only-secret-99"
DDNS_USER, DDNS_PW = "bob@example.test", "DdnsSecret2026"
NS = {"D": "DAV:", "CR": "urn:ietf:params:xml:ns:carddav", "C": "urn:ietf:params:xml:ns:caldav"}


class DavHttp:
    """Tiny HTTP client (stdlib only) for one stack."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        login: str | None = None,
        password: str | None = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        h = dict(headers or {})
        if login is not None:
            pw = PASSWORDS.get(login, "") if password is None else password
            token = base64.b64encode(f"{login}:{pw}".encode()).decode()
            h["Authorization"] = f"Basic {token}"
        if isinstance(body, str):
            body = body.encode()
        if body is not None and "Content-Type" not in h:
            h["Content-Type"] = "application/xml; charset=utf-8"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()


def home(login: str) -> str:
    return f"/dav/{quote(login)}/"


def book_path(login: str, org_id: int = 1) -> str:
    return f"{home(login)}directory-{org_id}/"


def propfind(props: str) -> str:
    return f'<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="{NS["C"]}" xmlns:CR="{NS["CR"]}"><D:prop>{props}</D:prop></D:propfind>'


def sync_body(token: str = "") -> str:
    return (
        f'<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:" xmlns:CR="{NS["CR"]}">'
        f"<D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/><CR:address-data/></D:prop></D:sync-collection>"
    )


def parse_multistatus(data: bytes) -> tuple[dict[str, dict[str, Any]], str | None]:
    """{href: {"status": int, "etag": str|None, "data": str|None, "props": {tag: text}}}, token."""
    root = ET.fromstring(data)
    out: dict[str, dict[str, Any]] = {}
    for resp in root.findall("D:response", NS):
        href = resp.findtext("D:href", namespaces=NS) or ""
        entry: dict[str, Any] = {"status": 200, "etag": None, "data": None, "props": {}}
        status = resp.findtext("D:status", namespaces=NS)
        if status:
            entry["status"] = int(status.split()[1])
        for propstat in resp.findall("D:propstat", NS):
            code = int((propstat.findtext("D:status", namespaces=NS) or "x 200").split()[1])
            for prop in propstat.find("D:prop", NS) or []:
                if code == 200:
                    entry["props"][prop.tag] = prop
            etag = propstat.findtext("D:prop/D:getetag", namespaces=NS)
            if etag:
                entry["etag"] = etag
            card = propstat.findtext("D:prop/CR:address-data", namespaces=NS)
            if card:
                entry["data"] = card
        out[href] = entry
    return out, root.findtext("D:sync-token", namespaces=NS)


def build_stack(tmp: Path, **overrides: Any) -> Stack:
    """acme with the PEOPLE above, alice's mailbox, teams Sales (alice, bob, carol) and
    Board (alice, eve); bob also has a DDNS user; provisioned in-process (fast)."""
    stack = Stack(tmp, **overrides)
    stack.init()
    config = load(data=str(stack.data))
    with Directory(config.directory_location) as d:
        d.add_org(ORG)
        for login, (role, name, phone) in PEOPLE.items():
            d.add_account(login, hash_secret(PASSWORDS[login], CHEAP), ORG, role, name, phone)
        d.add_domain(DOMAIN, ORG, stack.hostname)
        d.enable_email(DOMAIN)
        d.add_mailbox("alice@example.test", hash_secret(MAILBOX_PW, CHEAP))
        d.grant("alice@example.test", "alice@example.test")
        d.add_ddns_user(DDNS_USER, hash_secret(DDNS_PW, CHEAP))
        d.add_team(ORG, "Sales")
        for login in ("alice@example.test", "bob@example.test", "carol@example.test"):
            d.add_team_member(ORG, "Sales", login)
        d.add_team(ORG, "Board")
        d.add_team_member(ORG, "Board", "alice@example.test")
        d.add_team_member(ORG, "Board", "eve@partner.test")
    return stack


@contextlib.contextmanager
def running_stack(tmp: Path, **overrides: Any) -> Iterator[Stack]:
    """`build_stack(tmp, **overrides)`, started; stopped (and killed if need be) afterwards."""
    stack = build_stack(tmp, **overrides)
    with stack:
        stack.start()
        yield stack
        stack.stop()


@pytest.fixture(scope="module")
def dav(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, DavHttp]]:
    with running_stack(tmp_path_factory.mktemp("dav")) as stack:
        yield stack, DavHttp(stack.ports["http"])


def directory_cards(client: DavHttp, login: str) -> dict[str, str]:
    """{FN: card text} of the directory as `login` syncs it."""
    status, _, data = client.request("REPORT", book_path(login), login, body=sync_body())
    assert status == 207, data
    found, _ = parse_multistatus(data)
    cards = {}
    for entry in found.values():
        text = entry["data"] or ""
        fn = next(line[3:] for line in text.splitlines() if line.startswith("FN:"))
        cards[fn] = text
    return cards


# -- discovery ----------------------------------------------------------------------------------


def test_well_known_redirects(dav: tuple[Stack, DavHttp]) -> None:
    _, client = dav
    for name in ("caldav", "carddav"):
        status, headers, _ = client.request("GET", f"/.well-known/{name}")
        assert status == 301 and headers["location"] == "/dav/"
        status, headers, _ = client.request("PROPFIND", f"/.well-known/{name}")
        assert status == 301 and headers["location"] == "/dav/"


def test_principal_discovery_and_default_collections(dav: tuple[Stack, DavHttp]) -> None:
    stack, client = dav
    login = "bob@example.test"
    status, _, data = client.request(
        "PROPFIND",
        "/dav/",
        login,
        body=propfind("<D:current-user-principal/>"),
        headers={"Depth": "0"},
    )
    assert status == 207
    root = ET.fromstring(data)
    principal = root.findtext(".//D:current-user-principal/D:href", namespaces=NS)
    assert principal == home(login)
    body = propfind("<C:calendar-home-set/><CR:addressbook-home-set/><D:resourcetype/>")
    status, _, data = client.request(
        "PROPFIND", principal, login, body=body, headers={"Depth": "0"}
    )
    assert status == 207
    root = ET.fromstring(data)
    assert root.findtext(".//C:calendar-home-set/D:href", namespaces=NS) == principal
    assert root.findtext(".//CR:addressbook-home-set/D:href", namespaces=NS) == principal
    body = propfind("<D:resourcetype/><D:displayname/>")
    status, _, data = client.request(
        "PROPFIND", principal, login, body=body, headers={"Depth": "1"}
    )
    found, _ = parse_multistatus(data)
    names = {
        href: e["props"].get("{DAV:}displayname").text
        for href, e in found.items()
        if href != principal
    }
    assert names == {
        principal + "calendar/": "Calendar",
        principal + "contacts/": "Contacts",
        principal + "directory-1/": "Directory of acme",
    }
    assert (stack.data / "dav" / "collection-root" / login / "calendar").is_dir()


# -- the account realm --------------------------------------------------------------------------


def test_only_the_account_realm_opens_dav(dav: tuple[Stack, DavHttp]) -> None:
    _, client = dav
    body = propfind("<D:current-user-principal/>")
    ok, _, _ = client.request("PROPFIND", "/dav/", "alice@example.test", body=body)
    assert ok == 207
    # the mailbox password of the same string, and a DDNS password, must not open DAV
    status, headers, _ = client.request(
        "PROPFIND", "/dav/", "alice@example.test", MAILBOX_PW, body=body
    )
    assert status == 401 and headers["www-authenticate"].startswith("Basic")
    status, _, _ = client.request("PROPFIND", "/dav/", DDNS_USER, DDNS_PW, body=body)
    assert status == 401
    status, _, _ = client.request("PROPFIND", home("alice@example.test"), body=body)
    assert status == 401  # anonymous


def test_failures_are_rate_limited_then_locked(tmp_path: Path) -> None:
    auth = {"failure_delay_base": 0.05, "failure_delay_max": 0.4, "max_failures_per_identifier": 5}
    with Stack(tmp_path, auth=auth) as stack:
        stack.init()
        config = load(data=str(stack.data))
        with Directory(config.db_path) as d:
            d.add_org("solo")
            d.add_account("victim@example.test", hash_secret("right-pw-2026", CHEAP), "solo")
        stack.start()
        client = DavHttp(stack.ports["http"])
        body = propfind("<D:current-user-principal/>")
        timings = []
        for i in range(5):  # five different wrong passwords (the same one again counts once)
            start = time.monotonic()
            status, _, _ = client.request(
                "PROPFIND", "/dav/", "victim@example.test", f"bad-{i}", body
            )
            timings.append(time.monotonic() - start)
            assert status == 401
        # growing delay (0.1 s, then 0.4 s): lower bounds only, so a loaded machine cannot fail it
        assert timings[1] >= 0.09 and timings[3] >= 0.35
        # locked out now: even the right password is refused, with the same answer
        status, _, _ = client.request(
            "PROPFIND", "/dav/", "victim@example.test", "right-pw-2026", body
        )
        assert status == 401
        stack.stop()


# -- owners' collections ------------------------------------------------------------------------


def test_members_reach_only_their_own_collections(dav: tuple[Stack, DavHttp]) -> None:
    _, client = dav
    alice, bob = "alice@example.test", "bob@example.test"
    client.request("PROPFIND", home(bob), bob, body=propfind("<D:resourcetype/>"))
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x1\r\nFN:X\r\nN:X;;;;\r\nEND:VCARD\r\n"
    status, _, _ = client.request(
        "PUT", home(bob) + "contacts/x1.vcf", bob, body=card, headers={"Content-Type": "text/vcard"}
    )
    assert status == 201
    for method, path, body in (
        ("PROPFIND", home(bob), propfind("<D:resourcetype/>")),
        ("PROPFIND", home(bob) + "contacts/", propfind("<D:resourcetype/>")),
        ("GET", home(bob) + "contacts/x1.vcf", None),
        ("PUT", home(bob) + "contacts/x2.vcf", card.replace("x1", "x2")),
        ("DELETE", home(bob) + "contacts/x1.vcf", None),
        ("MKCOL", home(bob) + "sneaky/", None),
        ("REPORT", book_path(bob), sync_body()),
        ("GET", book_path(bob) + "anything.vcf", None),
    ):
        status, _, data = client.request(method, path, alice, body=body)
        assert status in (403, 404), (method, path, status)
        assert b"FN:X" not in data
    status, _, data = client.request("GET", home(bob) + "contacts/x1.vcf", bob)
    assert status == 200 and b"FN:X" in data


def test_path_traversal_stays_inside(dav: tuple[Stack, DavHttp]) -> None:
    _, client = dav
    alice = "alice@example.test"
    for path in (
        "/dav/../../../../etc/passwd",
        "/dav/%2e%2e/%2e%2e/etc/passwd",
        "/dav/alice%40example.test/..%2f..%2f..%2fetc%2fpasswd",
        "/dav/alice%40example.test/../bob%40example.test/contacts/x1.vcf",
        "/dav/alice%40example.test/contacts/..%2f..%2fbob%40example.test%2fcontacts%2fx1.vcf",
        "/dav/alice%40example.test/directory-1/..%2f..%2fbob%40example.test%2fcontacts%2f",
    ):
        status, _, data = client.request("GET", path, alice)
        assert status in (301, 302, 403, 404), (path, status)
        assert b"root:" not in data and b"FN:X" not in data


# -- the organization directory -----------------------------------------------------------------


def test_directory_holds_internal_members_and_teams(dav: tuple[Stack, DavHttp]) -> None:
    _, client = dav
    cards = directory_cards(client, "alice@example.test")
    assert set(cards) == {
        "Alice Martin",
        "Adam Admin",
        "Bob Builder",
        "Carol Quiet",
        "Dave Doe",
        "Sales",
        "Board",
    }
    alice = cards["Alice Martin"]
    assert "EMAIL;TYPE=INTERNET,WORK:alice@example.test" in alice
    assert "TEL;TYPE=WORK,VOICE:+41 21 000 00 01" in alice
    assert "N:Martin;Alice;;;" in alice and "ORG:acme" in alice
    assert any(line.startswith("REV:") for line in alice.splitlines())
    uid = {
        fn: next(ln[4:] for ln in c.splitlines() if ln.startswith("UID:"))
        for fn, c in cards.items()
    }
    sales = cards["Sales"]
    assert "KIND:group" in sales and "X-ADDRESSBOOKSERVER-KIND:group" in sales
    for fn in ("Alice Martin", "Bob Builder", "Carol Quiet"):
        assert f"MEMBER:urn:uuid:{uid[fn]}" in sales
        assert f"X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:{uid[fn]}" in sales
    board = cards["Board"]  # the external member is left out of the group too
    assert board.count("\nMEMBER:") == 1 and f"MEMBER:urn:uuid:{uid['Alice Martin']}" in board
    assert "Eve" not in "".join(cards.values())


def test_externals_neither_appear_nor_see_it(dav: tuple[Stack, DavHttp]) -> None:
    _, client = dav
    eve = "eve@partner.test"
    status, _, data = client.request(
        "PROPFIND", home(eve), eve, body=propfind("<D:resourcetype/>"), headers={"Depth": "1"}
    )
    assert status == 207
    found, _ = parse_multistatus(data)
    assert not any("directory" in href for href in found)
    status, _, _ = client.request("REPORT", book_path(eve), eve, body=sync_body())
    assert status in (403, 404)


def test_private_entries_hidden_from_collaborators(dav: tuple[Stack, DavHttp]) -> None:
    stack, client = dav
    stack.cli("org", "private", "carol@example.test", "on", check=True)
    try:
        assert "Carol Quiet" not in directory_cards(client, "bob@example.test")
        assert "Carol Quiet" in directory_cards(client, "alice@example.test")  # legal
        assert "Carol Quiet" in directory_cards(client, "adam@example.test")  # admin
        bobs = directory_cards(client, "bob@example.test")
        assert "Carol" not in bobs["Sales"] and bobs["Sales"].count("\nMEMBER:") == 2
    finally:
        stack.cli("org", "private", "carol@example.test", "off", check=True)
    assert "Carol Quiet" in directory_cards(client, "bob@example.test")


def test_directory_is_read_only(dav: tuple[Stack, DavHttp]) -> None:
    _, client = dav
    bob = "bob@example.test"
    book = book_path(bob)
    status, _, data = client.request("REPORT", book, bob, body=sync_body())
    found, _ = parse_multistatus(data)
    some_card = next(iter(found))
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:evil\r\nFN:Evil\r\nN:Evil;;;;\r\nEND:VCARD\r\n"
    vcard = {"Content-Type": "text/vcard"}
    refused = [
        ("PUT", book + "evil.vcf", card, vcard),
        ("PUT", some_card, card, vcard),
        ("DELETE", some_card, None, {}),
        ("DELETE", book, None, {}),
        ("MOVE", some_card, None, {"Destination": home(bob) + "contacts/stolen.vcf"}),
        ("MOVE", home(bob) + "contacts/", None, {"Destination": book + "inside/"}),
        ("MKCOL", book + "sub/", None, {}),
        ("GET", book, None, {}),  # the whole-collection export
    ]
    for method, path, body, headers in refused:
        status, _, _ = client.request(method, path, bob, body=body, headers=headers)
        assert status == 403, (method, path, status)
    rename = (
        '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
        "<D:displayname>Mine now</D:displayname></D:prop></D:set></D:propertyupdate>"
    )
    status, _, _ = client.request("PROPPATCH", book, bob, body=rename)
    assert status == 403
    status, _, data = client.request("GET", some_card, bob)
    assert status == 200 and data.startswith(b"BEGIN:VCARD")
    after, _ = parse_multistatus(client.request("REPORT", book, bob, body=sync_body())[2])
    assert set(after) == set(found)
    status, _, data = client.request(
        "PROPFIND", book, bob, body=propfind("<D:displayname/>"), headers={"Depth": "0"}
    )
    assert b"Directory of acme" in data


def test_colour_is_kept_per_member(dav: tuple[Stack, DavHttp]) -> None:
    _, client = dav
    colour = (
        '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:I="http://apple.com/ns/ical/">'
        "<D:set><D:prop><I:calendar-color>#FF8800FF</I:calendar-color></D:prop></D:set>"
        "</D:propertyupdate>"
    )
    bob, dave = "bob@example.test", "dave@example.test"
    status, _, data = client.request("PROPPATCH", book_path(bob), bob, body=colour)
    assert status == 207 and b"200 OK" in data
    ask = propfind('<I:calendar-color xmlns:I="http://apple.com/ns/ical/"/>')
    _, _, data = client.request("PROPFIND", book_path(bob), bob, body=ask, headers={"Depth": "0"})
    assert b"#FF8800FF" in data
    _, _, data = client.request("PROPFIND", book_path(dave), dave, body=ask, headers={"Depth": "0"})
    assert b"#FF8800FF" not in data
    inf = (
        '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:A="http://inf-it.com/ns/ab/">'
        "<D:set><D:prop><A:addressbook-color>#00AA00</A:addressbook-color></D:prop></D:set>"
        "</D:propertyupdate>"
    )
    status, _, _ = client.request("PROPPATCH", book_path(dave), dave, body=inf)
    assert status == 207
    ask = propfind('<A:addressbook-color xmlns:A="http://inf-it.com/ns/ab/"/>')
    _, _, data = client.request("PROPFIND", book_path(dave), dave, body=ask, headers={"Depth": "0"})
    assert b"#00AA00" in data


def test_sync_is_incremental_and_etags_move_only_on_change(dav: tuple[Stack, DavHttp]) -> None:
    stack, client = dav
    adam = "adam@example.test"
    book = book_path(adam)
    status, _, data = client.request("REPORT", book, adam, body=sync_body())
    first, token = parse_multistatus(data)
    assert status == 207 and token and len(first) == 7
    # nothing changed: same token, nothing reported; unrelated writes change nothing either
    stack.cli("org", "add", "unrelated", check=True)
    status, _, data = client.request("REPORT", book, adam, body=sync_body(token))
    again, token2 = parse_multistatus(data)
    assert again == {} and token2 == token
    # a password change is not member data
    stack.cli(
        "account",
        "set",
        "dave@example.test",
        "--password-stdin",
        stdin="new-dave-pw-2026\n",
        check=True,
    )
    PASSWORDS["dave@example.test"] = "new-dave-pw-2026"
    assert parse_multistatus(client.request("REPORT", book, adam, body=sync_body(token))[2]) == (
        {},
        token,
    )
    # bob changes his own entry by changing his account
    stack.cli("account", "set", "bob@example.test", "--phone", "+41 79 999 99 99", check=True)
    status, _, data = client.request("REPORT", book, adam, body=sync_body(token))
    changed, token3 = parse_multistatus(data)
    assert token3 != token and len(changed) == 1
    ((href, entry),) = changed.items()
    assert "TEL;TYPE=WORK,VOICE:+41 79 999 99 99" in entry["data"]
    assert entry["etag"] != first[href]["etag"]
    # the other ETags did not move (PROPFIND Depth 1 listing)
    status, _, data = client.request(
        "PROPFIND", book, adam, body=propfind("<D:getetag/>"), headers={"Depth": "1"}
    )
    listing, _ = parse_multistatus(data)
    for other, e in first.items():
        if other != href:
            assert listing[other]["etag"] == e["etag"]
    # a collaborator's view follows too; a removed team shows up as a 404
    stack.cli("org", "team", "remove", "Board", "--org", "acme", check=True)
    status, _, data = client.request("REPORT", book, adam, body=sync_body(token3))
    gone, _ = parse_multistatus(data)
    assert [e["status"] for e in gone.values()] == [404]
    # an unknown or foreign token means: resync fully
    status, _, data = client.request("REPORT", book, adam, body=sync_body("http://x/1"))
    assert status == 403 and b"valid-sync-token" in data


def test_addressbook_query_and_multiget(dav: tuple[Stack, DavHttp]) -> None:
    _, client = dav
    dave = "dave@example.test"
    book = book_path(dave)
    query = (
        f'<?xml version="1.0"?><CR:addressbook-query xmlns:D="DAV:" xmlns:CR="{NS["CR"]}">'
        "<D:prop><D:getetag/><CR:address-data/></D:prop>"
        '<CR:filter><CR:prop-filter name="FN"><CR:text-match collation="i;unicode-casemap" '
        'match-type="contains">alice</CR:text-match></CR:prop-filter></CR:filter>'
        "</CR:addressbook-query>"
    )
    status, _, data = client.request("REPORT", book, dave, body=query, headers={"Depth": "1"})
    found, _ = parse_multistatus(data)
    assert status == 207 and len(found) == 1
    ((href, entry),) = found.items()
    assert "FN:Alice Martin" in entry["data"]
    multiget = (
        f'<?xml version="1.0"?><CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="{NS["CR"]}">'
        f"<D:prop><D:getetag/><CR:address-data/></D:prop><D:href>{href}</D:href>"
        f"<D:href>{book}nope.vcf</D:href></CR:addressbook-multiget>"
    )
    status, _, data = client.request("REPORT", book, dave, body=multiget, headers={"Depth": "1"})
    got, _ = parse_multistatus(data)
    assert got[href]["etag"] == entry["etag"] and "FN:Alice Martin" in got[href]["data"]
    assert got[book + "nope.vcf"]["status"] == 404


# -- bad input ----------------------------------------------------------------------------------


def test_xml_bombs_are_refused(dav: tuple[Stack, DavHttp]) -> None:
    _, client = dav
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        '<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&lol3;</D:displayname></D:prop></D:propfind>'
    )
    external = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&xxe;</D:displayname></D:prop></D:propfind>'
    )
    for body in (bomb, external):
        for method, path in (
            ("PROPFIND", home("bob@example.test")),
            ("REPORT", book_path("bob@example.test")),
            ("PROPPATCH", book_path("bob@example.test")),
        ):
            status, _, data = client.request(method, path, "bob@example.test", body=body)
            assert status == 400, (method, status)
            assert b"root:" not in data


def test_oversized_bodies_are_refused(dav: tuple[Stack, DavHttp]) -> None:
    _, client = dav
    bob = "bob@example.test"
    big = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big\r\nFN:Big\r\nNOTE:"
        + "x" * (11 * 1024 * 1024)
        + "\r\nEND:VCARD\r\n"
    )
    status, _, _ = client.request(
        "PUT", home(bob) + "contacts/big.vcf", bob, body=big, headers={"Content-Type": "text/vcard"}
    )
    assert status == 413
    status, _, _ = client.request("GET", home(bob) + "contacts/big.vcf", bob)
    assert status == 404


def test_ios_and_thunderbird_style_discovery(dav: tuple[Stack, DavHttp]) -> None:
    """iOS: PROPFIND on the well-known URL, follow the redirect; Thunderbird: the root of the
    DAV tree with Depth 1, then the home set listing with getctag/sync-token."""
    _, client = dav
    login = "dave@example.test"
    status, headers, _ = client.request(
        "PROPFIND", "/.well-known/carddav", login, body=propfind("<D:current-user-principal/>")
    )
    assert status == 301
    status, _, data = client.request(
        "PROPFIND",
        headers["location"],
        login,
        body=propfind("<D:current-user-principal/><D:principal-URL/>"),
        headers={"Depth": "1"},
    )
    assert status == 207
    found, _ = parse_multistatus(data)
    assert set(found) <= {"/dav/", home(login)}  # no other principal is listed
    body = propfind(
        '<D:resourcetype/><D:displayname/><CS:getctag xmlns:CS="http://calendarserver.org/ns/"/>'
        "<D:sync-token/><D:current-user-privilege-set/>"
    )
    status, _, data = client.request(
        "PROPFIND", home(login), login, body=body, headers={"Depth": "1"}
    )
    found, _ = parse_multistatus(data)
    directory = found[book_path(login)]["props"]
    assert directory["{DAV:}resourcetype"].find("CR:addressbook", NS) is not None
    assert "{http://calendarserver.org/ns/}getctag" in directory
    assert directory["{DAV:}sync-token"].text.startswith("http://swissbox.invalid/")
    privileges = {p[0].tag for p in directory["{DAV:}current-user-privilege-set"]}
    assert "{DAV:}read" in privileges
    assert "{DAV:}write-content" not in privileges  # clients show it as read-only
    assert "{DAV:}write-properties" in privileges  # its colour may change
    contacts = found[home(login) + "contacts/"]["props"]
    mine = {p[0].tag for p in contacts["{DAV:}current-user-privilege-set"]}
    assert "{DAV:}write-content" in mine


def test_concurrent_syncs_during_edits_stay_consistent(dav: tuple[Stack, DavHttp]) -> None:
    """Radicale's worker threads share the directory state: syncs racing with edits never
    fail, and once the edits stop every member converges to the same cards."""
    stack, client = dav
    viewers = ["alice@example.test", "adam@example.test", "bob@example.test", "dave@example.test"]
    errors: list[str] = []
    tokens = {login: "" for login in viewers}
    stop = threading.Event()

    def syncer(login: str) -> None:
        while not stop.is_set():
            status, _, data = client.request(
                "REPORT", book_path(login), login, body=sync_body(tokens[login])
            )
            if status != 207:
                errors.append(f"{login}: {status} {data[:200]!r}")
                return
            tokens[login] = parse_multistatus(data)[1] or ""

    threads = [threading.Thread(target=syncer, args=(v,)) for v in viewers for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for phone in ("+41 1", "+41 2", "+41 3"):
            stack.cli("account", "set", "carol@example.test", "--phone", phone, check=True)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert errors == []
    for login in viewers:
        assert "TEL;TYPE=WORK,VOICE:+41 3" in directory_cards(client, login)["Carol Quiet"]
