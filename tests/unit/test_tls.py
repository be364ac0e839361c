"""tls: local CA + server certificate that clients verify; clear errors for bad files."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509

from swissbox.tls import CertPaths, TlsError, check_certificate, make_local_ca, server_context


def test_local_ca_layout(tmp_path: Path) -> None:
    paths = make_local_ca(tmp_path, "mx.example.test")
    chain = x509.load_pem_x509_certificates(paths.cert.read_bytes())
    leaf, ca = chain
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {"mx.example.test", "localhost"}
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert (paths.key.stat().st_mode & 0o777) == 0o600
    # a second call keeps the files
    before = paths.cert.read_bytes()
    make_local_ca(tmp_path, "mx.example.test")
    assert paths.cert.read_bytes() == before


@pytest.mark.parametrize("server_name", ["localhost", "mx.example.test", "127.0.0.1"])
def test_python_client_verifies_against_the_ca(tmp_path: Path, server_name: str) -> None:
    paths = make_local_ca(tmp_path, "mx.example.test")
    sctx = server_context(paths)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with sctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"hello")

    thread = threading.Thread(target=serve)
    thread.start()
    cctx = ssl.create_default_context(cafile=str(paths.ca))
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        cctx.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        assert tls.recv(5) == b"hello"
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    thread.join()
    listener.close()


def test_clear_errors(tmp_path: Path) -> None:
    paths = make_local_ca(tmp_path, "mx.example.test")
    with pytest.raises(TlsError, match="cannot read"):
        check_certificate(CertPaths(tmp_path / "missing.pem", paths.key))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("nope")
    with pytest.raises(TlsError, match="not a PEM certificate"):
        check_certificate(CertPaths(garbage, paths.key))
    with pytest.raises(TlsError, match="not an unencrypted PEM private key"):
        check_certificate(CertPaths(paths.cert, garbage))
    with pytest.raises(TlsError, match="does not belong"):
        check_certificate(CertPaths(paths.cert, tmp_path / "ca.key"))
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=4000)
    with pytest.raises(TlsError, match="expired"):
        check_certificate(paths, now=future)


def test_tls12_suites_are_aead_only(tmp_path: Path) -> None:
    suites = server_context(make_local_ca(tmp_path, "mx.example.test")).get_ciphers()
    tls12 = [s["name"] for s in suites if s["protocol"] == "TLSv1.2"]
    assert tls12 and all(s["aead"] and s["kea"] == "kx-ecdhe" for s in suites if s["name"] in tls12)
