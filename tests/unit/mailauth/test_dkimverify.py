"""DKIM verification of every signature (dkimpy, keys from a dict resolver): RSA and Ed25519
pass; broken, truncated, unkeyed, weak, sha1 and l= signatures get RFC 6376/8301 results."""

from __future__ import annotations

import base64
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from swissbox.mailauth import dkim as sbdkim
from swissbox.mailauth.dkimverify import verify_all
from tests.unit.mailauth.fakedns import TIMEOUT, FakeResolver

MESSAGE = (
    b"From: Alice <alice@sender.test>\r\n"
    b"To: bob@example.test\r\n"
    b"Subject: hello\r\n"
    b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
    b"Message-ID: <1@sender.test>\r\n"
    b"\r\n"
    b"hello world\r\n"
)


@pytest.fixture(scope="module")
def pairs() -> dict[str, sbdkim.KeyPair]:
    return {a: sbdkim.generate(a) for a in sbdkim.ALGORITHMS}


def signed(pairs: dict, message: bytes = MESSAGE) -> tuple[bytes, FakeResolver]:
    keys = [
        sbdkim.load_key("sender.test", f"s-{a}", a, pairs[a].private_pem) for a in sbdkim.ALGORITHMS
    ]
    records = {
        (f"s-{a}._domainkey.sender.test", "TXT"): [sbdkim.public_record(a, pairs[a].public)]
        for a in sbdkim.ALGORITHMS
    }
    return sbdkim.sign(message, keys) + message, FakeResolver(records)


async def test_both_signatures_pass(pairs: dict) -> None:
    data, dns = signed(pairs)
    got = await verify_all(data, dns)
    assert [(r.result, r.domain, r.algorithm) for r in got] == [
        ("pass", "sender.test", "ed25519-sha256"),
        ("pass", "sender.test", "rsa-sha256"),
    ]


async def test_changed_body_and_header_fail(pairs: dict) -> None:
    data, dns = signed(pairs)
    assert {
        r.result for r in await verify_all(data.replace(b"hello world", b"hello w0rld"), dns)
    } == {"fail"}
    assert {
        r.result for r in await verify_all(data.replace(b"Subject: hello", b"Subject: HELLO"), dns)
    } == {"fail"}


async def test_truncated_and_garbled_signatures(pairs: dict) -> None:
    data, dns = signed(pairs)
    head, _, rest = data.partition(b"b=")
    truncated = head + b"b=AAAA" + rest[rest.index(b"\r\n") :]  # first b= cut short
    got = await verify_all(truncated, dns)
    assert got[0].result in ("fail", "permerror") and got[1].result == "pass"
    junk = b"DKIM-Signature: v=1; a=rsa-sha256; this is not tag=value\r\n" + MESSAGE
    assert [r.result for r in await verify_all(junk, dns)] == ["permerror"]
    missing = (
        b"DKIM-Signature: v=1; a=rsa-sha256; d=sender.test; s=x; h=from; bh=AAAA\r\n" + MESSAGE
    )
    got = await verify_all(missing, dns)
    assert got[0].result == "permerror" and "missing" in got[0].detail


async def test_no_key_is_permerror_timeout_is_temperror(pairs: dict) -> None:
    data, _ = signed(pairs)
    assert {r.result for r in await verify_all(data, FakeResolver({}))} == {"permerror"}
    slow = FakeResolver(
        {(f"s-{a}._domainkey.sender.test", "TXT"): TIMEOUT for a in sbdkim.ALGORITHMS}
    )
    assert {r.result for r in await verify_all(data, slow)} == {"temperror"}


