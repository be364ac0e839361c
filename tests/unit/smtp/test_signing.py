"""DkimSigner: which messages it signs, with what, and what it leaves alone."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from swissbox.directory import Directory
from swissbox.directory import dkim as dk
from swissbox.smtp.signing import DkimSigner, published_key

MSG = b"From: a@example.test\r\nTo: b@remote.test\r\nSubject: s\r\n\r\nbody\r\n"


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    d = Directory(tmp_path / "db.sqlite")
    d.add_org("acme")
    d.add_domain("example.test", "acme", "ns1.example.test")
    d.add_domain("other.test", "acme", "ns1.example.test")
    return d


def test_signs_only_with_keys_seen_in_dns(directory: Directory, tmp_path: Path) -> None:
    made = dk.ensure_keys(directory, tmp_path, "example.test", now=1000)
    signer = DkimSigner(directory, tmp_path, clock=lambda: 2000)
    assert signer.sign(MSG) == MSG  # published, not yet seen
    for key in made:
        dk.confirm(directory, key.domain, key.selector, 1500)
    signed = signer.sign(MSG)  # a directory change: the cache is dropped at once
    assert signed.endswith(MSG) and signed.count(b"DKIM-Signature:") == 2
    assert b"d=example.test" in signed


def test_leaves_alone_what_it_cannot_sign(
    directory: Directory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    made = dk.ensure_keys(directory, tmp_path, "example.test", now=1000)
    for key in made:
        dk.confirm(directory, key.domain, key.selector, 1000)
    signer = DkimSigner(directory, tmp_path, clock=lambda: 2000)
    other = MSG.replace(b"a@example.test", b"a@other.test")
    assert signer.sign(other) == other  # no keys for that domain
    nofrom = MSG.replace(b"From: a@example.test\r\n", b"")
    assert signer.sign(nofrom) == nofrom
    broken = MSG.replace(b"To: b@remote.test", b"To b@remote.test")
    with caplog.at_level(logging.WARNING, "swissbox.smtp.dkim"):
        assert signer.sign(broken) == broken
    assert "not signed" in caplog.text
    # a key file that is not here (another front end made it): signs with the other key
    dk.key_path(tmp_path, "example.test", made[1].selector).unlink()
    signer = DkimSigner(directory, tmp_path, clock=lambda: 2000)
    with caplog.at_level(logging.ERROR, "swissbox.smtp.dkim"):
        signed = signer.sign(MSG)
    assert signed.count(b"DKIM-Signature:") == 1 and b"a=ed25519-sha256" in signed
    assert "cannot sign with" in caplog.text


def test_published_key() -> None:
    assert published_key(["v=DKIM1; k=ed25519; p=AB", "CD"]) == ("ed25519", "ABCD")
    assert published_key(["v=DKIM1; p=AB CD"]) == ("rsa", "ABCD")
    assert published_key(["v=spf1 -all"]) is None
    assert published_key(["v=DKIM2; p=AB"]) is None
