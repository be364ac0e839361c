"""vdirsyncer (the Debian package) syncing a calendar, an address book and the organization
directory; local edits to directory cards are refused by the server, vdirsyncer says so, and
nothing is corrupted on either side."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.integration.test_dav_service import (
    PASSWORDS,
    DavHttp,
    book_path,
    directory_cards,
    home,
    running_stack,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.tools
LOGIN = "bob@example.test"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("vdirsyncer")) as s:
        yield s


def write_config(tmp: Path, port: int) -> Path:
    base = f"http://127.0.0.1:{port}{home(LOGIN)}"
    pairs = {
        "calendar": ("caldav", "calendar/", ".ics"),
        "contacts": ("carddav", "contacts/", ".vcf"),
    }
    pairs["directory"] = ("carddav", "directory-1/", ".vcf")
    lines = ["[general]", f'status_path = "{tmp / "status"}/"', ""]
    for name, (kind, coll, ext) in pairs.items():
        (tmp / "local" / name).mkdir(parents=True, exist_ok=True)
        lines += [
            f"[pair {name}]",
            f'a = "{name}_local"',
            f'b = "{name}_remote"',
            "collections = null",
            "",
            f"[storage {name}_local]",
            'type = "filesystem"',
            f'path = "{tmp / "local" / name}/"',
            f'fileext = "{ext}"',
            "",
            f"[storage {name}_remote]",
            f'type = "{kind}"',
            f'url = "{base}{coll}"',
            f'username = "{LOGIN}"',
            f'password = "{PASSWORDS[LOGIN]}"',
            "",
        ]
    path = tmp / "config"
    path.write_text("\n".join(lines))
    return path


def vdirsyncer(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, VDIRSYNCER_CONFIG=str(config), HOME=str(config.parent))
    return subprocess.run(
        [require_tool("vdirsyncer"), *args],
        input="y\n" * 10,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_vdirsyncer_calendar_contacts_and_directory(stack: Stack, tmp_path: Path) -> None:
    require_tool("vdirsyncer")
    client = DavHttp(stack.ports["http"])
    config = write_config(tmp_path, stack.ports["http"])
    found = vdirsyncer(config, "discover")
    assert found.returncode == 0, found.stderr
    first = vdirsyncer(config, "sync")
    assert first.returncode == 0, first.stderr
    local = tmp_path / "local"
    directory = sorted((local / "directory").glob("*.vcf"))
    assert len(directory) == 7  # 5 internal members + 2 teams
    # push a local event and a local contact to the server
    (local / "calendar" / "lunch.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:lunch\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20260601T120000Z\r\nDURATION:PT1H\r\n"
        "SUMMARY:Lunch\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (local / "contacts" / "friend.vcf").write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:friend\r\nFN:A Friend\r\nN:Friend;A;;;\r\nEND:VCARD\r\n"
    )
    pushed = vdirsyncer(config, "sync")
    assert pushed.returncode == 0, pushed.stderr
    status, _, data = client.request("GET", home(LOGIN) + "calendar/lunch.ics", LOGIN)
    assert status == 200 and b"SUMMARY:Lunch" in data
    status, _, data = client.request("GET", home(LOGIN) + "contacts/friend.vcf", LOGIN)
    assert status == 200 and b"FN:A Friend" in data
    # a server-side change arrives
    stack.cli("account", "set", "alice@example.test", "--phone", "+41 22 222 22 22", check=True)
    pulled = vdirsyncer(config, "sync")
    assert pulled.returncode == 0, pulled.stderr
    texts = [p.read_text() for p in sorted((local / "directory").glob("*.vcf"))]
    assert any("+41 22 222 22 22" in t for t in texts)
    # local edits of directory cards are refused by the server and reported
    before = directory_cards(client, LOGIN)
    victim = next(
        p for p in sorted((local / "directory").glob("*.vcf")) if "Alice" in p.read_text()
    )
    victim.write_text(victim.read_text().replace("Alice Martin", "Mallory"))
    (local / "directory" / "forged.vcf").write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:forged\r\nFN:Forged\r\nN:Forged;;;;\r\nEND:VCARD\r\n"
    )
    refused = vdirsyncer(config, "sync")
    assert refused.returncode != 0
    assert "403" in refused.stderr or "Forbidden" in refused.stderr
    assert directory_cards(client, LOGIN) == before
    status, _, _ = client.request("GET", book_path(LOGIN) + "forged.vcf", LOGIN)
    assert status == 404
    # nothing corrupted: the server kept its cards; dropping the local copy (folder and
    # vdirsyncer's status for that pair) and syncing again gives the exact directory back
    shutil.rmtree(local / "directory")
    for status_file in (tmp_path / "status").glob("directory*"):
        if status_file.is_dir():
            shutil.rmtree(status_file)
        else:
            status_file.unlink()
    (local / "directory").mkdir()
    assert vdirsyncer(config, "discover", "directory").returncode == 0
    healed = vdirsyncer(config, "sync", "directory")
    assert healed.returncode == 0, healed.stderr
    texts = [p.read_text() for p in sorted((local / "directory").glob("*.vcf"))]
    assert len(texts) == 7 and not any("Mallory" in t or "Forged" in t for t in texts)
    assert directory_cards(client, LOGIN) == before
    again = vdirsyncer(config, "sync")
    assert again.returncode == 0, again.stderr
