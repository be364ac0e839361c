"""`swissbox backup` while mail pours in and flags change, `swissbox restore` into a new
folder, `swissbox serve` on it: what was acknowledged before the backup began is there with
its UIDs, UIDVALIDITY and flags; directory, zones (same serials) and DAV data are equal."""

from __future__ import annotations

import http.client
import imaplib
import itertools
import json
import re
import shutil
import smtplib
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import caldav
import dns.message
import dns.query
import pytest

from swissbox.mailstore import MailStore
from tests.support.polling import eventually
from tests.support.stack import Stack

DOMAIN = "example.test"
BOXES = {f"{name}@{DOMAIN}": f"{name}-Mailbox-pw-1" for name in ("ada", "ben", "cy")}
FLAGGED = ["ada@example.test", "ben@example.test"]  # IMAP clients change flags here
ALICE, ALICE_PW = "alice@example.test", "alice-account-pw-1"
SENDERS = 4
EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//swissbox test//EN\r\nBEGIN:VEVENT\r\n"
    "UID:backup-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260310T090000Z\r\n"
    "DURATION:PT1H\r\nSUMMARY:Kept across a restore\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-1\r\nFN:Zoe Backup\r\nEND:VCARD\r\n"
CARD_PATH = f"/dav/{ALICE}/contacts/card-1.vcf"


def imap_login(stack: Stack, address: str) -> imaplib.IMAP4_SSL:
    tls = ssl.create_default_context(cafile=str(stack.ca_file))
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls, timeout=20)
    m.login(address, BOXES[address])
    return m


def message(msgid: str, to: str) -> bytes:
    return (
        f"From: far@away.example\r\nTo: {to}\r\nSubject: {msgid}\r\n"
        f"Message-ID: <{msgid}@away.example>\r\n\r\nbody of {msgid}\r\n"
    ).encode()


@dataclass
class Traffic:
    """SMTP senders and IMAP flag changers running against one stack; what each completed."""

    stack: Stack
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: list[str] = field(default_factory=list)  # Message-IDs, after their 250
    stored: list[tuple[str, int, str]] = field(default_factory=list)  # (box, uid, flag) after OK
    errors: list[BaseException] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def _run(self, body: Callable[[], None]) -> None:
        try:
            body()
        except BaseException as exc:  # reported by finish()
            self.errors.append(exc)

    def sender(self, n: int) -> None:
        boxes = itertools.cycle(BOXES)
        with smtplib.SMTP("127.0.0.1", self.stack.ports["smtp_mx"], timeout=20) as mx:
            for i in itertools.count():
                if self.stop.is_set():
                    return
                msgid, to = f"s{n}-{i}", next(boxes)
                mx.sendmail("far@away.example", [to], message(msgid, to))
                with self.lock:
                    self.acked.append(msgid)

    def flagger(self, address: str, uids: list[int]) -> None:
        m = imap_login(self.stack, address)
        m.select("INBOX")
        system = itertools.cycle(["\\Seen", "\\Flagged", "\\Answered"])
        for i in itertools.count():
            if self.stop.is_set():
                break
            uid = uids[i % len(uids)]
            flag = f"$k{i}" if i % 3 else next(system)  # keywords, and renames to cur/:2,XY
            typ, _ = m.uid("STORE", str(uid), "+FLAGS.SILENT", f"({flag})")
            assert typ == "OK"
            with self.lock:
                self.stored.append((address, uid, flag))
        m.logout()

    def start(self, uids: dict[str, list[int]]) -> None:
        bodies: list[Callable[[], None]] = [lambda n=n: self.sender(n) for n in range(SENDERS)]
        bodies += [lambda a=a: self.flagger(a, uids[a]) for a in FLAGGED]
        for body in bodies:
            t = threading.Thread(target=self._run, args=(body,), daemon=True)
            t.start()
            self.threads.append(t)

    def counts(self) -> tuple[int, int]:
        with self.lock:
            return len(self.acked), len(self.stored)

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)
        assert not self.errors, self.errors


def mailbox_state(stack: Stack, address: str) -> tuple[int, dict[str, tuple[int, set[str]]]]:
    """(UIDVALIDITY of INBOX, {Message-ID: (UID, flags)})."""
    m = imap_login(stack, address)
    typ, _ = m.select("INBOX", readonly=True)
    assert typ == "OK"
    uidvalidity = int(m.response("UIDVALIDITY")[1][0])
    typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert typ == "OK"
    found: dict[str, tuple[int, set[str]]] = {}
    items = [item for item in data if isinstance(item, tuple)]
    for item in items:
        head = item[0].decode()
        uid = int(re.search(r"UID (\d+)", head).group(1))  # type: ignore[union-attr]
        flags = set(re.search(r"FLAGS \(([^)]*)\)", head).group(1).split())  # type: ignore[union-attr]
        msgid = re.search(rb"<([^@>]+)@", item[1]).group(1).decode()  # type: ignore[union-attr]
        found[msgid] = (uid, flags - {"\\Recent"})
    assert len(found) == len(items)  # each Message-ID once
    m.logout()
    return uidvalidity, found


