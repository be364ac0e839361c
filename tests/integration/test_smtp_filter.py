"""Spam and malware defence as mail servers and mail clients meet it: real rspamd (with redis
for its statistics), clamd with a signature made for the test, and a DNS blocklist zone served
by the stack's own DNS server, all on loopback. GTUBE is refused, Junk-scored mail lands in
Junk with X-Spam-* fields, the test file is refused naming its signature, a listed client is
refused at RCPT, submission has its own threshold and a sending limit, moving mail into Junk
with imaplib teaches rspamd, and stopping rspamd in the middle of a burst loses nothing."""

from __future__ import annotations

import email
import imaplib
import smtplib
import ssl
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import pytest

from swissbox.filter.base import Action, FailurePolicy, Request
from swissbox.filter.clamd import ClamdScanner
from tests.support.polling import eventually
from tests.support.scanners import (
    GTUBE,
    JUNK_WORD,
    RSPAMD_PASSWORD,
    SAMPLE,
    SIGNATURE,
    Clamd,
    Rspamd,
    start_clamd,
    start_rspamd,
    wait_gone,
)
from tests.support.stack import Stack

BOB, BOB_PW = "bob@example.test", "Bob-filter-pw-1"
ALICE, ALICE_PW = "alice@example.test", "Alice-filter-pw-1"
LIMIT = 3
LISTED_IP = "127.0.0.2"
TIMEOUT = 30


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Rspamd, Clamd]]:
    """The daemons start while the stack is provisioned (the CLI calls take most of the time)."""
    tmp = tmp_path_factory.mktemp("filter")
    stack = Stack(tmp / "stack")
    with ThreadPoolExecutor(2) as pool:
        clamd_ready = pool.submit(start_clamd, tmp / "clamd")
        rspamd_ready = pool.submit(start_rspamd, tmp / "rspamd")
        try:
            stack.provision(mailboxes={BOB: BOB_PW, ALICE: ALICE_PW})
            stack.cli("domain", "add", "bl.test", "--org", "acme", check=True)
            stack.cli("dns", "add", "bl.test", "2.0.0.127", "A", "127.0.0.2", check=True)
        except BaseException:
            for ready in (clamd_ready, rspamd_ready):
                if ready.exception() is None:
                    ready.result().stop()
            raise
        if clamd_ready.exception() is not None and rspamd_ready.exception() is None:
            rspamd_ready.result().stop()
        clamd = clamd_ready.result()
        try:
            rspamd = rspamd_ready.result()
        except BaseException:
            clamd.stop()
            raise
    stack.settings["smtp"].update(
        {
            "inbound_resolvers": [f"127.0.0.1:{stack.ports['dns']}"],
            "max_connections_per_address": 100,
        }
    )
    stack.settings["imap"] = {**stack.settings["imap"], "allow_plaintext_loopback": True}
    stack.settings["filter"] = {
        "scanners": ["rspamd", "clamd"],
        "rspamd_url": rspamd.url,
        "rspamd_controller_url": rspamd.controller_url,
        "rspamd_password": RSPAMD_PASSWORD,
        "clamd_socket": str(clamd.socket_path),
        "timeout": 5.0,
        "on_failure": "accept",
        "dnsbl_zones": ["bl.test=127.0.0.2:test listing"],
        "max_messages_per_hour": LIMIT,
    }
    stack.write_config()
    try:
        stack.start()
        yield stack, rspamd, clamd
    finally:
        stack.stop()
        rspamd.stop()
        clamd.stop()


@pytest.fixture(scope="module")
def stack(world: tuple[Stack, Rspamd, Clamd]) -> Stack:
    return world[0]


@pytest.fixture(scope="module")
def rspamd(world: tuple[Stack, Rspamd, Clamd]) -> Rspamd:
    return world[1]


def message(
    subject: str, body: str = "hello there, this is a normal message\r\n", sender: str = ""
) -> bytes:
    return (
        f"From: <{sender or 'far@away.example'}>\r\nTo: <{BOB}>\r\nSubject: {subject}\r\n"
        f"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <{subject}@away.example>\r\n"
        f"\r\n{body}"
    ).encode()


def mx_send(stack: Stack, data: bytes, source: str = "127.0.0.1") -> tuple[int, str]:
    """(code, text) of the reply to the end of DATA (or to RCPT when refused there)."""
    with smtplib.SMTP(
        "127.0.0.1",
        stack.ports["smtp_mx"],
        local_hostname="mta.away.example",
        timeout=TIMEOUT,
        source_address=(source, 0),
    ) as c:
        c.ehlo()
        c.mail("far@away.example")
        code, text = c.rcpt(BOB)
        if code != 250:
            return code, text.decode()
        code, reply = c.data(data)
        return code, reply.decode()


