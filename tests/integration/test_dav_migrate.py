"""`swissbox migrate --to postgresql://...` carries the members' calendars and address books
(files under `<data>/dav`) into PostgreSQL with counts and a checksum, idempotent; served
from there with the same hrefs and etags; and back to the files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tests.clients.test_dav_caldav import event
from tests.integration.test_dav_service import NS, DavHttp, home, propfind
from tests.support.stack import Stack

ALICE, ALICE_PW = "alice@example.test", "alice-account-pw-1"
CARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:zoe\r\nFN:Zoë Example\r\nN:Example;Zoë;;;\r\nEND:VCARD\r\n"
)
MKCALENDAR = (
    '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:set><D:prop><D:displayname>Projects</D:displayname></D:prop></D:set></C:mkcalendar>"
)


def report(result: Any) -> dict[str, tuple[int, str]]:
    return {t["table"]: (t["rows"], t["sha256"]) for t in json.loads(result.stdout)}


def tree(http: DavHttp) -> dict[str, str]:
    """{href: etag} of every resource of alice's collections (PROPFIND depth 1 of each)."""
    out: dict[str, str] = {}
    for coll in ("calendar/", "contacts/", "projects/"):
        status, _, data = http.request("PROPFIND", home(ALICE) + coll, ALICE, ALICE_PW,
                                       propfind("<D:getetag/>"), {"Depth": "1"})  # fmt: skip
        assert status == 207, data
        for resp in ET.fromstring(data).findall("D:response", NS):
            etag = resp.findtext("D:propstat/D:prop/D:getetag", namespaces=NS)
            href = resp.findtext("D:href", namespaces=NS) or ""
            if etag and not href.endswith("/"):
                out[href] = etag
    return out


def put(http: DavHttp, path: str, body: str, kind: str = "text/calendar") -> None:
    status, _, data = http.request("PUT", path, ALICE, ALICE_PW, body, {"Content-Type": kind})
    assert status == 201, data


def test_collections_migrate_to_postgresql_and_back(tmp_path: Path, postgres: Any) -> None:
    url = postgres.new_database()
    with Stack(tmp_path / "box") as stack:
        stack.provision(accounts={ALICE: ALICE_PW})
        stack.start()
        http = DavHttp(stack.ports["http"])
        put(http, home(ALICE) + "calendar/standup.ics", event("standup", "20260310T090000Z", "S"))
        put(http, home(ALICE) + "calendar/odd-name.ics", event("review", "20260311T090000Z", "R"))
        put(http, home(ALICE) + "contacts/zoe.vcf", CARD, "text/vcard")
        status, _, _ = http.request("MKCALENDAR", home(ALICE) + "projects/", ALICE, ALICE_PW,
                                    MKCALENDAR)  # fmt: skip
        assert status == 201
        put(http, home(ALICE) + "projects/kickoff.ics", event("kickoff", "20260501T080000Z", "K"))
        on_files = tree(http)
        stack.stop()

        first = report(stack.cli("migrate", "--to", url, "--json", check=True))
        # alice's principal, calendar, contacts and projects; four resources
        assert first["dav: collections"][0] == 4 and first["dav: items"][0] == 4
        assert report(stack.cli("migrate", "--to", url, "--json", check=True)) == first

        stack.settings["store"] = {"url": url}
        stack.write_config()
        stack.start()
        assert tree(http) == on_files  # same hrefs, same etags
        put(http, home(ALICE) + "projects/retro.ics", event("retro", "20260601T080000Z", "Retro"))
        on_postgres = tree(http)
        stack.stop()

        back = report(stack.cli("migrate", "--to", str(tmp_path / "back.sqlite"), "--json",
                                check=True))  # fmt: skip
        assert back["dav: items"][0] == 5 and back["dav: collections"][0] == 4
        del stack.settings["store"]
        stack.write_config()
        stack.start()
        assert tree(http) == on_postgres
        assert (stack.data / "dav" / "collection-root" / ALICE / "projects" / "retro.ics").is_file()
        stack.stop()