def soa_serial(stack: Stack) -> int:
    query = dns.message.make_query(DOMAIN, "SOA")
    answer = dns.query.udp(query, "127.0.0.1", port=stack.ports["dns"], timeout=5)
    return int(answer.answer[0][0].serial)


def directory_listing(stack: Stack) -> dict[str, object]:
    out: dict[str, object] = {}
    for verb in (("org", "list"), ("account", "list"), ("domain", "list"), ("mailbox", "list")):
        out[" ".join(verb)] = json.loads(stack.cli(*verb, "--json", check=True).stdout)
    out["dns export"] = stack.cli("dns", "export", DOMAIN, check=True).stdout
    return out


def dav_state(stack: Stack) -> tuple[str, bytes, str]:
    """(the event's iCalendar data, the vCard's bytes, its ETag) as DAV clients see them."""
    url = f"http://localhost:{stack.ports['http']}/.well-known/caldav"
    with caldav.DAVClient(url, username=ALICE, password=ALICE_PW) as client:
        (calendar,) = client.principal().calendars()
        event = calendar.event_by_uid("backup-1").data
    status, headers, body = http_request(stack, "GET", CARD_PATH)
    assert status == 200
    return event, body, headers["etag"]


def http_request(
    stack: Stack, method: str, path: str, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    import base64

    token = base64.b64encode(f"{ALICE}:{ALICE_PW}".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", stack.ports["http"], timeout=20)
    try:
        headers = {"Authorization": f"Basic {token}"}
        if body is not None:
            headers["Content-Type"] = "text/vcard; charset=utf-8"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@dataclass
class Scenario:
    original: Stack
    backup: Path
    acked_before: set[str]
    stored_before: list[tuple[str, int, str]]
    state: dict[str, tuple[int, dict[str, tuple[int, set[str]]]]]
    serial: int
    directory: dict[str, object]
    dav: tuple[str, bytes, str]
    toml: str


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """A backup taken during an SMTP burst and IMAP flag changes; the original's state after."""
    tmp = tmp_path_factory.mktemp("backup")
    with Stack(tmp / "original") as stack:
        stack.provision(mailboxes=BOXES, accounts={ALICE: ALICE_PW})
        stack.cli("dns", "add", DOMAIN, "www", "A", "192.0.2.80", check=True)
        stack.start()
        url = f"http://localhost:{stack.ports['http']}/.well-known/caldav"
        with caldav.DAVClient(url, username=ALICE, password=ALICE_PW) as client:
            (calendar,) = client.principal().calendars()
            calendar.save_event(EVENT)
        status, _, _ = http_request(stack, "PUT", CARD_PATH, CARD.encode())
        assert status == 201
        with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=20) as mx:
            for address in FLAGGED:
                for i in range(6):
                    msgid = f"pre-{address.split('@')[0]}-{i}"
                    mx.sendmail("far@away.example", [address], message(msgid, address))
        uids = {a: sorted(u for u, _ in mailbox_state(stack, a)[1].values()) for a in FLAGGED}

        traffic = Traffic(stack)
        traffic.start(uids)
        eventually(lambda: min(traffic.counts()) >= 15, what="traffic under way")
        with traffic.lock:
            acked_before = set(traffic.acked)
            stored_before = list(traffic.stored)
        backup = tmp / "backups"
        result = stack.cli("backup", str(backup), "--json", check=True)
        report = json.loads(result.stdout)
        assert report["messages_written"] >= len(acked_before)
        after = traffic.counts()[0]
        eventually(lambda: traffic.counts()[0] >= after + 10, what="traffic after the backup")
        traffic.finish()

        state = {a: mailbox_state(stack, a) for a in BOXES}
        yield Scenario(
            stack,
            backup,
            acked_before,
            stored_before,
            state,
            soa_serial(stack),
            directory_listing(stack),
            dav_state(stack),
            (stack.data / "swissbox.toml").read_text(),
        )
        stack.stop()


@pytest.fixture(scope="module")
def restored(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`swissbox restore` into a new folder, then `swissbox serve` on it (other ports)."""
    stack = Stack(tmp_path_factory.mktemp("restored"))
    result = stack.cli("restore", str(scenario.backup), check=True)
    assert "restored snapshot" in result.stdout
    assert (stack.data / "swissbox.toml").read_text() == scenario.toml
    store = MailStore(stack.data / "mail")  # what `serve` does first: nothing to fix
    try:
        counts = store.recover()
    finally:
        store.close()
    assert counts == {"mailboxes": len(BOXES), "added": 0, "removed": 0, "renamed": 0}
    stack.write_config()  # the original still holds its ports
    stack._initialized = True
    with stack:
        stack.start()
        yield stack
        stack.stop()


def test_acknowledged_mail_comes_back_with_uids_uidvalidity_and_flags(
    scenario: Scenario, restored: Stack
) -> None:
    back = {a: mailbox_state(restored, a) for a in BOXES}
    found: set[str] = set()
    for address in BOXES:
        uidvalidity, messages = scenario.state[address]
        restored_uidvalidity, restored_messages = back[address]
        assert restored_uidvalidity == uidvalidity
        for msgid, (uid, flags) in restored_messages.items():
            original_uid, final_flags = messages[msgid]  # nothing that the original lacks
            assert uid == original_uid
            assert flags <= final_flags  # no flag the original never had
        found |= set(restored_messages)
    missing = scenario.acked_before - found
    assert not missing, f"acknowledged before the backup, not restored: {sorted(missing)}"
    for address, uid, flag in scenario.stored_before:
        flags = {u: f for u, f in back[address][1].values()}[uid]
        assert flag in flags, (address, uid, flag)


def test_directory_zones_and_dav_are_equal(scenario: Scenario, restored: Stack) -> None:
    assert soa_serial(restored) == scenario.serial
    assert directory_listing(restored) == scenario.directory
    assert dav_state(restored) == scenario.dav


def test_verify_catches_a_flipped_byte_and_a_missing_file(
    scenario: Scenario, tmp_path: Path
) -> None:
    assert scenario.original.cli("backup", "verify", str(scenario.backup)).returncode == 0
    copy = tmp_path / "copy"
    shutil.copytree(scenario.backup, copy)
    (snapshot,) = sorted((copy / "snapshots").glob("*.json"))
    entries = json.loads(snapshot.read_text())["entries"]
    messages = [e for e in entries if e["kind"] == "message"]
    flipped, gone = messages[0], messages[1]
    obj = copy / "objects" / flipped["sha256"][:2] / flipped["sha256"]
    raw = bytearray(obj.read_bytes())
    raw[len(raw) // 2] ^= 0x20
    obj.write_bytes(bytes(raw))
    (copy / "objects" / gone["sha256"][:2] / gone["sha256"]).unlink()

    result = scenario.original.cli("backup", "verify", str(copy))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(flipped["path"] in line and "damaged" in line for line in lines), result.stdout
    assert any(gone["path"] in line and "missing" in line for line in lines), result.stdout
    assert "2 problem(s)" in result.stderr and "Traceback" not in result.stderr

    target = Stack(tmp_path / "from-damaged")
    result = target.cli("restore", str(copy))
    assert result.returncode == 1
    assert "is damaged; nothing was restored" in result.stderr
    assert flipped["path"] in result.stderr and gone["path"] in result.stderr
    assert not target.data.exists()


def test_second_backup_copies_only_the_new_messages(tmp_path: Path) -> None:
    with Stack(tmp_path / "quiet") as stack:
        address = next(iter(BOXES))
        stack.provision(mailboxes=BOXES)
        stack.start()

        def send(prefix: str, n: int) -> None:
            with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=20) as mx:
                for i in range(n):
                    mx.sendmail("far@away.example", [address], message(f"{prefix}{i}", address))

        def objects() -> set[str]:
            return {p.name for p in (tmp_path / "bk" / "objects").glob("*/*")}

        send("first-", 8)
        stack.cli("backup", str(tmp_path / "bk"), check=True)
        before = objects()
        m = imap_login(stack, address)  # a flag change renames an old file: not copied again
        m.select("INBOX")
        assert m.uid("STORE", "1:3", "+FLAGS", "(\\Seen)")[0] == "OK"
        m.logout()
        send("second-", 3)
        report = json.loads(stack.cli("backup", str(tmp_path / "bk"), "--json", check=True).stdout)
        written = objects() - before
        (manifest,) = [
            json.loads(p.read_text())
            for p in (tmp_path / "bk" / "snapshots").glob("*.json")
            if p.stem == report["snapshot"]
        ]
        by_sha = {}
        for e in manifest["entries"]:
            by_sha.setdefault(e["sha256"], []).append(e)
        new_messages = [e for sha in written for e in by_sha[sha] if e["kind"] == "message"]
        assert len(new_messages) == report["messages_written"] == 3
        assert all("/new/" in e["path"] for e in new_messages)
        assert len(written) == report["messages_written"] + report["others_written"]
        others = [e["path"] for sha in written for e in by_sha[sha] if e["kind"] != "message"]
        assert all(p.endswith((".sqlite", ".db")) for p in others), others
        stack.stop()


def test_command_line_refusals_are_one_clear_line(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "cli")
    stack.init()
    cases = [
        (("backup", "verify"), "usage: swissbox backup DEST"),
        (("backup", "a", "b"), "usage: swissbox backup DEST"),
        (("backup", str(stack.data / "bk")), "inside the data folder"),
        (("backup", "verify", str(tmp_path)), "not a swissbox backup folder"),
        (("restore", str(tmp_path)), "not a swissbox backup folder"),
    ]
    for args, expected in cases:
        result = stack.cli(*args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert stack.cli("backup", str(tmp_path / "bk"), check=True).returncode == 0
    result = stack.cli("restore", str(tmp_path / "bk"))  # onto the live folder: not empty
    assert result.returncode == 1 and "is not empty" in result.stderr
    assert "--force" in result.stderr