async def test_weak_rsa_key_and_sha1_are_refused() -> None:
    import dkim

    # cryptography refuses to make keys under 1024 bits; OpenSSL's command still does
    made = subprocess.run(["openssl", "genrsa", "768"], capture_output=True, check=True)
    key = serialization.load_pem_private_key(made.stdout, None)
    assert isinstance(key, rsa.RSAPrivateKey)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pub = base64.b64encode(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    dns = FakeResolver({("weak._domainkey.sender.test", "TXT"): [f"v=DKIM1; k=rsa; p={pub}"]})
    line = dkim.sign(MESSAGE, b"weak", b"sender.test", pem, include_headers=[b"from"])
    got = await verify_all(line + MESSAGE, dns)
    assert got[0].result == "permerror" and "768" in got[0].detail
    sha1 = dkim.sign(
        MESSAGE,
        b"weak",
        b"sender.test",
        pem,
        include_headers=[b"from"],
        signature_algorithm=b"rsa-sha1",
    )
    got = await verify_all(sha1 + MESSAGE, dns)
    assert got[0].result == "permerror" and "sha1" in got[0].detail


async def test_l_tag_covering_part_of_the_body_is_policy(pairs: dict) -> None:
    import dkim

    keys = sbdkim.load_key("sender.test", "s-rsa", "rsa", pairs["rsa"].private_pem)
    dns = FakeResolver(
        {
            ("s-rsa._domainkey.sender.test", "TXT"): [
                sbdkim.public_record("rsa", pairs["rsa"].public)
            ]
        }
    )
    line = dkim.sign(
        MESSAGE, b"s-rsa", b"sender.test", keys.secret, include_headers=[b"from"], length=True
    )
    assert [r.result for r in await verify_all(line + MESSAGE, dns)] == ["pass"]  # l= = whole body
    appended = line + MESSAGE + b"click here: http://evil.test/\r\n"
    got = await verify_all(appended, dns)
    assert got[0].result == "policy" and "l=" in got[0].detail


async def test_unsigned_message_has_no_results() -> None:
    assert await verify_all(MESSAGE, FakeResolver({})) == []


async def test_large_message_is_verified_off_the_event_loop(pairs: dict, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Parsing the whole of a large message (~1 s for 30 MB) and hashing it run in a thread;
    the loop reads only its head."""
    import threading

    import dkim

    from swissbox.mailauth import dkimverify

    parsed_in: list[threading.Thread] = []

    class Recording(dkim.DKIM):  # type: ignore[misc]
        def __init__(self, *args: object, **kwargs: object) -> None:
            parsed_in.append(threading.current_thread())
            super().__init__(*args, **kwargs)

    big = MESSAGE + (b"y" * 76 + b"\r\n") * 8000  # ~600 KB
    assert len(big) > dkimverify.OFFLOAD_BYTES
    data, dns = signed(pairs, big)
    monkeypatch.setattr(dkim, "DKIM", Recording)
    assert [r.result for r in await verify_all(data, dns)] == ["pass", "pass"]
    changed = data[:-10] + b"zzzzzzzz\r\n"
    assert [r.result for r in await verify_all(changed, dns)] == ["fail", "fail"]
    assert len(parsed_in) == 2 and threading.main_thread() not in parsed_in


async def test_canonical_forms_kept_per_message_never_leak_into_the_next(pairs: dict) -> None:
    """The once-per-message canonical body/headers: message after message, each verified on
    its own bytes (a changed body right after a good one still fails)."""
    first, dns = signed(pairs)
    other = MESSAGE.replace(b"hello world", b"another body")
    second, _ = signed(pairs, other)
    tampered = first.replace(b"hello world", b"hello World")
    for data, want in ((first, "pass"), (second, "pass"), (tampered, "fail"), (first, "pass")):
        assert {r.result for r in await verify_all(data, dns)} == {want}


def test_openssl_rsa_verification_answers_as_dkimpy_does(pairs: dict) -> None:
    import hashlib

    import dkim.crypto

    from swissbox.mailauth import dkimverify

    private = serialization.load_pem_private_key(pairs["rsa"].private_pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    numbers = private.public_key().public_numbers()
    public = {"modulus": numbers.n, "publicExponent": numbers.e}
    pk = dkim.crypto.parse_pem_private_key(pairs["rsa"].private_pem)
    digest = hashlib.sha256(b"signed data")
    good = dkim.crypto.RSASSA_PKCS1_v1_5_sign(digest, pk)
    for signature in (good, good[:-1] + bytes([good[-1] ^ 1]), good[:-1], b""):
        ours = dkimverify._openssl_rsa_verify(digest, signature, public)
        try:
            theirs = bool(dkimverify._PURE_RSA_VERIFY(digest, signature, public))
        except Exception:  # dkimpy raises on a signature of the wrong length
            theirs = False
        assert ours == theirs, signature[:8]
    assert dkimverify._openssl_rsa_verify(digest, good, public)
