"""Metrics, health and status as a monitoring system meets them: real traffic against
`swissbox serve`, then `/metrics` parsed by prometheus_client's own text-format parser,
`/healthz/*` over HTTP, and `swissbox status`."""

from __future__ import annotations

import base64
import http.client
import imaplib
import json
import smtplib
import socket
import sqlite3
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from prometheus_client.parser import text_string_to_metric_families

from swissbox.conf import load
from swissbox.tls import configured_paths
from tests.support.polling import eventually
from tests.support.stack import Stack, free_port

USER, PASSWORD = "user@example.test", "Metrics-pass-1"
TARGET, TARGET_PASSWORD = "target@example.test", "Metrics-pass-2"
DDNS_USER, DDNS_PASSWORD, DDNS_HOST = "nasuser", "Nas0Password1", "nas.example.test"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(stack: Stack) -> Samples:
    conn = http.client.HTTPConnection("127.0.0.1", stack.ports["metrics"], timeout=10)
    conn.request("GET", "/metrics")
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("content-type", "").startswith("text/plain; version=0.0.4")
    text = response.read().decode()
    conn.close()
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def get(stack: Stack, path: str, auth: tuple[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", stack.ports["http"], timeout=20)
    headers = {"User-Agent": "swissbox-test/1.0"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def ddns_update(stack: Stack, password: str) -> str:
    path = f"/nic/update?hostname={DDNS_HOST}&myip=192.0.2.20"
    return get(stack, path, (DDNS_USER, password))[1].decode().strip()


def ask(stack: Stack, name: str, rdtype: str, tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, dns.rdatatype.from_text(rdtype))
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, "127.0.0.1", port=stack.ports["dns"], timeout=5)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    # two failures of one identifier from one address lock it; no delay, so tests stay fast
    s.settings["auth"].update(
        {"max_failures_per_identifier": 2, "failure_delay_base": 0, "failure_delay_max": 0}
    )
    s.settings["imap"] = {**s.settings["imap"], "allow_plaintext_loopback": False}
    s.provision(mailboxes={USER: PASSWORD, TARGET: TARGET_PASSWORD})
    s.cli("dns", "add", "example.test", "www", "A", "192.0.2.80", check=True)
    s.cli(
        "ddns", "add", DDNS_HOST, "--user", DDNS_USER, "--password-stdin",
        stdin=DDNS_PASSWORD + "\n", check=True,
    )  # fmt: skip
    yield s
    s.stop()


def test_counters_move_by_the_traffic_sent(stack: Stack) -> None:
    stack.start()
    before = scrape(stack)
    tls = ssl.create_default_context(cafile=str(stack.ca_file))

    # SMTP (MX): one refused recipient, one message accepted and delivered
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as mx:
        mx.ehlo()
        mx.mail("far@away.example")
        assert mx.rcpt("nobody@example.test")[0] == 550
        assert mx.rcpt(TARGET)[0] == 250
        code, reply = mx.data(b"Subject: counted\r\n\r\nhello\r\n")
        assert code == 250, reply
    # submission: a wrong password (mailbox realm)
    with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as sub:
        sub.starttls(context=tls)
        sub.ehlo()
        sub.user, sub.password = USER, "Wrong-pass-1"
        with pytest.raises(smtplib.SMTPAuthenticationError):
            sub.auth("PLAIN", sub.auth_plain)  # one attempt (login() would try LOGIN too)
    # IMAP: a second wrong password locks USER out from here (max 2), so the third is
    # refused as locked; then TARGET logs in and fetches the message
    for wrong in ("Wrong-pass-2", "Wrong-pass-3"):
        imap = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=10)
        imap.starttls(ssl_context=tls)
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(USER, wrong)
        imap.logout()
    imap = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=10)
    imap.starttls(ssl_context=tls)
    imap.login(TARGET, TARGET_PASSWORD)
    imap.select("INBOX")
    status, data = imap.fetch("1", "(BODY.PEEK[])")
    assert status == "OK" and b"hello" in data[0][1]  # type: ignore[index]
    imap.logout()
    # DNS: an answer twice over UDP (the second from the answer cache), an NXDOMAIN, TCP
    assert ask(stack, "www.example.test", "A").answer
    assert ask(stack, "www.example.test", "A").answer
    assert ask(stack, "nope.example.test", "A").rcode() == dns.rcode.NXDOMAIN
    assert ask(stack, "example.test", "MX", tcp=True).answer
    # DDNS: a good update and a wrong password
    assert ddns_update(stack, DDNS_PASSWORD) == "good 192.0.2.20"
    assert ddns_update(stack, "Wrong0Password") == "badauth"

    def settled() -> Samples | None:
        after = scrape(stack)
        closed = all(
            value(after, "swissbox_connections_open", protocol=p)
            == value(before, "swissbox_connections_open", protocol=p)
            for p in ("smtp-mx", "submission", "imap", "dns-tcp", "http")
        )
        return after if closed else None

    after = eventually(settled)
    counts = {
        ("swissbox_connections_total", ("protocol", "smtp-mx")): 1,
        ("swissbox_connections_total", ("protocol", "submission")): 1,
        ("swissbox_connections_total", ("protocol", "imap")): 3,
        ("swissbox_connections_total", ("protocol", "dns-tcp")): 1,
        ("swissbox_connections_total", ("protocol", "http")): 2,
        ("swissbox_smtp_messages_accepted_total", ("listener", "smtp-mx")): 1,
        ("swissbox_deliveries_total", ("kind", "local"), ("result", "delivered")): 1,
        ("swissbox_delivery_seconds_count", ("kind", "local")): 1,
        ("swissbox_auth_failures_total", ("realm", "mailbox"), ("reason", "wrong")): 2,
        ("swissbox_auth_failures_total", ("realm", "mailbox"), ("reason", "locked")): 1,
        ("swissbox_auth_failures_total", ("realm", "ddns"), ("reason", "wrong")): 1,
        ("swissbox_auth_lockouts_total", ("scope", "pair")): 1,
        ("swissbox_dns_queries_total", ("transport", "udp"), ("type", "A"), ("rcode", "NOERROR")): 2,
        ("swissbox_dns_queries_total", ("transport", "udp"), ("type", "A"), ("rcode", "NXDOMAIN")): 1,
        ("swissbox_dns_queries_total", ("transport", "tcp"), ("type", "MX"), ("rcode", "NOERROR")): 1,
        ("swissbox_ddns_updates_total", ("result", "good")): 1,
        ("swissbox_ddns_updates_total", ("result", "badauth")): 1,
        ("swissbox_imap_command_seconds_count", ("command", "LOGIN")): 3,
        ("swissbox_imap_command_seconds_count", ("command", "SELECT")): 1,
        ("swissbox_imap_command_seconds_count", ("command", "FETCH")): 1,
    }  # fmt: skip
    refused = {
        ("smtp-mx", "550", "5.1.1"): 1,  # unknown recipient
        ("submission", "535", "5.7.8"): 1,  # bad credentials
    }
    got = {key: moved(before, after, key[0], **dict(key[1:])) for key in counts}
    assert got == counts
    for (listener, code, reason), n in refused.items():
        assert (
            moved(before, after, "swissbox_smtp_refused_total", listener=listener, code=code, reason=reason)
            == n
        )  # fmt: skip
    # a histogram's buckets are cumulative and end at the count
    inf = value(after, "swissbox_imap_command_seconds_bucket", command="FETCH", le="+Inf")
    assert inf == value(after, "swissbox_imap_command_seconds_count", command="FETCH") >= 1


