"""Every TLS listener of the running stack, driven by `openssl s_client`: TLS 1.2 offers AEAD
suites only (CBC suites are refused: obsolete, LUCKY13), TLS 1.3 works, and HTTPS answers carry
HSTS while plain HTTP answers do not."""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator

import pytest

from swissbox.tls import client_context
from tests.conftest import require_tool
from tests.support.stack import Stack

# (port name, -starttls protocol or None for implicit TLS)
LISTENERS = [
    ("submissions", None),
    ("submission", "smtp"),
    ("imaps", None),
    ("imap", "imap"),
    ("https", None),
]
CBC = ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA256"]
AEAD = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"]
CHACHA = "ECDHE-ECDSA-CHACHA20-POLY1305"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("tls")) as stack:
        stack.start()
        yield stack
        stack.stop()


def negotiated(stack: Stack, name: str, starttls: str | None, *options: str) -> str | None:
    """The cipher `openssl s_client` agreed on with that listener, or None if it failed."""
    args = [
        require_tool("openssl"),
        "s_client",
        "-connect",
        f"127.0.0.1:{stack.ports[name]}",
        "-servername",
        "localhost",
        *options,
    ]
    if starttls:
        args += ["-starttls", starttls]
    out = subprocess.run(args, input="", capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        if ", Cipher is " in line:
            cipher = line.rsplit(" ", 1)[1]
            return None if cipher == "(NONE)" else cipher
    return None


@pytest.mark.parametrize(("name", "starttls"), LISTENERS)
def test_tls12_offers_aead_only(running: Stack, name: str, starttls: str | None) -> None:
    for cipher in CBC:
        assert negotiated(running, name, starttls, "-tls1_2", "-cipher", cipher) is None, cipher
    for cipher in [*AEAD, CHACHA]:
        assert negotiated(running, name, starttls, "-tls1_2", "-cipher", cipher) == cipher
    assert negotiated(running, name, starttls, "-tls1_3") is not None


def test_hsts_on_https_only(running: Stack) -> None:
    secure = urllib.request.urlopen(
        f"https://localhost:{running.ports['https']}/",
        context=client_context(running.ca_file),
        timeout=10,
    )
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = urllib.request.urlopen(f"http://127.0.0.1:{running.ports['http']}/", timeout=10)
    assert plain.headers["Strict-Transport-Security"] is None
