"""Certificates from a real ACME server (Pebble, Let's Encrypt's test CA) on loopback: HTTP-01
answered on our HTTP site, DNS-01 in our own zone; every TLS listener then serves the new
certificate to new connections while connections already open go on."""

from __future__ import annotations

import contextlib
import imaplib
import json
import smtplib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from dnslib import DNSRecord

from swissbox.acme.files import AcmeFiles
from tests.conftest import require_tool
from tests.support.pebble import Pebble
from tests.support.polling import eventually
from tests.support.stack import Stack

pytestmark = pytest.mark.tools
OP_NOTIFY = 4  # RFC 1996
HOST = "mx.example.test"


@pytest.fixture
def pebble_binary() -> str:
    return require_tool("pebble")


def acme_stack(tmp_path: Path, binary: str, **acme: Any) -> tuple[Stack, Pebble]:
    stack = Stack(tmp_path, hostname=HOST)
    pebble = Pebble(binary, tmp_path, stack.ports["http"], f"127.0.0.1:{stack.ports['dns']}")
    stack.settings["acme"] = {
        "enabled": True,
        "directory_url": pebble.directory_url,
        "ca_bundle": str(pebble.ca_file),
        "email": "hostmaster@example.test",
        "check_seconds": 0.5,
        "retry_seconds": 0.2,
        "dns_wait_seconds": 0,
        **acme,
    }
    return stack, pebble


@pytest.fixture
def stacks() -> Iterator[list[Any]]:
    running: list[Any] = []
    yield running
    for item in running:
        if isinstance(item, Stack):
            item.kill()
        else:
            item.stop()


