"""SPF, DKIM and DMARC at the MX, as other mail servers meet them: the senders' records are
served by the stack's own authoritative DNS server on loopback (its [smtp] inbound_resolvers
point there, never at the machine's resolver); mail signed by our signer and by OpenDKIM (the
milter in signing mode, driven by tests/support/milter.py as an MTA would);
forged, broken and hostile input; a DNS server that never answers; fifty sessions at once."""

from __future__ import annotations

import email
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dkim
import pytest

from swissbox.mailauth import dkim as sbdkim
from tests.conftest import require_tool
from tests.support.milter import Milter
from tests.support.polling import eventually
from tests.support.stack import Stack, free_port

BOB, BOB_PW = "bob@example.test", "bob-mailbox-pw"
LISTS = "lists.example.test"  # a domain of ours whose DMARC reject action is "mark"
ANN = f"ann@{LISTS}"
MX_ID = "mx.example.test"


def txt(value: str) -> str:
    """A TXT value as master-file strings of at most 255 bytes."""
    return " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))


def zones(keys: dict[str, sbdkim.KeyPair], opendkim_txt: str) -> dict[str, list[str]]:
    ed, rsa = keys["ed25519"], keys["rsa"]
    chain = [f'c{i} TXT "v=spf1 include:c{i + 1}.chain.test -all"' for i in range(1, 11)]
    return {
        "good.test": [
            '@ TXT "v=spf1 ip4:127.0.0.1 -all"',
            '_dmarc TXT "v=DMARC1; p=reject; adkim=s"',
            f"sel-ed._domainkey TXT {txt(sbdkim.public_record('ed25519', ed.public))}",
            f"sel-rsa._domainkey TXT {txt(sbdkim.public_record('rsa', rsa.public))}",
            f"odk._domainkey TXT {txt(opendkim_txt)}",
        ],
        "fwd.test": [f"arc._domainkey TXT {txt(sbdkim.public_record('rsa', rsa.public))}"],
        "spoof.test": ['@ TXT "v=spf1 ip4:192.0.2.1 -all"', '_dmarc TXT "v=DMARC1; p=reject"'],
        "quar.test": ['@ TXT "v=spf1 -all"', '_dmarc TXT "v=DMARC1; p=quarantine"'],
        "lenient.test": [
            '@ TXT "v=spf1 include:loop1.lenient.test -all"',
            'loop1 TXT "v=spf1 include:loop2.lenient.test -all"',
            'loop2 TXT "v=spf1 include:loop1.lenient.test -all"',
            '_dmarc TXT "v=DMARC1; p=none"',
            f"sel-rsa._domainkey TXT {txt(sbdkim.public_record('rsa', rsa.public))}",
        ],
        "chain.test": [
            '@ TXT "v=spf1 include:c1.chain.test -all"',
            *chain,
            'c11 TXT "v=spf1 ip4:127.0.0.1 -all"',
            '_dmarc TXT "v=DMARC1; p=reject; pct=lots; rua; foo=bar; adkim=x; sp"',
        ],
    }


def opendkim_key(tmp: Path) -> tuple[Path, str]:
    """A key made by opendkim-genkey: its private file and its TXT record value."""
    exe = require_tool("opendkim-genkey")
    subprocess.run([exe, "-b", "2048", "-d", "good.test", "-s", "odk", "-D", str(tmp)], check=True)
    record = (tmp / "odk.txt").read_text()
    value = "".join(part for part in record.split('"')[1::2])
    return tmp / "odk.private", value


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, dict]]:
    tmp = tmp_path_factory.mktemp("mailauth")
    keys = {a: sbdkim.generate(a) for a in sbdkim.ALGORITHMS}
    odk_file, odk_txt = opendkim_key(tmp)
    stack = Stack(tmp)
    stack.settings["smtp"].update(
        {
            "inbound_auth": True,
            "inbound_resolvers": [f"127.0.0.1:{stack.ports['dns']}"],
            "inbound_dns_timeout": 2.0,
            "max_connections_per_address": 100,
            "dmarc_reject_action_domains": [f"{LISTS}=mark"],
        }
    )
    stack.provision(mailboxes={BOB: BOB_PW})
    stack.cli("domain", "add", LISTS, "--org", "acme", check=True)
    stack.cli("mail", "enable", LISTS, check=True)
    stack.cli("mailbox", "add", ANN, "--password-stdin", stdin=BOB_PW + "\n", check=True)
    stack.cli("org", "add", "world", check=True)
    for domain, lines in zones(keys, odk_txt).items():
        stack.cli("domain", "add", domain, "--org", "world", check=True)
        zone_file = tmp / f"{domain}.zone"
        zone_file.write_text(f"$ORIGIN {domain}.\n$TTL 300\n" + "\n".join(lines) + "\n")
        stack.cli("dns", "import", domain, str(zone_file), check=True)
    stack.start()
    signing = [
        sbdkim.load_key("good.test", "sel-ed", "ed25519", keys["ed25519"].private_pem),
        sbdkim.load_key("good.test", "sel-rsa", "rsa", keys["rsa"].private_pem),
    ]
    lenient = [sbdkim.load_key("lenient.test", "sel-rsa", "rsa", keys["rsa"].private_pem)]
    arc = sbdkim.load_key("fwd.test", "arc", "rsa", keys["rsa"].private_pem)
    try:
        yield stack, {"good": signing, "lenient": lenient, "odk": odk_file, "arc": arc}
    finally:
        stack.stop()


