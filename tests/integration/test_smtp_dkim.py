"""DKIM on submission, as the world meets it: `mail enable` makes the keys and publishes them in
our zone; the server signs every submitted message once, by its From: domain, before local
delivery and queueing; dkimpy's verifier (asking our DNS server) and OpenDKIM's
(opendkim-testmsg, its resolver pointed at our DNS server) accept the signatures."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import dkim
import dns.resolver
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import IN_CI, require_tool
from tests.integration.test_smtp_outbound import RemoteMx, inbox_messages, wait_for
from tests.support.stack import Stack, free_port

ALICE, PASSWORD = "alice@example.test", "alice-mailbox-pw"


def resolver_at(port: int) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], port, 5.0
    return resolver


def txt_lookup(port: int):
    """dkimpy's `dnsfunc`, asking our DNS server (never the machine's resolver)."""
    resolver = resolver_at(port)

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        try:
            answer = resolver.resolve(name.decode(), "TXT")
        except dns.exception.DNSException:
            return None
        return b"".join(b"".join(r.strings) for r in answer)

    return dnsfunc


def dkim_keys(stack: Stack) -> list[dict]:
    return json.loads(stack.cli("mail", "dkim", "list", "--json", check=True).stdout)


def signatures(data: bytes) -> list[dict[bytes, bytes]]:
    return [
        dkim.util.parse_tag_value(v)
        for n, v in dkim.DKIM(data).headers
        if n.lower() == b"dkim-signature"
    ]


def verified(data: bytes, port: int) -> list[bool]:
    out = []
    for i in range(len(signatures(data))):
        try:
            out.append(bool(dkim.DKIM(data).verify(idx=i, dnsfunc=txt_lookup(port))))
        except dkim.DKIMException:
            out.append(False)
    return out


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Stack, RemoteMx]]:
    """Our stack with example.test (mail) and remote.test (someone else's, served by our DNS
    for the test), and remote.test's mail server on loopback."""
    remote = RemoteMx()
    mx_port = free_port()
    controller = Controller(remote, hostname="127.0.0.1", port=mx_port)
    controller.start()
    stack = Stack(tmp_path)
    stack.settings["smtp"]["outbound_port"] = mx_port
    stack.settings["smtp"]["max_connections_per_address"] = 100  # fifty clients at once
    try:
        stack.provision(mailboxes={ALICE: PASSWORD})
        stack.cli("org", "add", "world", check=True)
        stack.cli("domain", "add", "remote.test", "--org", "world", check=True)
        stack.cli("dns", "add", "remote.test", "@", "MX", "10 mx.remote.test.", check=True)
        stack.cli("dns", "add", "remote.test", "mx", "A", "127.0.0.1", check=True)
        stack.start()
        # the server sees the new keys in DNS, then they sign
        wait_for(lambda: {k["state"] for k in dkim_keys(stack)} == {"signing"})
        yield stack, remote
    finally:
        stack.stop()
        controller.stop()


def submit(stack: Stack, to: list[str], subject: str = "signed", extra: dict | None = None) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Alice <{ALICE}>", ", ".join(to), subject
    for k, v in (extra or {}).items():
        msg[k] = v
    msg.set_content("hello world\n\nsigned by swissbox\n")
    context = ssl.create_default_context(cafile=str(stack.ca_file))
    with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as client:
        client.starttls(context=context)
        client.login(ALICE, PASSWORD)
        client.send_message(msg, ALICE, to)