def peer_cert(port: int, root: str | None = None, hostname: str = HOST) -> x509.Certificate:
    """The certificate an implicit-TLS listener presents (verified against `root` if given)."""
    ctx = ssl.create_default_context(cadata=root) if root else ssl._create_unverified_context()
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=hostname) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def starttls_cert(kind: str, port: int, root: str) -> x509.Certificate:
    """The certificate a STARTTLS listener presents, verified against `root` (the host name is
    checked by peer_cert; these clients connect by address)."""
    ctx = ssl.create_default_context(cadata=root)
    ctx.check_hostname = False
    if kind in ("smtp_mx", "submission"):
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            smtp.starttls(context=ctx)
            der = smtp.sock.getpeercert(binary_form=True)
    elif kind == "imap":
        imap = imaplib.IMAP4("127.0.0.1", port, timeout=5)
        imap.starttls(ssl_context=ctx)
        der = imap.sock.getpeercert(binary_form=True)
        imap.logout()
    else:  # ManageSieve (RFC 5804): capabilities end with OK, then STARTTLS
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            stream = raw.makefile("rb")
            while not stream.readline().startswith(b"OK"):
                pass
            raw.sendall(b"STARTTLS\r\n")
            assert stream.readline().startswith(b"OK")
            with ctx.wrap_socket(raw) as tls:
                der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def san(cert: x509.Certificate) -> list[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return sorted(ext.get_values_for_type(x509.DNSName))


def status(stack: Stack) -> dict[str, Any]:
    return dict(json.loads(stack.cli("status", "--json").stdout))


def test_http01_certificate_replaces_the_served_one_without_restart(
    tmp_path: Path, pebble_binary: str, stacks: list[Any]
) -> None:
    stack, pebble = acme_stack(tmp_path, pebble_binary, challenge="http-01")
    stacks += [stack, pebble]
    # The zone has no address for the host name yet: Pebble cannot reach us, the order fails.
    stack.provision(mailboxes={"alice@example.test": "Secret123"})
    stack.start()
    before = peer_cert(stack.ports["imaps"])
    assert "swissbox local CA" in before.issuer.rfc4514_string()
    old = imaplib.IMAP4_SSL(
        "127.0.0.1", stack.ports["imaps"], ssl_context=ssl._create_unverified_context()
    )
    old.login("alice@example.test", "Secret123")

    state = AcmeFiles(stack.data).state
    failed = eventually(lambda: state().last_error, timeout=20, what="a failed order")
    assert HOST in failed, failed
    assert peer_cert(stack.ports["imaps"]).serial_number == before.serial_number  # kept

    stack.cli("dns", "add", "example.test", "mx", "A", "127.0.0.1", check=True)
    root = pebble.issuing_root()

    def issued() -> x509.Certificate | None:
        try:
            return peer_cert(stack.ports["imaps"], root)
        except ssl.SSLError:
            return None

    cert = eventually(issued, timeout=20, what="the ACME certificate served on IMAPS")
    assert san(cert) == sorted(
        [HOST, "autoconfig.example.test", "autodiscover.example.test", "mta-sts.example.test"]
    )
    # Every other TLS listener hands new connections the same certificate.
    assert peer_cert(stack.ports["submissions"], root) == cert
    assert peer_cert(stack.ports["https"], root, "mta-sts.example.test") == cert
    for port in ("smtp_mx", "submission", "imap", "managesieve"):
        assert starttls_cert(port, stack.ports[port], root) == cert, port
    # `swissbox cert renew` asks the running server: not due now; --force renews anyway.
    assert "not due" in stack.cli("cert", "renew", check=True).stdout
    second = imaplib.IMAP4_SSL(
        "127.0.0.1", stack.ports["imaps"], ssl_context=ssl._create_unverified_context()
    )
    second.login("alice@example.test", "Secret123")
    assert "renewed" in stack.cli("cert", "renew", "--force", check=True).stdout
    renewed = peer_cert(stack.ports["imaps"], root)
    assert renewed.serial_number != cert.serial_number and san(renewed) == san(cert)
    # The connections opened before each renewal still work.
    for conn in (old, second):
        assert conn.noop()[0] == "OK"
        conn.logout()
    report = status(stack)["acme"]
    assert report["last_error"] == ""
    assert sorted(report["certificate"]["names"]) == san(cert)
    mode = (stack.data / "acme" / "cert.key").stat().st_mode & 0o777
    assert mode == 0o600
    assert (stack.data / "acme" / "account.key").stat().st_mode & 0o777 == 0o600


def test_dns01_wildcard_through_our_own_zone_notifies_secondaries(
    tmp_path: Path, pebble_binary: str, stacks: list[Any]
) -> None:
    secondary = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # stands in for a secondary
    secondary.bind(("127.0.0.1", 0))
    secondary.settimeout(0.2)
    stack, pebble = acme_stack(
        tmp_path, pebble_binary, challenge="dns-01", extra_names=["*.example.test"]
    )
    stacks += [stack, pebble]
    stack.settings["dns"]["notify"] = [f"127.0.0.1:{secondary.getsockname()[1]}"]
    stack.provision()
    stack.start()
    root = pebble.issuing_root()

    def issued() -> x509.Certificate | None:
        try:
            return peer_cert(stack.ports["https"], root, "www.example.test")
        except ssl.SSLError:
            return None

    cert = eventually(issued, timeout=20, what="the wildcard certificate served on HTTPS")
    assert "*.example.test" in san(cert)
    assert peer_cert(stack.ports["imaps"], root) == cert
    # The challenge record is gone again, and each change reached the secondary as a NOTIFY.
    listing = stack.cli("dns", "list", "example.test", check=True).stdout
    assert "_acme-challenge" not in listing, listing
    serials: set[int] = set()
    with contextlib.suppress(TimeoutError):
        while True:
            msg = DNSRecord.parse(secondary.recv(512))
            if msg.header.opcode == OP_NOTIFY and msg.rr:
                serials.add(msg.rr[0].rdata.times[0])
    secondary.close()
    assert len(serials) >= 3, serials  # at start, challenge published, challenge withdrawn
