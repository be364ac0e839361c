"""MTA-STS both ways, on loopback. Ours: `mail enable` publishes `_mta-sts` and `_smtp._tls`,
and the HTTPS site serves the policy by Host header (curl). Theirs: the outbound queue fetches
recipient domains' policies from an HTTPS server with its own CA, caches them, and under an
`enforce` policy delivers only to a listed MX over TLS with a certificate valid for its name."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import smtplib
import ssl
import subprocess
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import dns.resolver
import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from swissbox.mailauth.mtasts import parse_policy, parse_record
from swissbox.mailstore.queuestate import QueueState
from tests.conftest import require_tool
from tests.integration.test_smtp_outbound import RemoteMx, wait_for
from tests.support.stack import Stack, free_port

ALICE, PASSWORD = "alice@example.test", "alice-mailbox-pw"


class WorldCa:
    """A CA of the test's own and certificates it signs (EC P-256)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test world CA")])
        self.name = name
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = folder / "ca.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def server_context(self, label: str, names: list[str]) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
            .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_path, key_path = self.folder / f"{label}.pem", self.folder / f"{label}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_path, key_path)
        return context


class PolicyServer:
    """https://mta-sts.<domain>/.well-known/mta-sts.txt for several domains, by Host."""

    def __init__(self, context: ssl.SSLContext, policies: dict[str, str]) -> None:
        self.policies, self.fetches = policies, []  # type: ignore[var-annotated]
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                host = (self.headers.get("Host") or "").split(":")[0]
                outer.fetches.append((host, self.path))
                body = outer.policies.get(host.removeprefix("mta-sts."))
                if self.path != "/.well-known/mta-sts.txt" or body is None:
                    self.send_error(404)
                    return
                status, kind, data = 200, "text/plain", body.encode()
                if body.startswith("HTTP "):  # "HTTP <status> <type>\n<body>": a bad answer
                    first, _, rest = body.partition("\n")
                    status, kind, data = int(first.split()[1]), first.split()[2], rest.encode()
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "https://elsewhere.test/policy")
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def policy(mode: str, *mx: str) -> str:
    return "version: STSv1\nmode: {}\n{}max_age: 86400\n".format(
        mode,
        "".join(f"mx: {h}\n" for h in mx),
    )


# domain -> (its MX host name, its policy); the sink's certificate names mx.good.test only
WORLD = {
    "good.test": ("mx.good.test", policy("enforce", "mx.good.test")),
    "badcert.test": ("mx.badcert.test", policy("enforce", "mx.badcert.test")),
    "unlisted.test": ("mx.good.test", policy("enforce", "mx.elsewhere.test")),
    "testing.test": ("mx.badcert.test", policy("testing", "mx.badcert.test")),
    "wildcard.test": ("a.mx.good.test", policy("enforce", "*.mx.good.test")),
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Stack, RemoteMx, PolicyServer]]:
    ca = WorldCa(tmp_path / "world-ca")
    sink_tls = ca.server_context("mx", ["mx.good.test", "a.mx.good.test"])
    remote = RemoteMx()
    mx_port = free_port()
    controller = Controller(remote, hostname="127.0.0.1", port=mx_port, tls_context=sink_tls)
    controller.start()
    sts_tls = ca.server_context("sts", [f"mta-sts.{d}" for d in WORLD])
    policies = PolicyServer(sts_tls, {d: p for d, (_, p) in WORLD.items()})
    stack = Stack(tmp_path)
    stack.settings["smtp"].update(
        {
            "outbound_port": mx_port,
            "outbound_https_port": policies.port,
            "outbound_ca_file": str(ca.ca_file),
            "retry_schedule": [3600.0],
        }
    )
    try:
        stack.provision(mailboxes={ALICE: PASSWORD})
        stack.cli("org", "add", "world", check=True)
        zones: dict[str, list[str]] = {d: [] for d in WORLD}
        for domain, (mx, _) in WORLD.items():
            zones[domain] += [
                f"@ 300 IN MX 10 {mx}.",
                "mta-sts 300 IN A 127.0.0.1",
                '_mta-sts 300 IN TXT "v=STSv1; id=1"',
            ]
            zone = next(z for z in WORLD if mx.endswith("." + z))
            zones[zone].append(f"{mx}. 300 IN A 127.0.0.1")
        for domain, lines in zones.items():
            stack.cli("domain", "add", domain, "--org", "world", check=True)
            zone_file = tmp_path / f"{domain}.zone"
            zone_file.write_text(f"$ORIGIN {domain}.\n" + "\n".join(sorted(set(lines))) + "\n")
            stack.cli("dns", "import", domain, str(zone_file), check=True)
        stack.start()
        yield stack, remote, policies
    finally:
        stack.stop()
        controller.stop()
        policies.close()


def submit(stack: Stack, to: list[str]) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = ALICE, ", ".join(to), "mta-sts"
    msg.set_content("hello\n")
    context = ssl.create_default_context(cafile=str(stack.ca_file))
    with smtplib.SMTP("127.0.0.1", stack.ports["submission"], timeout=10) as client:
        client.starttls(context=context)
        client.login(ALICE, PASSWORD)
        client.send_message(msg, ALICE, to)