def test_submitted_mail_is_signed_once_and_verifies(world: tuple[Stack, RemoteMx]) -> None:
    stack, remote = world
    keys = dkim_keys(stack)
    assert sorted(k["algorithm"] for k in keys) == ["ed25519", "rsa"]
    submit(stack, [ALICE, "ok@remote.test"], extra={"Cc": "ok2@remote.test"})
    wait_for(lambda: remote.received and inbox_messages(stack))
    local = next(
        p.read_bytes()
        for sub in ("new", "cur")
        for p in (stack.data / "mail" / "example.test" / "alice" / sub).glob("*")
    )
    _, _, sent = remote.received[0]
    for data in (local, sent):
        tags = signatures(data)
        assert [t[b"a"] for t in tags] == [b"ed25519-sha256", b"rsa-sha256"]
        assert {t[b"s"].decode() for t in tags} == {k["selector"] for k in keys}
        assert all(t[b"d"] == b"example.test" and t[b"c"] == b"relaxed/relaxed" for t in tags)
        h = [x.strip() for x in tags[0][b"h"].split(b":")]
        assert h.count(b"from") == 2 and b"cc" in h and b"message-id" in h and b"date" in h
        assert verified(data, stack.ports["dns"]) == [True, True]
    # the same signatures in both copies: signed once, before delivery and queueing
    assert signatures(local) == signatures(sent)


def test_opendkim_verifies_our_signatures(world: tuple[Stack, RemoteMx], tmp_path: Path) -> None:
    exe = require_tool("opendkim-testmsg")
    stack, remote = world
    submit(stack, ["ok@remote.test"], subject="for opendkim")
    wait_for(lambda: remote.received)
    data = remote.received[0][2]
    for drop in (0, 1):  # one signature at a time: RSA alone, then Ed25519 alone
        lines = data.split(b"\r\n")
        starts = [i for i, line in enumerate(lines) if line.lower().startswith(b"dkim-signature:")]
        end = starts[drop] + 1
        while lines[end][:1] in (b" ", b"\t"):
            end += 1
        single = b"\r\n".join(lines[: starts[drop]] + lines[end:])
        ok = opendkim_verify(exe, single, stack.ports["dns"], tmp_path)
        assert ok.returncode == 0, ok.stderr + ok.stdout
        broken = single.replace(b"signed by swissbox", b"signed by someone")
        bad = opendkim_verify(exe, broken, stack.ports["dns"], tmp_path)
        assert bad.returncode != 0 and b"bad signature" in (bad.stderr + bad.stdout).lower()


class DnsRelay:
    """UDP port 53 on a random loopback address, relayed to our DNS server: libresolv (which
    OpenDKIM uses) knows no other port."""

    def __init__(self, target: int) -> None:
        self.address = (
            f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
        )
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.address, 53))
        self.target = ("127.0.0.1", target)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                query, client = self.sock.recvfrom(4096)
            except OSError:
                return
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                up.settimeout(5)
                up.sendto(query, self.target)
                with contextlib.suppress(OSError):
                    self.sock.sendto(up.recv(65535), client)

    def close(self) -> None:
        self.sock.close()


