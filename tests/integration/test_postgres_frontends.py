"""Two `swissbox serve` front ends over one PostgreSQL (`[store] url`) and one blob_path, as an
operator runs them: the CLI provisions into the database; a zone change through front end A
(dyndns2, RFC 2136 UPDATE, the admin API) or the CLI is in B's next DNS answers once the event
bus tells B, and real secondaries (NSD from A, Knot from B) get each serial once; a lockout
decided on A holds on B; a SIGKILL of A mid-burst loses no acknowledged message."""

from __future__ import annotations

import imaplib
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import dns.message
import dns.query
import dns.rdatatype
import psycopg
import pytest

from swissbox.directory import Directory
from tests.clients.test_dns_secondary import dig as secondary_dig
from tests.clients.test_dns_secondary import knot_config, nsd_config
from tests.conftest import require_tool
from tests.support.manager_client import PASSWORD, Client
from tests.support.polling import eventually
from tests.support.stack import Stack
from tests.unit.dns.kit import free_port

ZONE = "example.test"
MAILBOX, MAILBOX_PW = "toto@example.test", "mailbox-pw-1"
ADMIN = "admin@example.test"
GUESSED, RACED, RIGHT_PW = "guessed@example.test", "raced@example.test", "right-pw-1"
SPRAYED, BUSY = "sprayed@example.test", "busy@example.test"
OTHER_ADDRESS = "127.0.0.2"  # another client: loopback is all of 127/8
SPLIT, SPLITTER = "split@example.test", "127.0.0.3"  # guesses spread over both front ends


class Secondary(NamedTuple):
    """A real secondary server (NSD or Knot) on its own loopback address."""

    name: str
    addr: str
    port: int
    folder: Path

    def answer(self, name: str, rtype: str = "A") -> str:
        return secondary_dig(self.addr, self.port, name, rtype)

    def serial(self) -> int:
        soa = self.answer(ZONE, "SOA").split()
        return int(soa[2]) if len(soa) > 2 else 0

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in self.folder.glob("*.log"))


class Frontends(NamedTuple):
    a: Stack
    b: Stack
    url: str
    tsig: str  # name:secret of a TSIG key for example.test
    nsd: Secondary  # pulls from A (started by the test that uses it)
    knot: Secondary  # pulls from B


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, postgres: Any) -> Iterator[Frontends]:
    """One pair for the module (starting two front ends costs seconds); tests use names of
    their own, and the test that kills front end A comes last."""
    tmp_path = tmp_path_factory.mktemp("frontends")
    url = postgres.new_database()
    nsd = Secondary("nsd", "127.0.0.2", free_port("127.0.0.2"), tmp_path / "nsd")
    knot = Secondary("knot", "127.0.0.3", free_port("127.0.0.3"), tmp_path / "knot")
    settings: dict[str, Any] = {
        "store": {"url": url, "blob_path": str(tmp_path / "blobs")},  # one mail store
        "auth": {"failure_delay_base": 0.0, "failure_delay_max": 0.0},  # lockout tests
        "smtp": {"max_connections_per_address": 100},  # bursts come from one address
        "dns": {
            "allow_transfer": ["127.0.0.0/8"],
            "notify": [f"{s.addr}:{s.port}" for s in (nsd, knot)],
        },
    }
    a, b = Stack(tmp_path / "a", **settings), Stack(tmp_path / "b", **settings)
    a.provision(
        mailboxes={
            MAILBOX: MAILBOX_PW,
            **{box: RIGHT_PW for box in (GUESSED, RACED, SPRAYED, BUSY, SPLIT)},
        },
        accounts={ADMIN: PASSWORD},
    )
    a.cli("org", "member", "set-role", ADMIN, "legal", check=True)
    a.cli(
        "ddns", "add", "nas.example.test", "--user", "router1", "--password-stdin",
        stdin="Router1Pass\n", check=True,
    )  # fmt: skip
    out = a.cli("dns", "tsig", "add", "fe.key", "--zone", "example.test", check=True).stdout
    secret = re.search(r"^secret: (\S+)$", out, re.M).group(1)  # type: ignore[union-attr]
    b.init()
    assert not (a.data / "swissbox.db").exists()  # nothing went to SQLite
    with a, b:
        a.start()
        b.start()
        yield Frontends(a, b, url, f"hmac-sha256:fe.key:{secret}", nsd, knot)
        assert a.stop() == 0 and b.stop() == 0


