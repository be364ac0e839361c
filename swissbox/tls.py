"""TLS: a local CA and server certificate made on `init`, configured PEM files, server contexts.

The arrangement every client accepts (LIBRARY-NOTES): a small local CA (CA:TRUE, keyCertSign)
and a server certificate signed by it (CA:FALSE, serverAuth, SANs); clients are given the CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from swissbox.conf import Config

CA_CERT, CA_KEY = "ca.pem", "ca.key"
SERVER_CERT, SERVER_KEY = "server.pem", "server.key"

# TLS 1.2 suites every listener offers (OpenSSL syntax): forward-secret AEAD only. CBC suites
# are obsolete and open to padding-oracle timing (LUCKY13). TLS 1.3 suites are all AEAD and
# are not governed by this string.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


class TlsError(Exception):
    """A certificate or key that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class CertPaths:
    cert: Path
    key: Path
    ca: Path | None = None  # the local CA that clients should trust, when we made one


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_local_ca(tls_dir: Path, hostname: str, days: int = 3650) -> CertPaths:
    """Creates <tls_dir>/ca.pem + ca.key and a server certificate signed by it.

    SANs: hostname, localhost, 127.0.0.1 and ::1. Existing files are left alone.
    """
    tls_dir.mkdir(parents=True, exist_ok=True)
    paths = CertPaths(tls_dir / SERVER_CERT, tls_dir / SERVER_KEY, tls_dir / CA_CERT)
    if paths.cert.exists() and paths.key.exists() and paths.ca and paths.ca.exists():
        return paths
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "swissbox local CA"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"swissbox local CA for {hostname}"),
        ]
    )
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for dns_name in dict.fromkeys([hostname, "localhost"]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(dns_name)))
        except ValueError:
            names.append(x509.DNSName(dns_name))
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=min(days, 825)))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                key_cert_sign=False,
                crl_sign=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(tls_dir / CA_KEY, _key_pem(ca_key))
    (tls_dir / CA_CERT).write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(paths.key, _key_pem(key))
    # The chain: leaf first, then the CA, so clients that were given the CA can build the path.
    paths.cert.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    return paths


def configured_paths(config: Config) -> CertPaths:
    """`[tls] cert`/`key` (relative to the config file's folder), else the local CA's files."""
    tls = config.settings.tls
    if tls.cert:
        return CertPaths(config.relative(tls.cert), config.relative(tls.key))
    d = config.tls_dir
    return CertPaths(d / SERVER_CERT, d / SERVER_KEY, d / CA_CERT)


def check_certificate(paths: CertPaths, now: dt.datetime | None = None) -> x509.Certificate:
    """Loads and checks the pair: readable, PEM, not expired, key matching. Raises TlsError."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        cert_pem = paths.cert.read_bytes()
    except OSError as exc:
        raise TlsError(f"certificate {paths.cert}: cannot read ({exc.strerror})") from None
    try:
        key_pem = paths.key.read_bytes()
    except OSError as exc:
        raise TlsError(f"private key {paths.key}: cannot read ({exc.strerror})") from None
    try:
        cert = x509.load_pem_x509_certificates(cert_pem)[0]
    except ValueError:
        raise TlsError(f"certificate {paths.cert}: not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise TlsError(f"private key {paths.key}: not an unencrypted PEM private key") from None
    if cert.not_valid_after_utc < now:
        raise TlsError(f"certificate {paths.cert}: expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    if cert.not_valid_before_utc > now + dt.timedelta(days=1):
        raise TlsError(
            f"certificate {paths.cert}: not valid before {cert.not_valid_before_utc:%Y-%m-%d}"
        )
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(
        serialization.Encoding.DER, pub
    ) != cert.public_key().public_bytes(serialization.Encoding.DER, pub):
        raise TlsError(f"private key {paths.key} does not belong to certificate {paths.cert}")
    return cert


def server_context(paths: CertPaths) -> ssl.SSLContext:
    """A TLS 1.2+ server context (AEAD suites only) for STARTTLS and implicit-TLS listeners."""
    check_certificate(paths)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(paths.cert), str(paths.key))
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    return ctx


def twisted_options(paths: CertPaths) -> Any:
    """The same certificate and suites for Twisted listeners (IMAP, HTTPS): CertificateOptions."""
    from OpenSSL import crypto
    from twisted.internet import ssl as tssl

    check_certificate(paths)
    pems = x509.load_pem_x509_certificates(paths.cert.read_bytes())
    chain = [
        crypto.load_certificate(crypto.FILETYPE_PEM, c.public_bytes(serialization.Encoding.PEM))
        for c in pems
    ]
    key = crypto.load_privatekey(crypto.FILETYPE_PEM, paths.key.read_bytes())
    return tssl.CertificateOptions(
        privateKey=key,
        certificate=chain[0],
        extraCertChain=chain[1:],
        raiseMinimumTo=tssl.TLSVersion.TLSv1_2,
        acceptableCiphers=tssl.AcceptableCiphers.fromOpenSSLCipherString(TLS12_CIPHERS),
    )


def client_context(ca: Path | None) -> ssl.SSLContext:
    """For tests and tools: a client context trusting our local CA."""
    ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
    return ctx


class LiveCertificate:
    """The certificate every listener serves, replaceable while they run.

    Listeners hold `ssl_context()` / `twisted_options()`, which never change; `load()` swaps
    what they hand to new connections. Connections already open keep the certificate they
    shook hands with. Call from the event loop thread (handshakes start there).
    """

    def __init__(self, paths: CertPaths) -> None:
        self.paths = paths
        self._ssl: ssl.SSLContext | None = None
        self._twisted: Any = None
        self._front: ssl.SSLContext | None = None
        self._front_twisted: Any = None

    def load(self, paths: CertPaths) -> x509.Certificate:
        """Checks `paths` and serves them from now on; TlsError (old one kept) if unusable."""
        cert = check_certificate(paths)
        fresh_ssl = server_context(paths)
        fresh_twisted = twisted_options(paths)
        self.paths, self._ssl, self._twisted = paths, fresh_ssl, fresh_twisted
        return cert

    def _current_ssl(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = server_context(self.paths)
        return self._ssl

    def _current_twisted(self) -> Any:
        if self._twisted is None:
            self._twisted = twisted_options(self.paths)
        return self._twisted

    def ssl_context(self) -> ssl.SSLContext:
        """For asyncio listeners and STARTTLS: a context that hands each new handshake the
        current certificate (OpenSSL calls the SNI hook even when the client sends no name)."""
        if self._front is None:
            front = server_context(self.paths)

            def current(sslobj: Any, _name: str | None, _ctx: ssl.SSLContext) -> None:
                sslobj.context = self._current_ssl()

            front.sni_callback = current
            self._front = front
        return self._front

    def twisted_options(self) -> Any:
        """For Twisted listeners and startTLS: a connection creator that asks for the current
        certificate's options at each new connection."""
        if self._front_twisted is None:
            self._front_twisted = _LiveTwistedOptions(self._current_twisted)
        return self._front_twisted


class _LiveTwistedOptions:
    """IOpenSSLServerConnectionCreator over whatever CertificateOptions is current."""

    def __init__(self, current: Any) -> None:
        from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
        from zope.interface import directlyProvides

        self._current = current
        directlyProvides(self, IOpenSSLServerConnectionCreator)

    def serverConnectionForTLS(self, protocol: Any) -> Any:  # noqa: N802 (Twisted API)
        return self._current().serverConnectionForTLS(protocol)

    def getContext(self) -> Any:  # noqa: N802 (Twisted API)
        return self._current().getContext()
