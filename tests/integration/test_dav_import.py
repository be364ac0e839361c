"""`swissbox dav import`: a .ics with many events and to-dos becomes one resource per UID, a
.vcf with many cards one per card, idempotent by UID; read back with the `caldav` library
(CalDAV) and with CardDAV multiget REPORTs, while the server runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import caldav

from tests.integration.test_dav_service import DavHttp, home, parse_multistatus
from tests.support.stack import Stack

ALICE, ALICE_PW = "alice@example.test", "alice-account-pw-1"
BOB, BOB_PW = "bob@example.test", "bob-mailbox-pw"

ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Other Provider//EN\r
BEGIN:VTIMEZONE\r
TZID:Europe/Zurich\r
BEGIN:STANDARD\r
DTSTART:19701025T030000\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:19700329T020000\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
END:DAYLIGHT\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:weekly@other.test\r
DTSTAMP:20260101T000000Z\r
DTSTART;TZID=Europe/Zurich:20260302T090000\r
DURATION:PT1H\r
RRULE:FREQ=WEEKLY;COUNT=4\r
SUMMARY:Weekly\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:weekly@other.test\r
RECURRENCE-ID;TZID=Europe/Zurich:20260309T090000\r
DTSTAMP:20260101T000000Z\r
DTSTART;TZID=Europe/Zurich:20260309T110000\r
DURATION:PT1H\r
SUMMARY:Weekly (moved)\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:dentist@other.test\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260312T140000Z\r
DURATION:PT30M\r
SUMMARY:Dentist\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260320T080000Z\r
DURATION:PT1H\r
SUMMARY:No UID at all\r
END:VEVENT\r
BEGIN:VTODO\r
UID:todo-1@other.test\r
DTSTAMP:20260101T000000Z\r
SUMMARY:Pay the bill\r
END:VTODO\r
END:VCALENDAR\r
"""

VCF = """BEGIN:VCARD\r
VERSION:3.0\r
UID:card-1@other.test\r
FN:Zoë Example\r
N:Example;Zoë;;;\r
EMAIL:zoe@other.test\r
END:VCARD\r
BEGIN:VCARD\r
VERSION:3.0\r
UID:card-2@other.test\r
FN:Max Muster\r
N:Muster;Max;;;\r
NOTE:a long note that is folded over two lines because it is longer than seventy-five\r
  octets\r
END:VCARD\r
BEGIN:VCARD\r
VERSION:4.0\r
FN:Card Without UID\r
END:VCARD\r
"""

MULTIGET = (
    '<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:"'
    ' xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/>'
    "</D:prop></C:addressbook-query>"
)


def test_dav_import_and_read_back(tmp_path: Path) -> None:
    ics, vcf = tmp_path / "calendar.ics", tmp_path / "contacts.vcf"
    ics.write_text(ICS)
    vcf.write_text(VCF)
    with Stack(tmp_path) as stack:
        stack.provision(mailboxes={BOB: BOB_PW}, accounts={ALICE: ALICE_PW})
        stack.start()
        done = stack.cli("dav", "import", ALICE, str(ics), str(vcf), "--json")
        assert done.returncode == 0, done.stderr
        rows = {Path(r["file"]).name: r for r in json.loads(done.stdout)}
        assert rows["calendar.ics"]["added"] == 4  # weekly (+ its moved occurrence), 2, 1 to-do
        assert rows["calendar.ics"]["collection"] == f"{ALICE}/calendar"
        assert rows["contacts.vcf"]["added"] == 3
        again = stack.cli("dav", "import", ALICE, str(ics), str(vcf))
        assert again.returncode == 0, again.stderr
        assert "calendar.ics: 0 new, 0 updated, 4 unchanged" in again.stdout
        assert "contacts.vcf: 0 new, 0 updated, 3 unchanged" in again.stdout
        changed = vcf.read_text().replace("zoe@other.test", "zoe@new.test")
        vcf.write_text(changed)
        third = stack.cli("dav", "import", ALICE, str(vcf), "--collection", "old-provider")
        assert "3 new" in third.stdout and f"{ALICE}/old-provider" in third.stdout
        fourth = stack.cli("dav", "import", ALICE, str(vcf))
        assert "contacts.vcf: 0 new, 1 updated, 2 unchanged" in fourth.stdout

        url = f"http://127.0.0.1:{stack.ports['http']}/dav/"
        with caldav.DAVClient(url, username=ALICE, password=ALICE_PW) as client:
            cal = next(c for c in client.principal().calendars() if c.get_display_name())
            events = cal.events()
            uids = sorted(str(e.icalendar_component["uid"]) for e in events)
            assert len(uids) == 3 and "dentist@other.test" in uids and "weekly@other.test" in uids
            weekly = cal.event_by_uid("weekly@other.test").icalendar_instance
            assert len(weekly.walk("VEVENT")) == 2 and weekly.walk("VTIMEZONE")
            march = cal.search(
                start=datetime(2026, 3, 9, tzinfo=UTC),
                end=datetime(2026, 3, 10, tzinfo=UTC),
                event=True,
                expand=True,
            )
            starts = [e.icalendar_component["dtstart"].dt for e in march]
            assert [s.astimezone(UTC).hour for s in starts] == [10]  # 11:00 Zurich, the override
            todos = cal.todos()
            assert [str(t.icalendar_component["summary"]) for t in todos] == ["Pay the bill"]

        http = DavHttp(stack.ports["http"])
        status, _, data = http.request(
            "REPORT", f"{home(ALICE)}contacts/", ALICE, ALICE_PW, MULTIGET, {"Depth": "1"}
        )
        assert status == 207, data
        found, _ = parse_multistatus(data)
        cards = [entry["data"] or "" for entry in found.values()]
        assert len(cards) == 3
        text = "\n".join(cards)
        assert "FN:Zoë Example" in text and "zoe@new.test" in text
        unfolded = re.sub(r"\r?\n[ \t]", "", text)  # XML turned CRLF into LF
        assert (
            "NOTE:a long note that is folded over two lines because it is longer than seventy-five octets"
            in unfolded
        )

        # Four imports at once into one new collection: Radicale's lock makes one of them
        # add the items and the others find them there.
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "swissbox.cli", "dav", "import", ALICE, str(ics),
                 "--collection", "parallel", "--json", "--data", str(stack.data)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=stack.env(),
            )
            for _ in range(4)
        ]  # fmt: skip
        outputs = [run.communicate(timeout=60) for run in runs]
        assert all(run.returncode == 0 for run in runs), outputs
        added = [json.loads(out)[0]["added"] for out, _err in outputs]
        assert sorted(added) == [0, 0, 0, 4]

        bad = tmp_path / "bad.ics"
        bad.write_text("BEGIN:VCALENDAR\r\nthis is not\r\n")
        for args, says in [
            ((ALICE, str(bad)), "bad.ics"),
            (("nobody@example.test", str(vcf)), "no account"),
            ((BOB, str(vcf)), "no account"),  # a mailbox no account owns
            ((ALICE, str(vcf), "--collection", "calendar"), "not an address book"),
            ((ALICE, str(vcf), "--collection", "../x"), "not a name"),
            ((ALICE, str(vcf), "--collection", "directory-1"), "not a name"),
        ]:
            refused = stack.cli("dav", "import", *args)
            assert refused.returncode == 1 and says in refused.stderr, (args, refused.stderr)
            assert "Traceback" not in refused.stderr
        stack.stop()