@pytest.fixture
def frontends(pair: Frontends) -> tuple[Stack, Stack]:
    return pair.a, pair.b


def a_records(stack: Stack, name: str) -> set[str]:
    query = dns.message.make_query(name, dns.rdatatype.A)
    reply = dns.query.udp(query, "127.0.0.1", port=stack.ports["dns"], timeout=5)
    return {rr.to_text() for rrset in reply.answer for rr in rrset}


def dig(stack: Stack, name: str, rtype: str = "A", tool: str = "dig") -> set[str]:
    """The answer of front end `stack` to name/rtype, asked by dig (or kdig)."""
    patience = ["+time=2", "+tries=2"] if tool == "dig" else ["+timeout=2", "+retry=1"]
    out = subprocess.run(
        [require_tool(tool), "+short", *patience, "-p", str(stack.ports["dns"]),
         "@127.0.0.1", name, rtype],
        capture_output=True, text=True, timeout=20,
    ).stdout  # fmt: skip
    return {line.strip() for line in out.splitlines() if line.strip()}


def soa_serial(stack: Stack) -> int:
    return int(next(iter(dig(stack, "example.test", "SOA"))).split()[2])


def nsupdate(stack: Stack, key: str, commands: str) -> None:
    script = f"server 127.0.0.1 {stack.ports['dns']}\nzone example.test\n{commands}\nsend\n"
    r = subprocess.run(
        [require_tool("nsupdate"), "-y", key],
        input=script, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr


def test_a_ddns_update_on_a_is_answered_by_b(frontends: tuple[Stack, Stack]) -> None:
    a, b = frontends
    assert b.cli("mailbox", "list", check=True).stdout.count(MAILBOX) == 1
    r = subprocess.run(
        [require_tool("curl"), "-sS", "-u", "router1:Router1Pass", "-A", "swissbox-test/1.0",
         f"http://127.0.0.1:{a.ports['http']}/nic/update?hostname=nas.example.test&myip=192.0.2.77"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert r.stdout.strip() == "good 192.0.2.77", r.stderr
    eventually(lambda: dig(b, "nas.example.test") == {"192.0.2.77"}, 10, "B's answer")
    assert a_records(a, "nas.example.test") == {"192.0.2.77"}


def test_changes_through_a_and_the_cli_reach_b(pair: Frontends) -> None:
    a, b = pair.a, pair.b
    serial = soa_serial(b)
    nsupdate(a, pair.tsig, "update add upd.example.test 60 A 192.0.2.31")
    eventually(lambda: dig(b, "upd.example.test", tool="kdig") == {"192.0.2.31"}, 10, "UPDATE")
    assert soa_serial(b) == soa_serial(a) == serial + 1  # one change, one serial bump

    admin = Client(a)
    assert admin.login(ADMIN).status == 200
    org = admin.request("GET", "/orgs").json[0]["id"]
    record = {"name": "api", "type": "A", "value": "192.0.2.32"}
    made = admin.request("POST", f"/orgs/{org}/domains/example.test/records", record)
    assert made.status == 201, made
    eventually(lambda: dig(b, "api.example.test") == {"192.0.2.32"}, 10, "the admin API")

    a.cli("dns", "add", "example.test", "cli", "A", "192.0.2.33", check=True)
    eventually(lambda: dig(b, "cli.example.test") == {"192.0.2.33"}, 10, "B: the CLI")
    eventually(lambda: dig(a, "cli.example.test") == {"192.0.2.33"}, 10, "A: the CLI")
    assert soa_serial(b) == soa_serial(a) == serial + 3


def test_b_asked_while_a_change_is_being_written_answers_it_after_the_commit(
    pair: Frontends,
) -> None:
    """B reads the directory's generation while a writer's transaction is still open (on
    PostgreSQL it has already moved), so it alone cannot tell B that the commit came."""
    b = pair.b
    with Directory(pair.url) as writer, writer.transaction():
        writer.change_records("example.test", add=[("race.example.test", "A", 60, "192.0.2.44")])
        assert dig(b, "race.example.test") == set()  # not committed yet
    eventually(lambda: dig(b, "race.example.test") == {"192.0.2.44"}, 10, "B stayed stale")


def test_mail_to_a_mailbox_made_in_postgresql(frontends: tuple[Stack, Stack]) -> None:
    a, _ = frontends
    context = ssl.create_default_context(cafile=str(a.ca_file))
    with smtplib.SMTP("127.0.0.1", a.ports["smtp_mx"], timeout=30) as smtp:
        smtp.ehlo("mx.elsewhere.example")
        assert smtp.mail("someone@elsewhere.example")[0] == 250
        assert smtp.rcpt("nobody@example.test")[0] == 550  # unknown users still refused
        smtp.rset()
        smtp.sendmail(
            "someone@elsewhere.example",
            [MAILBOX],
            b"From: someone@elsewhere.example\r\nTo: toto@example.test\r\n"
            b"Subject: over postgres\r\n\r\nhello\r\n",
        )
    with imaplib.IMAP4_SSL("127.0.0.1", a.ports["imaps"], ssl_context=context) as imap:
        imap.login(MAILBOX, MAILBOX_PW)
        imap.select("INBOX")
        _, data = imap.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
        assert b"over postgres" in data[0][1]  # type: ignore[index]


class BoundIMAP4(imaplib.IMAP4):
    """IMAP from a chosen loopback source address (imaplib has no source_address)."""

    def __init__(self, port: int, source: str) -> None:
        self.source = source
        super().__init__("127.0.0.1", port, timeout=30)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout, (self.source, 0))


def imap_login(stack: Stack, address: str, password: str, source: str = "127.0.0.1") -> bool:
    with BoundIMAP4(stack.ports["imap"], source) as imap:
        imap.starttls(ssl.create_default_context(cafile=str(stack.ca_file)))
        try:
            imap.login(address, password)
        except imaplib.IMAP4.error:
            return False
        return True


def smtp_login(stack: Stack, address: str, password: str, source: str = "127.0.0.1") -> bool:
    context = ssl.create_default_context(cafile=str(stack.ca_file))
    with smtplib.SMTP(
        "127.0.0.1", stack.ports["submission"], timeout=30, source_address=(source, 0)
    ) as smtp:
        smtp.starttls(context=context)
        try:
            smtp.login(address, password)
        except smtplib.SMTPAuthenticationError:
            return False
        return True


def test_a_lockout_on_a_holds_on_b_for_that_client_only(pair: Frontends) -> None:
    a, b = pair.a, pair.b
    assert imap_login(b, GUESSED, RIGHT_PW)  # the right password works at first
    for n in range(3):  # five different wrong passwords at A, over IMAP and SMTP AUTH
        assert not imap_login(a, GUESSED, f"wrong-{n}")
    for n in range(3, 5):
        assert not smtp_login(a, GUESSED, f"wrong-{n}")
    assert not imap_login(a, GUESSED, RIGHT_PW)  # locked at A
    assert not imap_login(b, GUESSED, RIGHT_PW)  # and at B, for this client address
    assert not smtp_login(b, GUESSED, RIGHT_PW)
    assert imap_login(b, GUESSED, RIGHT_PW, source=OTHER_ADDRESS)  # not for another client
    assert smtp_login(b, GUESSED, RIGHT_PW, source=OTHER_ADDRESS)


def test_guesses_spread_over_both_front_ends_add_up_to_one_lockout(pair: Frontends) -> None:
    """Three wrong passwords at A, two at B: the client is locked out on both, as five at one
    front end would (before, each front end counted its own five)."""
    a, b = pair.a, pair.b
    for n in range(3):
        assert not imap_login(a, SPLIT, f"wrong-{n}", source=SPLITTER)
    for n in range(3, 5):
        assert not smtp_login(b, SPLIT, f"wrong-{n}", source=SPLITTER)
    assert not imap_login(a, SPLIT, RIGHT_PW, source=SPLITTER)
    assert not imap_login(b, SPLIT, RIGHT_PW, source=SPLITTER)
    assert imap_login(b, SPLIT, RIGHT_PW, source=OTHER_ADDRESS)


def waiting_for_a_lock(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()
        return bool(row and row[0])


def test_a_lockout_committed_while_b_reads_the_board_still_reaches_b(pair: Frontends) -> None:
    """B reads the lockouts while A's transaction recording one is open (on PostgreSQL the
    generation has already moved), so the generation alone cannot tell B of the commit."""
    a, b = pair.a, pair.b
    guesses = threading.Thread(
        target=lambda: [imap_login(a, RACED, f"wrong-{n}") for n in range(5)], daemon=True
    )
    with psycopg.connect(pair.url) as holder:
        holder.execute("LOCK TABLE auth_locks IN EXCLUSIVE MODE")  # reads pass, writes wait
        guesses.start()
        eventually(lambda: waiting_for_a_lock(pair.url), 30, "A never recorded the lockout")
        assert imap_login(b, RACED, RIGHT_PW)  # not committed yet: B reads the board now
        holder.rollback()
    guesses.join(30)
    eventually(lambda: not imap_login(b, RACED, RIGHT_PW), 10, "B never applied A's lockout")


def test_fifty_logins_at_once_on_both_front_ends_right_and_wrong(pair: Frontends) -> None:
    """25 clients guess one mailbox's password through A and B at once while 25 others log in
    to another mailbox with the right one: the guessed mailbox ends locked on both front ends
    for the guessers' address, every rightful login went through."""
    a, b = pair.a, pair.b
    guesser, owner = "127.0.0.3", "127.0.0.4"
    results: dict[str, list[bool]] = {"guess": [], "right": []}
    lock = threading.Lock()
    start = threading.Barrier(50)

    def client(n: int) -> None:
        stack = a if n % 2 else b
        login = smtp_login if n % 3 == 0 else imap_login
        start.wait()
        if n < 25:
            ok = login(stack, SPRAYED, f"guess-{n}", source=guesser)
            kind = "guess"
        else:
            ok = login(stack, BUSY, RIGHT_PW, source=owner)
            kind = "right"
        with lock:
            results[kind].append(ok)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results["guess"] == [False] * 25
    assert results["right"] == [True] * 25
    for stack in (a, b):
        assert not imap_login(stack, SPRAYED, RIGHT_PW, source=guesser)
        assert imap_login(stack, SPRAYED, RIGHT_PW, source=owner)


@pytest.fixture
def secondaries(pair: Frontends) -> Iterator[tuple[Secondary, Secondary]]:
    """NSD pulling the zone from front end A, Knot from front end B; both front ends NOTIFY
    both."""
    procs = []
    try:
        for sec, primary, make in (
            (pair.nsd, pair.a, nsd_config),
            (pair.knot, pair.b, knot_config),
        ):
            sec.folder.mkdir()
            cmd = make(sec.folder, sec.addr, sec.port, primary.ports["dns"])
            log = (sec.folder / "stdout.log").open("w")
            procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log))
        yield pair.nsd, pair.knot
    finally:
        for proc, log in procs:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def acked_notifies(stack: Stack, serial: int) -> set[str]:
    """The secondaries that acknowledged this front end's NOTIFY of `serial` (its log)."""
    pattern = rf"NOTIFY {re.escape(ZONE)} serial {serial} acknowledged by ([0-9.:]+)"
    return set(re.findall(pattern, stack.log()))


@pytest.mark.tools
def test_a_change_through_either_front_end_reaches_both_secondaries_once(
    pair: Frontends, secondaries: tuple[Secondary, Secondary]
) -> None:
    a, b = pair.a, pair.b
    nsd, knot = secondaries
    start = soa_serial(a)
    for sec in (nsd, knot):
        eventually(lambda sec=sec: sec.serial() == start, 20, f"{sec.name} loads the zone")

    nsupdate(a, pair.tsig, "update add sec1.example.test 60 A 192.0.2.51")  # through A
    for sec in (nsd, knot):  # Knot pulls from B, which heard of it over the bus
        eventually(lambda sec=sec: sec.answer("sec1.example.test") == "192.0.2.51", 15, sec.logs())
        assert sec.serial() == start + 1  # one change, one serial bump

    r = subprocess.run(
        [require_tool("curl"), "-sS", "-u", "router1:Router1Pass", "-A", "swissbox-test/1.0",
         f"http://127.0.0.1:{b.ports['http']}/nic/update?hostname=nas.example.test&myip=192.0.2.52"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert r.stdout.strip() == "good 192.0.2.52", r.stderr  # through B
    for sec in (nsd, knot):  # NSD pulls from A, which heard of it over the bus
        eventually(lambda sec=sec: sec.answer("nas.example.test") == "192.0.2.52", 15, sec.logs())
        assert sec.serial() == start + 2

    # Both front ends announced both serials to both secondaries (RFC 1996: a secondary asked
    # again about a serial it has does not transfer again); a dying writer loses no NOTIFY.
    targets = {f"{s.addr}:{s.port}" for s in (nsd, knot)}
    for serial in (start + 1, start + 2):
        for stack in (a, b):
            eventually(
                lambda s=stack, n=serial: acked_notifies(s, n) == targets, 15, stack.log()[-3000:]
            )


def inbox_subjects(stack: Stack) -> list[str]:
    with imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=30) as imap:
        imap.starttls(ssl_context=ssl.create_default_context(cafile=str(stack.ca_file)))
        imap.login(MAILBOX, MAILBOX_PW)
        imap.select("INBOX", readonly=True)
        status, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert status == "OK"
        lines = [item[1].decode().strip() for item in data if isinstance(item, tuple)]
        return [line.removeprefix("Subject: ") for line in lines]


CLIENTS, MESSAGES_EACH, KILL_AFTER = 50, 4, 20  # KILL_AFTER: 250s from A before it dies


def test_last_every_acknowledged_message_survives_a_sigkill_of_a(pair: Frontends) -> None:
    """Fifty SMTP clients deliver through A and B (one PostgreSQL, one blob_path); A is
    SIGKILLed mid-burst. Every message that got a 250 is on B over IMAP, once, and B goes on
    serving. (Last in the module: A stays dead.)"""
    a, b = pair.a, pair.b
    acknowledged: list[str] = []
    from_a = threading.Semaphore(0)
    lock = threading.Lock()

    def client(n: int) -> None:
        stack = a if n % 2 else b
        try:
            with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=60) as mx:
                for k in range(MESSAGES_EACH):
                    subject = f"burst {n}-{k} via {'A' if stack is a else 'B'}"
                    raw = f"From: far@away.example\r\nSubject: {subject}\r\n\r\nx\r\n".encode()
                    mx.sendmail("far@away.example", [MAILBOX], raw)  # raises unless 250
                    with lock:
                        acknowledged.append(subject)
                    if stack is a:
                        from_a.release()
        except (smtplib.SMTPException, OSError):
            pass  # A died under this client: what had no 250 yet may be lost

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for _ in range(KILL_AFTER):
        assert from_a.acquire(timeout=60), "front end A acknowledged too few messages"
    a.kill()  # SIGKILL, mid-burst
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)

    with lock:
        acked = Counter(acknowledged)
    via_a = [s for s in acked if s.endswith("via A")]
    assert len(via_a) >= KILL_AFTER and len(acked) > len(via_a)  # both front ends took mail
    assert len(via_a) < CLIENTS // 2 * MESSAGES_EACH  # A really died mid-burst
    on_b = Counter(inbox_subjects(b))
    lost = [s for s in acked if on_b[s] != 1]
    assert not lost, f"acknowledged but not on B exactly once: {lost[:5]}"

    with smtplib.SMTP("127.0.0.1", b.ports["smtp_mx"], timeout=30) as mx:  # B keeps serving
        raw = b"From: far@away.example\r\nSubject: after the kill\r\n\r\nx\r\n"
        mx.sendmail("far@away.example", [MAILBOX], raw)
    eventually(lambda: "after the kill" in inbox_subjects(b), 10, "B stopped serving")