def queue_replies(stack: Stack) -> dict[str, str]:
    """Recipients still waiting in the queue, with the last reply each got."""
    state = QueueState.open(stack.data / "queue.db")
    try:
        return {
            rcpt: s.reply
            for entry in state.entries()
            for rcpt, s in entry.recipients.items()
            if s.status == "pending"
        }
    finally:
        state.close()


def test_outbound_honours_recipients_policies(world) -> None:
    stack, remote, policies = world
    to = [f"user@{d}" for d in WORLD]
    submit(stack, to)
    wait_for(
        lambda: (
            sum(len(r) for _, r, _ in remote.received) == 3
            and len(queue_replies(stack)) == 2
            and all(queue_replies(stack).values())
        )
    )
    delivered = {r for _, rcpts, _ in remote.received for r in rcpts}
    # enforce with a valid certificate for a listed MX (exact or wildcard), and testing mode
    # with a bad certificate (delivered as without a policy)
    assert delivered == {"user@good.test", "user@wildcard.test", "user@testing.test"}
    replies = queue_replies(stack)
    assert set(replies) == {"user@badcert.test", "user@unlisted.test"}
    assert replies["user@badcert.test"].startswith("451 4.7.5 mx.badcert.test")
    assert "TLS required by MTA-STS" in replies["user@badcert.test"]
    assert replies["user@unlisted.test"].startswith("451 4.7.5 no MX of unlisted.test")
    assert sorted(h for h, _ in policies.fetches) == sorted(f"mta-sts.{d}" for d in WORLD)

    # a second message: policies come from the cache (same id), nothing fetched again
    submit(stack, ["again@good.test"])
    wait_for(lambda: any("again@good.test" in r for _, r, _ in remote.received))
    assert len(policies.fetches) == len(WORLD)
    # and the cache survives a restart
    cache = json.loads((stack.data / "mta-sts-cache.json").read_text())
    assert cache["good.test"]["mode"] == "enforce" and cache["good.test"]["id"] == "1"


def test_our_policy_records_and_page(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    stack.provision()
    stack.start()
    try:
        check_our_policy(stack)
    finally:
        stack.stop()


def check_our_policy(stack: Stack) -> None:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], stack.ports["dns"]
    [record] = resolver.resolve("_mta-sts.example.test", "TXT")
    policy_id = parse_record([b"".join(record.strings).decode()])
    [tlsrpt] = resolver.resolve("_smtp._tls.example.test", "TXT")
    assert b"".join(tlsrpt.strings) == b"v=TLSRPTv1; rua=mailto:postmaster@example.test"
    [cname] = resolver.resolve("mta-sts.example.test", "CNAME")
    assert cname.target.to_text() == f"{stack.hostname}."
    curl = require_tool("curl")
    port = stack.ports["https"]

    def fetch(host: str) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(
            [curl, "-sS", "-k", "-w", "\n%{http_code} %{content_type}",
             "--resolve", f"{host}:{port}:127.0.0.1",
             f"https://{host}:{port}/.well-known/mta-sts.txt"],
            capture_output=True, timeout=20,
        )  # fmt: skip
        # bytes, not text=True: universal newlines would turn the policy's CRLF into LF
        return subprocess.CompletedProcess(
            r.args, r.returncode, r.stdout.decode(), r.stderr.decode()
        )

    r = fetch("mta-sts.example.test")
    body, _, status = r.stdout.rpartition("\n")
    assert status.startswith("200 text/plain"), r.stdout + r.stderr
    policy = parse_policy(body.encode())
    assert policy.mode == "testing" and policy.mx == ("mx.example.test",)
    from swissbox.mailauth.mtasts import policy_id as id_of

    assert id_of(body) == policy_id  # the record's id is the served policy's
    # no policy for a domain without mail, nor for other host names
    assert fetch("mta-sts.other.test").stdout.endswith("404 text/plain; charset=utf-8")
    assert fetch("example.test").stdout.split("\n")[-1].startswith("404")


def test_policy_fetch_refuses_what_rfc_8461_refuses(tmp_path: Path) -> None:
    """Redirects, other content types, oversized bodies, a certificate for another name."""
    from swissbox.smtp.outbound.mtasts import FetchError, fetch_policy, verifying_context

    ca = WorldCa(tmp_path / "ca")
    good = policy("enforce", "mx.ok.test")
    answers = {
        "ok.test": good,
        "moved.test": "HTTP 301 text/plain\n" + good,
        "html.test": "HTTP 200 text/html\n" + good,
        "big.test": "HTTP 200 text/plain\n" + "x" * (64 * 1024 + 1),
        "gone.test": "HTTP 404 text/plain\nno",
    }
    server = PolicyServer(ca.server_context("sts", [f"mta-sts.{d}" for d in answers]), answers)
    context = verifying_context(str(ca.ca_file))
    try:
        body = fetch_policy("mta-sts.ok.test", "127.0.0.1", server.port, context, 10)
        assert parse_policy(body).mx == ("mx.ok.test",)
        for domain, why in [
            ("moved.test", "HTTP 301"),
            ("html.test", "text/html"),
            ("big.test", "64 KiB"),
            ("gone.test", "HTTP 404"),
            ("stranger.test", "SSLCertVerificationError"),  # the certificate lacks the name
        ]:
            with pytest.raises(FetchError, match=why):
                fetch_policy(f"mta-sts.{domain}", "127.0.0.1", server.port, context, 10)
    finally:
        server.close()