def submit(stack: Stack, user: str, password: str, data: bytes) -> tuple[int, str]:
    tls = ssl.create_default_context(cafile=str(stack.ca_file))
    with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=TIMEOUT) as c:
        c.starttls(context=tls)
        c.login(user, password)
        c.mail(user)
        code, text = c.rcpt(BOB)
        assert code == 250, text
        code, reply = c.data(data)
        return code, reply.decode()


def stored(stack: Stack, subject: str, folder: str = "") -> list[email.message.Message]:
    root = stack.data / "mail" / "example.test" / "bob"
    if folder:
        root = root / f".{folder}"
    found = []
    for sub in ("new", "cur"):
        for path in (root / sub).glob("*"):
            msg = email.message_from_bytes(path.read_bytes())
            if msg["Subject"] == subject:
                found.append(msg)
    return found


def test_gtube_is_refused_at_the_end_of_data(stack: Stack) -> None:
    code, text = mx_send(stack, message("gtube", f"{GTUBE}\r\n"))
    assert (code, text.split()[0]) == (550, "5.7.1"), text
    assert not stored(stack, "gtube") and not stored(stack, "gtube", "Junk")
    assert "filter" in stack.log() and "GTUBE" in stack.log()  # scores and symbols logged


def test_junk_scored_mail_goes_to_junk_with_spam_fields(stack: Stack) -> None:
    forged = "X-Spam-Status: No, score=-100\r\n"  # a sender pre-marking its mail is ignored
    code, text = mx_send(stack, forged.encode() + message(f"cheap {JUNK_WORD}"))
    assert code == 250, text
    [junk] = stored(stack, f"cheap {JUNK_WORD}", "Junk")
    assert junk["X-Spam"] == "Yes" and junk["X-Spam-Action"] == "add header"
    assert junk.get_all("X-Spam-Status") == [junk["X-Spam-Status"]]
    assert junk["X-Spam-Status"].startswith("Yes, score=")
    assert "SWISSBOX_TEST_JUNK" in junk["X-Spam-Symbols"]
    assert not stored(stack, f"cheap {JUNK_WORD}")


def test_clean_mail_is_delivered_marked_clean(stack: Stack) -> None:
    code, text = mx_send(stack, message("clean"))
    assert code == 250, text
    [inbox] = stored(stack, "clean")
    assert inbox["X-Spam-Status"].startswith("No, score=")
    assert inbox["X-Filter-Unchecked"] is None


