"""DKIM keys and signatures: bytes in, signed header lines out; checked by dkimpy's verifier
with the public keys handed to it as DNS would."""

from __future__ import annotations

import base64
import hashlib

import dkim
import dkim.crypto
import pytest
from cryptography.hazmat.primitives import serialization

from swissbox.mailauth import dkim as sbdkim

MESSAGE = (
    b"From: Alice <alice@example.test>\r\n"
    b"To: bob@remote.test\r\n"
    b"Cc: carol@remote.test\r\n"
    b"Subject: hello\r\n"
    b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
    b"Message-ID: <1@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Received: from somewhere\r\n"
    b"X-Mailer: test\r\n"
    b"\r\n"
    b"hello world\r\n"
)


@pytest.fixture(scope="module")
def pairs() -> dict[str, sbdkim.KeyPair]:
    return {a: sbdkim.generate(a) for a in sbdkim.ALGORITHMS}


def keys_of(pairs: dict[str, sbdkim.KeyPair], domain: str = "example.test") -> list:
    return [sbdkim.load_key(domain, f"sel-{a}", a, pairs[a].private_pem) for a in sbdkim.ALGORITHMS]


def dns_of(pairs: dict[str, sbdkim.KeyPair], domain: str = "example.test"):
    records = {
        f"sel-{a}._domainkey.{domain}.".encode(): sbdkim.public_record(a, p.public).encode()
        for a, p in pairs.items()
    }

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name)

    return dnsfunc


def verify_all(signed: bytes, dnsfunc) -> list[bool]:
    d = dkim.DKIM(signed)
    count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
    results = []
    for i in range(count):
        try:
            results.append(bool(dkim.DKIM(signed).verify(idx=i, dnsfunc=dnsfunc)))
        except dkim.DKIMException:
            results.append(False)
    return results


def test_dual_signature_verifies_and_covers_the_headers_that_matter(pairs) -> None:
    headers = sbdkim.sign(MESSAGE, keys_of(pairs))
    assert headers.count(b"DKIM-Signature:") == 2
    signed = headers + MESSAGE
    assert verify_all(signed, dns_of(pairs)) == [True, True]
    tags = [
        dkim.util.parse_tag_value(v) for n, v in dkim.DKIM(signed).headers if n == b"DKIM-Signature"
    ]
    assert [t[b"a"] for t in tags] == [b"ed25519-sha256", b"rsa-sha256"]
    for t in tags:
        assert t[b"c"] == b"relaxed/relaxed"
        assert t[b"d"] == b"example.test"
        h = [x.strip() for x in t[b"h"].split(b":")]
        assert h.count(b"from") == 2  # oversigned: a second From: breaks it
        for name in (b"to", b"cc", b"subject", b"date", b"message-id", b"mime-version"):
            assert h.count(name) == 1
        assert b"content-type" in h
        assert b"received" not in h and b"x-mailer" not in h


def test_tampering_and_an_added_from_break_the_signature(pairs) -> None:
    signed = sbdkim.sign(MESSAGE, keys_of(pairs)) + MESSAGE
    dnsfunc = dns_of(pairs)
    assert verify_all(signed.replace(b"hello world", b"hello World"), dnsfunc) == [False, False]
    assert verify_all(signed.replace(b"Subject: hello", b"Subject: HELLO"), dnsfunc) == [
        False,
        False,
    ]
    added = signed.replace(b"To: bob", b"From: mallory@evil.test\r\nTo: bob")
    assert verify_all(added, dnsfunc) == [False, False]
    # relaxed/relaxed: refolding and trailing spaces do not matter
    refolded = signed.replace(b"Subject: hello", b"Subject:   hello  ")
    assert verify_all(refolded, dnsfunc) == [True, True]


def test_openssl_rsa_signature_is_the_bytes_dkimpy_computes() -> None:
    pair = sbdkim.generate("rsa")
    der = serialization.load_pem_private_key(pair.private_pem, None).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    parsed = dkim.crypto.parse_private_key(der)
    digest = hashlib.sha256(b"some header bytes")
    assert sbdkim._openssl_rsa_sign(digest, parsed) == sbdkim._PURE_RSA_SIGN(digest, parsed)


def test_keys_are_ed25519_and_rsa_2048() -> None:
    rsa_key = serialization.load_pem_private_key(sbdkim.generate("rsa").private_pem, None)
    assert rsa_key.key_size == 2048  # type: ignore[union-attr]
    ed = sbdkim.generate("ed25519")
    assert len(base64.b64decode(ed.public)) == 32
    assert sbdkim.public_record("ed25519", ed.public) == f"v=DKIM1; k=ed25519; p={ed.public}"
    with pytest.raises(ValueError):
        sbdkim.generate("dsa")


@pytest.mark.parametrize(
    ("header", "domain"),
    [
        (b"From: Alice <alice@Example.TEST>\r\n", "example.test"),
        (b"From: a@example.test, b@example.test\r\n", "example.test"),
        (b"From: =?utf-8?q?J=C3=BCrg?= <j@example.test>\r\n", "example.test"),
        (b"From: Alice\r\n <alice@example.test>\r\n", "example.test"),
        (b"from:alice@example.test\r\n", "example.test"),
        (b"From: a@example.test, b@other.test\r\n", None),
        (b"From: a@example.test\r\nFrom: b@example.test\r\n", None),
        (b"From: undisclosed\r\n", None),
        (b"Sender: a@example.test\r\n", None),
    ],
)
def test_from_domain(header: bytes, domain: str | None) -> None:
    assert sbdkim.from_domain(header + b"To: x@y.test\r\n\r\nbody From: a@z.test\r\n") == domain


def test_unreadable_header_is_a_signing_error(pairs) -> None:
    with pytest.raises(sbdkim.SigningError):
        sbdkim.sign(b"From: a@example.test\r\nnot a header line\r\n\r\nbody\r\n", keys_of(pairs))


def test_a_key_of_the_wrong_kind_is_refused(pairs) -> None:
    with pytest.raises(sbdkim.SigningError):
        sbdkim.load_key("example.test", "s", "rsa", pairs["ed25519"].private_pem)
    with pytest.raises(sbdkim.SigningError):
        sbdkim.load_key("example.test", "s", "ed25519", b"not a key")


def test_no_keys_no_signature() -> None:
    assert sbdkim.sign(MESSAGE, []) == b""
