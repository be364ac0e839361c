"""The directory on PostgreSQL, as an operator meets it: `[store] url` in swissbox.toml, the
CLI provisioning into it, and two `swissbox serve` front ends over the same database — a zone
change through front end A (dyndns2, RFC 2136 UPDATE, the admin API) or the CLI is in front end
B's next DNS answers once the event bus tells B; mail to a mailbox the CLI made in PostgreSQL
is accepted and read back over IMAP."""

from __future__ import annotations

import imaplib
import re
import smtplib
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import dns.message
import dns.query
import dns.rdatatype
import psycopg
import pytest

from swissbox.directory import Directory
from tests.conftest import require_tool
from tests.support.manager_client import PASSWORD, Client
from tests.support.polling import eventually
from tests.support.stack import Stack

MAILBOX, MAILBOX_PW = "toto@example.test", "mailbox-pw-1"
ADMIN = "admin@example.test"
GUESSED, RACED, RIGHT_PW = "guessed@example.test", "raced@example.test", "right-pw-1"
OTHER_ADDRESS = "127.0.0.2"  # another client: loopback is all of 127/8


class Frontends(NamedTuple):
    a: Stack
    b: Stack
    url: str
    tsig: str  # name:secret of a TSIG key for example.test


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, postgres: Any) -> Iterator[Frontends]:
    """One pair for the module (starting two front ends costs seconds); tests use names of
    their own."""
    tmp_path = tmp_path_factory.mktemp("frontends")
    url = postgres.new_database()
    auth = {"failure_delay_base": 0.0}  # lockout tests fail on purpose; no waiting
    a = Stack(tmp_path / "a", store={"url": url}, auth=auth)
    b = Stack(tmp_path / "b", store={"url": url}, auth=auth)
    a.provision(
        mailboxes={MAILBOX: MAILBOX_PW, GUESSED: RIGHT_PW, RACED: RIGHT_PW},
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
        yield Frontends(a, b, url, f"hmac-sha256:fe.key:{secret}")
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