def test_the_test_signature_is_refused_naming_it(stack: Stack) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "far@away.example", BOB, "infected"
    msg.set_content("see attached")
    msg.add_attachment(SAMPLE, maintype="application", subtype="octet-stream", filename="a.bin")
    code, text = mx_send(stack, msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
    assert (code, text.split()[0]) == (554, "5.7.1"), text
    assert SIGNATURE in text
    assert not stored(stack, "infected") and not stored(stack, "infected", "Junk")


async def test_clamd_over_tcp_names_the_signature_too(world: tuple[Stack, Rspamd, Clamd]) -> None:
    clamd = world[2]
    scanner = ClamdScanner(FailurePolicy(5.0, "defer"), f"127.0.0.1:{clamd.tcp_port}")
    request = Request(SAMPLE, "192.0.2.1", "h", "a@x.test", (BOB,), "Q1")
    infected = await scanner.check(request)
    assert infected.action is Action.REJECT and infected.reply is not None
    assert SIGNATURE in infected.reply and infected.reply.startswith("554 5.7.1")
    clean = await scanner.check(Request(b"\r\nclean\r\n", "192.0.2.1", "h", "", (BOB,), "Q2"))
    assert clean.action is Action.ACCEPT and clean.summary == "clean"


def test_a_listed_client_is_refused_at_rcpt_naming_the_list(stack: Stack) -> None:
    code, text = mx_send(stack, message("listed"), source=LISTED_IP)
    assert (code, text.split()[0]) == (554, "5.7.1"), text
    assert "blocked using bl.test (test listing)" in text and LISTED_IP in text
    assert mx_send(stack, message("not listed"))[0] == 250  # 127.0.0.1 is not in the zone


def test_submission_has_its_own_threshold(stack: Stack) -> None:
    code, text = submit(stack, BOB, BOB_PW, message("outbound gtube", f"{GTUBE}\r\n", BOB))
    assert (code, text.split()[0]) == (550, "5.7.1") and "spam" in text, text
    # Junk-scored mail (8 points) is under the submission threshold (15): sent, not Junked
    code, text = submit(stack, BOB, BOB_PW, message(f"bob {JUNK_WORD}", sender=BOB))
    assert code == 250, text
    assert stored(stack, f"bob {JUNK_WORD}") and not stored(stack, f"bob {JUNK_WORD}", "Junk")


def test_the_message_past_the_hourly_limit_gets_451(stack: Stack) -> None:
    for i in range(LIMIT):
        code, text = submit(stack, ALICE, ALICE_PW, message(f"alice {i}", sender=ALICE))
        assert code == 250, text
    for _ in range(2):
        code, text = submit(stack, ALICE, ALICE_PW, message("alice over", sender=ALICE))
        assert (code, text.split()[0]) == (451, "4.7.1"), text
    assert not stored(stack, "alice over")
    warnings = [line for line in stack.log().splitlines() if "sending limit" in line]
    assert len(warnings) == 1 and ALICE in warnings[0]  # one line for the administrator


def test_moving_mail_into_junk_teaches_rspamd(stack: Stack, rspamd: Rspamd) -> None:
    words = " ".join(f"lesson{i} wonderful prize claim winner" for i in range(40))
    assert mx_send(stack, message("teach me", words + "\r\n"))[0] == 250
    before = rspamd.stat()["learned"]
    imap = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=TIMEOUT)
    try:
        imap.login(BOB, BOB_PW)
        imap.select("INBOX")
        status, found = imap.uid("SEARCH", "SUBJECT", '"teach me"')
        assert status == "OK" and found[0], found
        uid = found[0].split()[-1].decode()
        status, _ = imap.uid("MOVE", uid, "Junk")
        assert status == "OK"
    finally:
        imap.logout()
    eventually(lambda: rspamd.stat()["learned"] > before, timeout=15, what="rspamd learned")
    assert "learned spam from <bob@example.test> Junk/" in stack.log()
    # and out of Junk again (COPY this time): ham
    before = rspamd.stat()["learned"]
    imap = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=TIMEOUT)
    try:
        imap.login(BOB, BOB_PW)
        imap.select("Junk")
        status, found = imap.uid("SEARCH", "SUBJECT", '"teach me"')
        assert status == "OK" and found[0], found
        status, _ = imap.uid("COPY", found[0].split()[-1].decode(), "INBOX")
        assert status == "OK"
    finally:
        imap.logout()
    eventually(lambda: rspamd.stat()["learned"] > before, timeout=15, what="rspamd learned ham")
    assert "learned ham from <bob@example.test> INBOX/" in stack.log()


def test_stopping_rspamd_mid_burst_loses_nothing(stack: Stack, rspamd: Rspamd) -> None:
    """Last in this module: it stops the module's rspamd while eight senders keep sending,
    clean mail and GTUBE mixed."""
    replies: dict[str, tuple[int, str]] = {}
    stopped = threading.Event()
    lock = threading.Lock()

    def sender(worker: int) -> None:
        after_stop = 0
        for n in range(50):
            subject = f"burst {worker}.{n}"
            body = f"{GTUBE}\r\n" if n % 4 == 3 else "burst body\r\n"
            was_stopped = stopped.is_set()
            reply = mx_send(stack, message(subject, body))
            with lock:
                replies[subject] = reply
            after_stop += was_stopped
            if after_stop >= 3:
                return

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(sender, w) for w in range(8)]
        eventually(lambda: len(replies) >= 16, timeout=TIMEOUT, what="16 replies")
        rspamd.stop()
        stopped.set()
        for f in futures:
            f.result()
    wait_gone(rspamd.normal)
    checked = unchecked = 0
    for subject, (code, text) in replies.items():
        found = stored(stack, subject)
        gtube = int(subject.rsplit(".", 1)[1]) % 4 == 3
        if code == 250:
            assert len(found) == 1, (subject, text)  # every 250 is in the mailbox
            if found[0]["X-Filter-Unchecked"] is not None:
                unchecked += 1
            else:
                assert not gtube, subject
                checked += 1
        else:  # refused as spam while rspamd ran; on_failure = "accept": no 451 here
            assert not found, (subject, code, text)
            assert code == 550 and gtube, (subject, text)
    assert checked and unchecked, (checked, unchecked)
    code, text = mx_send(stack, message("after the stop"))
    assert code == 250, text
    [after] = stored(stack, "after the stop")
    assert after["X-Filter-Unchecked"].startswith("rspamd (")