class RemoteMx:
    """remote.test's server: 250 for ok@, 550 for nouser@."""

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("nouser@"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        return "250 2.0.0 queued remotely"


def test_queue_deliveries_and_bounces(tmp_path: Path) -> None:
    remote_port = free_port()
    controller = Controller(RemoteMx(), hostname="127.0.0.1", port=remote_port)
    controller.start()
    stack = Stack(tmp_path)
    stack.settings["smtp"].update({"outbound_port": remote_port, "retry_schedule": [0.5]})
    try:
        stack.provision(mailboxes={USER: PASSWORD})
        stack.cli("org", "add", "world", check=True)
        stack.cli("domain", "add", "remote.test", "--org", "world", check=True)
        stack.cli("dns", "add", "remote.test", "@", "MX", "10 mx.remote.test.", check=True)
        stack.cli("dns", "add", "remote.test", "mx", "A", "127.0.0.1", check=True)
        stack.start()
        before = scrape(stack)
        assert value(before, "swissbox_queue_messages") == 0
        assert value(before, "swissbox_queue_oldest_age_seconds") == 0
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = USER, "ok@remote.test", "outbound"
        msg.set_content("hello world\n")
        with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as client:
            client.starttls(context=ssl.create_default_context(cafile=str(stack.ca_file)))
            client.login(USER, PASSWORD)
            client.send_message(msg, USER, ["ok@remote.test", "nouser@remote.test"])

        def done() -> Samples | None:
            after = scrape(stack)
            failed = value(after, "swissbox_deliveries_total", kind="remote", result="failed")
            return after if failed else None  # counted as the message leaves the queue

        after = eventually(done)
        assert (
            moved(before, after, "swissbox_deliveries_total", kind="remote", result="delivered")
            == 1
        )
        assert (
            moved(before, after, "swissbox_deliveries_total", kind="remote", result="failed") == 1
        )
        assert moved(before, after, "swissbox_bounces_total") == 1
        assert moved(before, after, "swissbox_delivery_seconds_count", kind="remote") == 1
        assert (
            moved(before, after, "swissbox_smtp_messages_accepted_total", listener="submission")
            == 1
        )
        # the bounce went into USER's mailbox: a local delivery of its own
        assert (
            moved(before, after, "swissbox_deliveries_total", kind="local", result="delivered") == 0
        )
        assert eventually(lambda: value(scrape(stack), "swissbox_queue_messages") == 0, 5)
    finally:
        stack.stop()
        controller.stop()


def test_queue_size_and_age_while_a_message_waits(tmp_path: Path) -> None:
    stack = Stack(tmp_path)  # outbound_port: a closed port, so the message stays queued
    stack.settings["smtp"]["retry_schedule"] = [3600.0]
    stack.provision(mailboxes={USER: PASSWORD})
    stack.cli("org", "add", "world", check=True)
    stack.cli("domain", "add", "remote.test", "--org", "world", check=True)
    stack.cli("dns", "add", "remote.test", "@", "MX", "10 mx.remote.test.", check=True)
    stack.cli("dns", "add", "remote.test", "mx", "A", "127.0.0.1", check=True)
    try:
        stack.start()
        with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as client:
            client.starttls(context=ssl.create_default_context(cafile=str(stack.ca_file)))
            client.login(USER, PASSWORD)
            client.sendmail(USER, ["ok@remote.test"], f"From: {USER}\r\n\r\nwaiting\r\n")

        def deferred() -> Samples | None:
            s = scrape(stack)
            return (
                s
                if value(s, "swissbox_deliveries_total", kind="remote", result="deferred")
                else None
            )

        after = eventually(deferred)
        assert value(after, "swissbox_queue_messages") == 1
        assert eventually(
            lambda: value(scrape(stack), "swissbox_queue_oldest_age_seconds") >= 1, 10
        )
    finally:
        stack.stop()


# -- health and status ----------------------------------------------------------------------


def ready(stack: Stack) -> tuple[int, dict[str, Any]]:
    status, body = get(stack, "/healthz/ready")
    return status, json.loads(body)


def test_live_and_ready_then_not_ready_while_the_directory_is_locked(stack: Stack) -> None:
    stack.start()
    status, body = get(stack, "/healthz/live")
    assert status == 200 and json.loads(body)["live"] is True
    status, report = ready(stack)
    assert (status, report["ready"]) == (200, True), report
    assert {"listeners", "directory", "queue runner"} <= set(report["checked"])

    # another process holds the database's write lock: the directory is not writable
    db = sqlite3.connect(str(load(data=str(stack.data)).db_path), isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    try:
        status, report = ready(stack)
        assert status == 503 and report["ready"] is False
        assert list(report["failing"]) == ["directory"]
        assert "locked" in report["failing"]["directory"]
        result = stack.cli("status")
        assert result.returncode == 1
        assert "server: NOT READY" in result.stdout and "directory:" in result.stdout
    finally:
        db.execute("ROLLBACK")
        db.close()
    assert ready(stack)[0] == 200


def test_a_listener_that_could_not_bind_makes_it_not_ready(stack: Stack) -> None:
    """The metrics port taken by another program: mail is still served, readiness says 503
    and names the listener."""
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", stack.ports["metrics"]))
    blocker.listen()
    try:
        log = stack.start()
        assert "metrics: cannot listen on" in log
        status, report = ready(stack)
        assert status == 503
        port = stack.ports["metrics"]
        assert report["failing"] == {f"listener metrics.port 127.0.0.1:{port}/tcp": "not bound"}
        with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as mx:
            assert mx.noop()[0] == 250
        result = stack.cli("status")
        assert result.returncode == 1
        assert f"listener metrics.port 127.0.0.1:{port}/tcp: not bound" in result.stdout
    finally:
        blocker.close()


def test_status_prints_readiness_and_certificate_expiry(stack: Stack) -> None:
    result = stack.cli("status")
    assert result.returncode == 1
    assert (
        f"server: not running: nothing answers on 127.0.0.1:{stack.ports['http']}" in result.stdout
    )
    stack.start()
    result = stack.cli("status")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "server: ready"
    paths = configured_paths(load(data=str(stack.data)))
    for path in (paths.cert, paths.ca):
        assert path is not None
        expires = x509.load_pem_x509_certificate(path.read_bytes()).not_valid_after_utc
        line = next(line for line in lines if line.startswith(f"certificate {path} "))
        assert f"expires {expires:%Y-%m-%d}" in line
    as_json = json.loads(stack.cli("status", "--json", check=True).stdout)
    assert as_json["server"]["ready"] is True
    assert {c["path"] for c in as_json["certificates"]} == {str(paths.cert), str(paths.ca)}


# -- logs -----------------------------------------------------------------------------------


def test_json_log_one_line_per_event_with_queue_id_and_no_secret(tmp_path: Path) -> None:
    """A full login / failed login / delivery run at debug level: every line is one JSON
    object, the delivery line carries the queue id of the 250 reply and the UID the store
    gave, and no password appears in any form a client sent it."""
    stack = Stack(tmp_path)
    stack.settings["server"] = {"log_level": "debug", "log_format": "json"}
    stack.settings["auth"].update({"failure_delay_base": 0, "failure_delay_max": 0})
    wrong = "Wrong-secret-9"
    stack.provision(mailboxes={USER: PASSWORD, TARGET: TARGET_PASSWORD})
    stack.cli(
        "ddns", "add", DDNS_HOST, "--user", DDNS_USER, "--password-stdin",
        stdin=DDNS_PASSWORD + "\n", check=True,
    )  # fmt: skip
    tls = ssl.create_default_context(cafile=str(stack.ca_file))
    try:
        stack.start()
        with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as sub:
            sub.starttls(context=tls)
            with pytest.raises(smtplib.SMTPAuthenticationError):
                sub.login(USER, wrong)
        with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as sub:
            sub.starttls(context=tls)
            sub.ehlo()
            sub.user, sub.password = TARGET, TARGET_PASSWORD
            sub.auth("LOGIN", sub.auth_login, initial_response_ok=False)
        with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as sub:
            sub.starttls(context=tls)
            sub.login(USER, PASSWORD)  # AUTH PLAIN with an initial response
            assert sub.sendmail(USER, [TARGET], f"From: {USER}\r\nSubject: x\r\n\r\nhi\r\n") == {}
        imap = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=10)
        imap.starttls(ssl_context=tls)
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(TARGET, wrong)
        imap.login(TARGET, TARGET_PASSWORD)
        imap.select("INBOX")
        fetched = imap.fetch("1", "(UID BODY.PEEK[])")[1][0][1]  # type: ignore[index]
        imap.logout()
        assert ddns_update(stack, DDNS_PASSWORD) == "good 192.0.2.20"
        assert ddns_update(stack, wrong) == "badauth"
    finally:
        stack.stop()
    log = stack.log()
    events = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert events and all({"time", "level", "logger", "msg"} <= set(e) for e in events)
    secrets = [PASSWORD, TARGET_PASSWORD, DDNS_PASSWORD, wrong]
    forms = set()
    for secret in secrets:
        forms.add(secret)
        forms.add(base64.b64encode(secret.encode()).decode())
        for user in (USER, TARGET, DDNS_USER):
            forms.add(base64.b64encode(f"\0{user}\0{secret}".encode()).decode())
            forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
    leaks = [f for f in forms if f in log]
    assert not leaks, [line for line in log.splitlines() if any(f in line for f in leaks)][:3]
    delivered = [e for e in events if e.get("stored") and e["logger"] == "swissbox.smtp"]
    assert len(delivered) == 1
    assert delivered[0]["stored"] == f"{TARGET}/INBOX/{delivered[0]['stored'].split('/')[2]}/1"
    qid = delivered[0]["qid"]
    assert f"smtp {qid}: from <{USER}>" in delivered[0]["msg"]
    assert f"id {qid}".encode() in fetched  # the Received: line IMAP shows names it too