def message(sender: str, subject: str, extra: str = "") -> bytes:
    return (
        f"{extra}From: <{sender}>\r\nTo: <{BOB}>\r\nSubject: {subject}\r\n"
        f"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <{subject}@x.test>\r\n"
        "\r\nhello\r\n"
    ).encode()


def send(stack: Stack, mail_from: str, data: bytes) -> tuple[int, str]:
    """(code, text) of the reply to the end of DATA on the MX port."""
    with smtplib.SMTP(
        "127.0.0.1", stack.ports["smtp_mx"], local_hostname="mta.sender.test", timeout=30
    ) as c:
        c.ehlo()
        c.mail(mail_from)
        code, text = c.rcpt(BOB)
        assert code == 250, text
        code, reply = c.data(data)
        return code, reply.decode()


def stored(
    stack: Stack, subject: str, folder: str = "", address: str = BOB
) -> list[email.message.Message]:
    local, domain = address.split("@")
    root = stack.data / "mail" / domain / local
    if folder:
        root = root / f".{folder}"
    out = []
    for sub in ("new", "cur"):
        for path in (root / sub).glob("*"):
            msg = email.message_from_bytes(path.read_bytes())
            if msg["Subject"] == subject:
                out.append(msg)
    return out


def results(msg: email.message.Message) -> str:
    ours = [v for v in msg.get_all("Authentication-Results", []) if v.lower().startswith(MX_ID)]
    assert len(ours) == 1, msg.get_all("Authentication-Results")
    return " ".join(ours[0].split())


