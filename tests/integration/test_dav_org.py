"""Organization management through the CLI while the server runs: members, roles (with the
summary mail), teams, private entries, and irreversible removal with transfer or deletion."""

from __future__ import annotations

import email
import email.policy
import imaplib
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_dav_service import (
    MAILBOX_PW,
    PASSWORDS,
    DavHttp,
    book_path,
    directory_cards,
    home,
    parse_multistatus,
    propfind,
    running_stack,
    sync_body,
)
from tests.support.stack import Stack

EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:ev-1\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART:20260301T090000Z\r\nDTEND:20260301T100000Z\r\n"
    "SUMMARY:Bob's planning\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, DavHttp]]:
    with running_stack(tmp_path_factory.mktemp("org")) as stack:
        yield stack, DavHttp(stack.ports["http"])


def imap_subjects(stack: Stack, address: str, password: str) -> list[str]:
    context = ssl.create_default_context(cafile=str(stack.ca_file))
    imap = imaplib.IMAP4_SSL("localhost", stack.ports["imaps"], ssl_context=context, timeout=20)
    try:
        imap.login(address, password)
        _, data = imap.select("INBOX", readonly=True)
        count = int(data[0] or 0)
        if not count:
            return []
        _, fetched = imap.fetch(f"1:{count}", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        headers = [part[1] for part in fetched if isinstance(part, tuple)]
        return [
            str(email.message_from_bytes(h, policy=email.policy.default)["Subject"])
            for h in headers
        ]
    finally:
        imap.logout()


def mails(stack: Stack, address: str) -> list[email.message.EmailMessage]:
    local, domain = address.split("@")
    box = stack.data / "mail" / domain / local
    files = sorted((box / "new").glob("*")) + sorted((box / "cur").glob("*"))
    return [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for f in files
    ]


def test_member_add_new_and_existing_accounts(org: tuple[Stack, DavHttp]) -> None:
    stack, client = org
    out = stack.cli(
        "org",
        "member",
        "add",
        "frank@example.test",
        "--org",
        "acme",
        "--role",
        "collaborator",
        "--name",
        "Frank Fresh",
        "--phone",
        "+41 1",
        "--password-stdin",
        stdin="frank-pw-2026\n",
        check=True,
    )
    assert "member of acme as collaborator" in out.stdout
    PASSWORDS["frank@example.test"] = "frank-pw-2026"
    assert "Frank Fresh" in directory_cards(client, "frank@example.test")
    stack.cli("org", "add", "other", check=True)
    stack.cli(
        "org",
        "member",
        "add",
        "frank@example.test",
        "--org",
        "other",
        "--role",
        "legal",
        check=True,
    )
    # two organizations: two directories, --org becomes necessary
    status, _, data = client.request(
        "PROPFIND",
        home("frank@example.test"),
        "frank@example.test",
        body=propfind("<D:displayname/>"),
        headers={"Depth": "1"},
    )
    assert b"Directory of acme" in data and b"Directory of other" in data
    bad = stack.cli("org", "private", "frank@example.test", "on")
    assert bad.returncode == 1 and "--org" in bad.stderr
    listing = stack.cli("org", "member", "list", "--org", "acme", "--json", check=True).stdout
    assert '"frank@example.test"' in listing


def test_role_change_mails_the_member(org: tuple[Stack, DavHttp]) -> None:
    stack, client = org
    before = len(mails(stack, "alice@example.test"))
    stack.cli(
        "org",
        "member",
        "add",
        "zoe@example.test",
        "--org",
        "acme",
        "--role",
        "legal",
        "--password-stdin",
        stdin="zoe-pw-2026-x\n",
        check=True,
    )
    out = stack.cli("org", "member", "set-role", "alice@example.test", "admin", check=True)
    assert "delivered to the mailbox alice@example.test" in out.stdout
    got = mails(stack, "alice@example.test")
    assert len(got) == before + 1
    msg = got[-1]
    assert msg["Subject"] == "Your role in acme: administrator"
    assert "from legal representative to administrator" in msg.get_content()
    # and IMAP (served by the running server) shows it in alice's INBOX
    assert imap_subjects(stack, "alice@example.test", MAILBOX_PW)[-1] == msg["Subject"]
    # no mailbox here: queued for the outbound queue
    out = stack.cli("org", "member", "set-role", "dave@example.test", "admin", check=True)
    assert "queued for dave@example.test" in out.stdout
    queued = [
        json.loads(p.read_bytes().partition(b"\n")[0]) for p in (stack.data / "queue").glob("*.msg")
    ]
    assert [(q["from"], q["to"]) for q in queued] == [("", ["dave@example.test"])]
    # the new admin now sees the full view (private entries included)
    stack.cli("org", "private", "carol@example.test", "on", check=True)
    try:
        assert "Carol Quiet" in directory_cards(client, "dave@example.test")
        assert "Carol Quiet" not in directory_cards(client, "bob@example.test")
    finally:
        stack.cli("org", "private", "carol@example.test", "off", check=True)
    # the last legal representative stays
    stack.cli("org", "member", "set-role", "alice@example.test", "legal", check=True)
    stack.cli("org", "member", "set-role", "zoe@example.test", "collaborator", check=True)
    refused = stack.cli("org", "member", "set-role", "alice@example.test", "external")
    assert refused.returncode == 1 and "only legal representative" in refused.stderr


def test_becoming_external_leaves_the_directory(org: tuple[Stack, DavHttp]) -> None:
    stack, client = org
    stack.cli("org", "member", "set-role", "carol@example.test", "external", check=True)
    try:
        assert "Carol Quiet" not in directory_cards(client, "bob@example.test")
        status, _, _ = client.request(
            "REPORT", book_path("carol@example.test"), "carol@example.test", body=sync_body()
        )
        assert status in (403, 404)
    finally:
        stack.cli("org", "member", "set-role", "carol@example.test", "collaborator", check=True)
    assert "Carol Quiet" in directory_cards(client, "bob@example.test")


def test_teams_feed_group_cards(org: tuple[Stack, DavHttp]) -> None:
    stack, client = org
    stack.cli("org", "team", "add", "Ops", "--org", "acme", check=True)
    stack.cli("org", "team", "add-member", "Ops", "dave@example.test", check=True)
    ops = directory_cards(client, "bob@example.test")["Ops"]
    assert ops.count("\nMEMBER:") == 1
    stack.cli("org", "team", "remove-member", "Ops", "dave@example.test", check=True)
    assert "\nMEMBER:" not in directory_cards(client, "bob@example.test")["Ops"]
    listing = stack.cli("org", "team", "list", "--org", "acme", check=True).stdout
    assert "Ops" in listing and "Sales" in listing
    assert stack.cli("org", "team", "add-member", "Ops", "nobody@example.test").returncode == 1


def test_removal_needs_confirmation_and_a_data_decision(org: tuple[Stack, DavHttp]) -> None:
    stack, _ = org
    login = "bob@example.test"
    for args, says in (
        ([], "--confirm"),
        (["--delete-data", "--confirm", "alice@example.test"], "--confirm bob@example.test"),
        (["--confirm", login], "--transfer-to LOGIN or --delete-data"),
        (["--transfer-to", "eve@nowhere.test", "--confirm", login], "no account"),
        (["--transfer-to", login, "--confirm", login], "another member"),
    ):
        result = stack.cli("org", "member", "remove", login, *args)
        assert result.returncode == 1 and says in result.stderr, (args, result.stderr)
    both = stack.cli("org", "member", "remove", login, "--delete-data", "--transfer-to", "x@y.z")
    assert both.returncode == 2  # argparse: mutually exclusive
    assert stack.cli("account", "list", check=True).stdout.count(login) == 1


def test_removal_with_transfer(org: tuple[Stack, DavHttp]) -> None:
    stack, client = org
    bob, alice = "bob@example.test", "alice@example.test"
    client.request("PROPFIND", home(bob), bob, body=propfind("<D:resourcetype/>"))
    status, _, _ = client.request(
        "PUT",
        home(bob) + "calendar/ev-1.ics",
        bob,
        body=EVENT,
        headers={"Content-Type": "text/calendar"},
    )
    assert status == 201
    stack.cli("mailbox", "grant", "alice@example.test", bob, check=True)
    _, _, data = client.request("REPORT", book_path(alice), alice, body=sync_body())
    _, token = parse_multistatus(data)
    out = stack.cli(
        "org", "member", "remove", bob, "--transfer-to", alice, "--confirm", bob, check=True
    ).stdout
    assert "handed to alice@example.test" in out
    # bob is gone: login, directory entry, team places, mailbox grant, data folder
    status, _, _ = client.request("PROPFIND", home(bob), bob, body=propfind("<D:resourcetype/>"))
    assert status == 401
    _, _, data = client.request("REPORT", book_path(alice), alice, body=sync_body(token))
    changed, _ = parse_multistatus(data)
    statuses = sorted(e["status"] for e in changed.values())
    assert statuses == [200, 404]  # bob's card gone; Sales lost a member
    cards = directory_cards(client, alice)
    assert "Bob Builder" not in cards and cards["Sales"].count("\nMEMBER:") == 2
    assert not (stack.data / "dav" / "collection-root" / bob).exists()
    listing = stack.cli("account", "list", "--json", check=True).stdout
    assert bob not in listing
    # alice now has bob's calendar with the event
    status, _, data = client.request(
        "PROPFIND", home(alice), alice, body=propfind("<D:displayname/>"), headers={"Depth": "1"}
    )
    assert b"Calendar (from bob@example.test)" in data
    found, _ = parse_multistatus(data)
    moved = next(h for h, e in found.items() if b"from bob" in _text(e))
    status, _, event = client.request("GET", moved + "ev-1.ics", alice)
    assert status == 200 and b"Bob's planning" in event
    collections = stack.cli("account", "collections", alice, check=True).stdout
    assert "calendar-from-bob" in collections


def _text(entry: dict) -> bytes:
    element = entry["props"].get("{DAV:}displayname")
    return (element.text or "").encode() if element is not None else b""


def test_removal_with_deletion(org: tuple[Stack, DavHttp]) -> None:
    stack, client = org
    dave = "dave@example.test"
    client.request("PROPFIND", home(dave), dave, body=propfind("<D:resourcetype/>"))
    folder = stack.data / "dav" / "collection-root" / dave
    assert folder.is_dir()
    out = stack.cli("org", "member", "remove", dave, "--delete-data", "--confirm", dave, check=True)
    assert "deleted with its 2 calendars and address books" in out.stdout
    assert not folder.exists()
    assert "Dave Doe" not in directory_cards(client, "alice@example.test")
    status, _, _ = client.request("PROPFIND", home(dave), dave, body=propfind("<D:resourcetype/>"))
    assert status == 401


def test_member_of_two_orgs_keeps_account_and_data(
    org: tuple[Stack, DavHttp], tmp_path: Path
) -> None:
    stack, client = org
    frank = "frank@example.test"
    out = stack.cli(
        "org",
        "member",
        "remove",
        frank,
        "--org",
        "acme",
        "--delete-data",
        "--confirm",
        frank,
        check=True,
    ).stdout
    assert "the account stays (member of other)" in out
    status, _, data = client.request(
        "PROPFIND", home(frank), frank, body=propfind("<D:displayname/>"), headers={"Depth": "1"}
    )
    assert status == 207 and b"Directory of other" in data and b"Directory of acme" not in data
    assert b"Calendar" in data