def opendkim_verify(
    exe: str, data: bytes, dns_port: int, tmp_path: Path
) -> subprocess.CompletedProcess[bytes]:
    """opendkim-testmsg in a private mount namespace whose resolv.conf names the relay."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        if IN_CI:
            pytest.fail("opendkim-testmsg needs root and unshare to reach our DNS server")
        pytest.skip("needs root and unshare (resolv.conf in a private mount namespace)")
    relay = DnsRelay(dns_port)
    try:
        conf = tmp_path / "resolv.conf"
        conf.write_text(f"nameserver {relay.address}\noptions timeout:2 attempts:2\n")
        script = f'mount --bind "{conf}" /etc/resolv.conf && exec "{exe}"'
        return subprocess.run(
            ["unshare", "--mount", "sh", "-c", script],
            input=data.replace(b"\r\n", b"\n"),
            capture_output=True,
            timeout=60,
        )
    finally:
        relay.close()


def test_rotation_publishes_new_keys_and_keeps_signing_with_the_old(
    world: tuple[Stack, RemoteMx],
) -> None:
    stack, remote = world
    old = {k["selector"] for k in dkim_keys(stack)}
    r = stack.cli("mail", "dkim", "rotate", "example.test", check=True)
    assert "sign from" in r.stdout
    new = {k["selector"] for k in dkim_keys(stack)} - old
    assert len(new) == 2
    resolver = resolver_at(stack.ports["dns"])
    for selector in new:  # in our zone at once
        answer = resolver.resolve(f"{selector}._domainkey.example.test", "TXT")
        assert b"v=DKIM1" in b"".join(answer[0].strings)
    # the server sees them in DNS, but they wait out the TTL: the old keys still sign
    wait_for(
        lambda: (
            {k["state"] for k in dkim_keys(stack) if k["selector"] in new}
            == {"published, waiting for caches"}
        )
    )
    submit(stack, ["ok@remote.test"], subject="after rotate")
    wait_for(lambda: remote.received)
    data = remote.received[0][2]
    assert {t[b"s"].decode() for t in signatures(data)} == old
    assert verified(data, stack.ports["dns"]) == [True, True]
    again = stack.cli("mail", "dkim", "rotate", "example.test")
    assert again.returncode == 1 and "under way" in again.stderr


def test_dns_check_lists_the_dkim_records(world: tuple[Stack, RemoteMx]) -> None:
    """Where the zone is hosted elsewhere, `dns check` names the key records to publish there;
    here our own server plays the provider that has them, then lacks one."""
    stack, _ = world
    server = f"127.0.0.1:{stack.ports['dns']}"
    keys = dkim_keys(stack)
    r = stack.cli("dns", "check", "example.test", "--server", server)
    assert r.returncode == 0, r.stdout + r.stderr
    for key in keys:
        assert f"ok       {key['selector']}._domainkey.example.test. TXT" in r.stdout
    assert "ok       _mta-sts.example.test. TXT" in r.stdout
    assert "ok       _smtp._tls.example.test. TXT" in r.stdout
    rsa = next(k for k in keys if k["algorithm"] == "rsa")
    stack.cli("dns", "del", "example.test", f"{rsa['selector']}._domainkey", "TXT", check=True)
    r = stack.cli("dns", "check", "example.test", "--server", server)
    assert r.returncode == 1
    assert f"missing  {rsa['selector']}._domainkey.example.test. TXT" in r.stdout
    to_copy = r.stdout.split("put these records in the zone of your DNS provider:")[1]
    assert (
        f'{rsa["selector"]}._domainkey.example.test.\t3600\tIN\tTXT\t"v=DKIM1; k=rsa; p=' in to_copy
    )


def test_fifty_submissions_at_once_each_signed_once(world: tuple[Stack, RemoteMx]) -> None:
    """Good messages, messages with a From: alice may not use (refused) and messages whose
    header is not RFC 5322 (accepted, delivered unsigned) mixed: every good one arrives with
    exactly one valid signature per key."""
    from concurrent.futures import ThreadPoolExecutor

    stack, remote = world
    context = ssl.create_default_context(cafile=str(stack.ca_file))

    def one(i: int) -> str:
        kind = ("good", "good", "foreign", "broken")[i % 4]
        sender = "mallory@remote.test" if kind == "foreign" else ALICE
        head = f"From: {sender}\r\nTo: ok{i}@remote.test\r\nSubject: n{i} {kind}\r\n"
        if kind == "broken":
            head += "this line is not a header\r\n"
        data = (head + f"\r\nmessage {i}\r\n").encode()
        with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=30) as client:
            client.starttls(context=context)
            client.login(ALICE, PASSWORD)
            try:
                client.sendmail(ALICE, [f"ok{i}@remote.test"], data)
            except smtplib.SMTPDataError as exc:
                return f"refused {exc.smtp_code}"
        return kind

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(one, range(50)))
    assert results.count("refused 550") == sum(1 for i in range(50) if i % 4 == 2)
    accepted = [r for r in results if not r.startswith("refused")]
    wait_for(lambda: len(remote.received) == len(accepted), timeout=60)
    port = stack.ports["dns"]
    for _, _, data in remote.received:
        if b" broken" in data:
            assert b"DKIM-Signature" not in data
        else:
            assert len(signatures(data)) == 2 and verified(data, port) == [True, True]