def check_workers_of(pid: int) -> list[int]:
    """The check worker processes the server `pid` runs (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"swissbox.mailauth.checkworker" in cmdline:
            found.append(int(stat.parent.name))
    return found


def test_the_check_worker_starts_with_the_server(world: tuple[Stack, dict]) -> None:
    """Before any message arrives (the first ones do not wait for a process to start)."""
    stack, _ = world
    assert stack.proc is not None
    eventually(lambda: check_workers_of(stack.proc.pid), 20, "no check worker started")


def test_signed_mail_passes_and_forged_results_are_removed(world: tuple[Stack, dict]) -> None:
    stack, keys = world
    forged = f"Authentication-Results: {MX_ID}; dmarc=pass header.from=good.test\r\n"
    body = message("alice@good.test", "signed-pass")
    data = forged.encode() + sbdkim.sign(body, keys["good"]) + body
    code, _ = send(stack, "alice@good.test", data)
    assert code == 250
    (msg,) = stored(stack, "signed-pass")
    ar = results(msg)
    assert "spf=pass smtp.mailfrom=good.test" in ar
    assert "dkim=pass header.d=good.test header.s=sel-ed header.a=ed25519-sha256" in ar
    assert "dkim=pass header.d=good.test header.s=sel-rsa header.a=rsa-sha256" in ar
    assert "dmarc=pass (p=reject dis=NONE) header.from=good.test" in ar
    assert "dmarc=pass header.from=good.test" not in ar  # the forged one is gone


def test_dmarc_reject_is_refused_and_the_server_keeps_serving(world: tuple[Stack, dict]) -> None:
    stack, keys = world
    code, text = send(stack, "ceo@spoof.test", message("ceo@spoof.test", "spoofed"))
    assert (code, text.split()[0]) == (550, "5.7.1") and "spoof.test" in text
    # a signature by another domain does not align: still refused
    body = message("ceo@spoof.test", "spoofed-signed")
    code, _ = send(stack, "alice@good.test", sbdkim.sign(body, keys["good"]) + body)
    assert code == 550
    assert not stored(stack, "spoofed") and not stored(stack, "spoofed-signed")
    assert send(stack, "alice@good.test", message("alice@good.test", "after"))[0] == 250


def test_dmarc_reject_action_per_recipient_domain(world: tuple[Stack, dict]) -> None:
    """lists.example.test only marks a DMARC reject failure; mail for it and for example.test
    (reject) at once goes to Junk for both: one message, one action, the closest to each."""
    stack, _ = world

    def send_to(rcpts: list[str], subject: str) -> int:
        with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=30) as c:
            c.ehlo("mta.sender.test")
            c.mail("ceo@spoof.test")
            for rcpt in rcpts:
                assert c.rcpt(rcpt)[0] == 250
            return c.data(message("ceo@spoof.test", subject))[0]

    assert send_to([ANN], "marked-only") == 250
    (msg,) = stored(stack, "marked-only", address=ANN)
    assert "dmarc=fail (p=reject dis=REJECT)" in results(msg)
    assert send_to([BOB, ANN], "mixed-domains") == 250
    for address in (BOB, ANN):
        assert len(stored(stack, "mixed-domains", "Junk", address)) == 1, address
        assert not stored(stack, "mixed-domains", address=address)
    assert send_to([BOB], "rejected-alone") == 550


def test_dmarc_quarantine_goes_to_junk(world: tuple[Stack, dict]) -> None:
    stack, _ = world
    assert send(stack, "x@quar.test", message("x@quar.test", "quarantined"))[0] == 250
    (msg,) = stored(stack, "quarantined", "Junk")
    assert "spf=fail" in results(msg) and "dmarc=fail (p=quarantine dis=QUARANTINE)" in results(msg)
    assert not stored(stack, "quarantined")  # not in INBOX


def opendkim_signature(key: Path, tmp: Path, data: bytes) -> bytes:
    """The DKIM-Signature field OpenDKIM (the milter, in signing mode) adds to `data`."""
    exe = require_tool("opendkim")
    port = free_port()
    conf = tmp / "opendkim.conf"
    conf.write_text(
        f"Domain good.test\nSelector odk\nKeyFile {key}\nCanonicalization relaxed/relaxed\n"
        f"SignatureAlgorithm rsa-sha256\nMode s\nSocket inet:{port}@127.0.0.1\n"
        "Background no\nSyslog no\nRequireSafeKeys false\n"
    )
    conf.chmod(0o600)  # OpenDKIM refuses a configuration others may write
    key.chmod(0o600)
    proc = subprocess.Popen([exe, "-f", "-x", str(conf)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                milter = Milter(port)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"opendkim did not start: {proc.stderr}") from None
                time.sleep(0.05)
        try:
            added = milter.added_headers(data, "alice@good.test", BOB)
        finally:
            milter.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    ((name, value),) = added
    return f"{name}: {value}\r\n".replace("\r\n", "\n").replace("\n", "\r\n").encode()


def test_mail_signed_by_opendkim_verifies(world: tuple[Stack, dict], tmp_path: Path) -> None:
    stack, keys = world
    body = message("alice@good.test", "opendkim")
    signature = opendkim_signature(keys["odk"], tmp_path, body)
    assert b"a=rsa-sha256" in signature and b"d=good.test" in signature
    # from a client SPF does not allow: the DMARC pass rests on OpenDKIM's signature alone
    assert send(stack, "alice@bounces.spoof.test", signature + body)[0] == 250
    ar = results(stored(stack, "opendkim")[0])
    assert "spf=none smtp.mailfrom=bounces.spoof.test" in ar
    assert "dkim=pass header.d=good.test header.s=odk header.a=rsa-sha256" in ar
    assert "dmarc=pass" in ar
    changed = signature + body.replace(b"hello", b"hellO")
    code, _ = send(stack, "alice@bounces.spoof.test", changed)
    assert code == 550  # the one signature broken, SPF not aligned: p=reject


def test_arc_sealed_by_a_forwarder_is_reported(world: tuple[Stack, dict]) -> None:
    """A list server at fwd.test broke good.test's signature (subject tag) and sealed what
    it had seen: DMARC fails here (p=none on lenient.test), ARC passes and says so."""
    stack, keys = world
    body = message("l@lenient.test", "arc-sealed")
    seen = b"Authentication-Results: fwd.test; dkim=pass header.d=lenient.test\r\n" + body
    seal = dkim.arc_sign(seen, b"arc", b"fwd.test", keys["arc"].secret, b"fwd.test")
    assert send(stack, "list@fwd.test", b"".join(seal) + seen)[0] == 250
    ar = results(stored(stack, "arc-sealed")[0])
    assert "arc=pass (i=1)" in ar and "dmarc=fail" in ar
    forged = b"".join(seal) + seen.replace(b"hello", b"hello, changed")
    body2 = forged.replace(b"arc-sealed", b"arc-broken")
    assert send(stack, "list@fwd.test", body2)[0] == 250
    assert "arc=fail" in results(stored(stack, "arc-broken")[0])


def test_broken_and_truncated_signatures_and_an_spf_include_loop(world: tuple[Stack, dict]) -> None:
    stack, keys = world
    body = message("l@lenient.test", "broken")
    signed = sbdkim.sign(body, keys["lenient"]) + body
    changed = signed.replace(b"\r\nhello\r\n", b"\r\nhello, changed\r\n")
    assert send(stack, "l@lenient.test", changed)[0] == 250
    ar = results(stored(stack, "broken")[0])
    assert "spf=permerror (more than 10 DNS lookups) smtp.mailfrom=lenient.test" in ar
    assert "dkim=fail (body hash mismatch" in ar
    assert "dmarc=fail (p=none dis=NONE) header.from=lenient.test" in ar

    body = message("l@lenient.test", "truncated")
    sig = sbdkim.sign(body, keys["lenient"])
    cut = sig[: sig.index(b" b=") + 12] + b"\r\n"  # the signature ends ten characters into b=
    assert send(stack, "l@lenient.test", cut + body)[0] == 250
    ar = results(stored(stack, "truncated")[0])
    # RFC 6376 6.1.1: a b= that is not base64 is a malformed signature: PERMFAIL
    assert "dkim=permerror (b= value is not valid base64" in ar and "header.d=lenient.test" in ar


def test_eleven_lookup_spf_chain_and_a_dmarc_record_with_junk_tags(
    world: tuple[Stack, dict],
) -> None:
    stack, _ = world
    code, text = send(stack, "c@chain.test", message("c@chain.test", "chain"))
    assert code == 550 and "chain.test" in text  # p=reject read past the junk tags
    assert not stored(stack, "chain")


def test_fifty_sessions_at_once_each_get_the_right_answer(world: tuple[Stack, dict]) -> None:
    stack, keys = world
    kinds = {"good": 250, "spoof": 550, "quar": 250}

    def one(i: int) -> tuple[str, int]:
        kind = list(kinds)[i % 3]
        subject = f"crowd-{kind}-{i}"
        body = message(f"u{i}@{kind}.test", subject)
        data = sbdkim.sign(body, keys["good"]) + body if kind == "good" else body
        return subject, send(stack, f"u{i}@{kind}.test", data)[0]

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(one, range(50)))
    for subject, code in answers:
        kind = subject.split("-")[1]
        assert code == kinds[kind], (subject, code)
        where = "Junk" if kind == "quar" else ""
        assert len(stored(stack, subject, where)) == (0 if kind == "spoof" else 1), subject


def test_authenticated_submission_is_not_checked(world: tuple[Stack, dict]) -> None:
    stack, _ = world
    context = ssl.create_default_context(cafile=str(stack.ca_file))
    with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as c:
        c.starttls(context=context)
        c.login(BOB, BOB_PW)
        c.sendmail(BOB, [BOB], message(BOB, "submitted"))
    (msg,) = stored(stack, "submitted")
    assert not [v for v in msg.get_all("Authentication-Results", []) if v.startswith(MX_ID)]


def test_a_dns_server_that_never_answers_defers_with_451(tmp_path: Path) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # never read, never answered
    stack = Stack(tmp_path)
    stack.settings["smtp"].update(
        {
            "inbound_auth": True,
            "inbound_resolvers": [f"127.0.0.1:{silent.getsockname()[1]}"],
            "inbound_dns_timeout": 0.5,
        }
    )
    try:
        stack.provision(mailboxes={BOB: BOB_PW})
        stack.start()
        code, text = send(stack, "a@nowhere.test", message("a@nowhere.test", "silent"))
        assert (code, text.split()[0]) == (451, "4.7.0") and "nowhere.test" in text
        assert not stored(stack, "silent")
        done = threading.Event()  # the server still answers other commands at once
        with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as c:
            assert c.noop()[0] == 250
            done.set()
        assert done.is_set()
    finally:
        stack.stop()
        silent.close()
