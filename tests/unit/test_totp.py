"""RFC 6238 TOTP (its appendix B test vectors), the replay rule, otpauth URIs and recovery
codes of `swissbox.auth.totp`."""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from swissbox.auth import totp

SEED_SHA1 = b"12345678901234567890"
SEED_SHA256 = SEED_SHA1 + b"123456789012"
SEED_SHA512 = SEED_SHA1 * 3 + b"1234"

VECTORS = [  # RFC 6238 appendix B: (time, SHA1, SHA256, SHA512), 8 digits
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("now", "sha1", "sha256", "sha512"), VECTORS)
def test_rfc6238_vectors(now: int, sha1: str, sha256: str, sha512: str) -> None:
    counter = totp.step_of(now)
    assert totp.hotp(SEED_SHA1, counter, 8, "sha1") == sha1
    assert totp.hotp(SEED_SHA256, counter, 8, "sha256") == sha256
    assert totp.hotp(SEED_SHA512, counter, 8, "sha512") == sha512


def test_code_at_is_the_last_six_digits_of_the_vector() -> None:
    secret = base64.b32encode(SEED_SHA1).decode()
    assert totp.code_at(secret, 59) == "287082"
    assert totp.code_at(secret.lower().rstrip("="), 1111111109) == "081804"


def test_match_step_window_and_replay() -> None:
    secret = totp.new_secret()
    now = 1_700_000_000.0
    code = totp.code_at(secret, now)
    step = totp.step_of(now)
    assert totp.match_step(secret, code, now, None) == step
    assert totp.match_step(secret, code[:3] + " " + code[3:], now, None) == step
    assert totp.match_step(secret, code, now, last_step=step) is None  # replayed
    assert totp.match_step(secret, code, now + totp.STEP, None) == step  # one step late: fine
    assert totp.match_step(secret, code, now + 3 * totp.STEP, None) is None  # too old
    earlier = totp.code_at(secret, now - totp.STEP)
    assert totp.match_step(secret, earlier, now, last_step=step) is None  # older after newer


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "12 34 5x", "٣٣٣٣٣٣"])
def test_malformed_codes_never_match(bad: str) -> None:
    assert totp.match_step(totp.new_secret(), bad, 1_700_000_000, None) is None


def test_secret_is_160_bits_of_base32() -> None:
    secret = totp.new_secret()
    assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 20
    assert secret != totp.new_secret()


def test_otpauth_uri_names_issuer_and_account() -> None:
    uri = totp.otpauth_uri("JBSWY3DPEHPK3PXP", "ann@acme.test", "swissbox")
    parsed = urllib.parse.urlsplit(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert urllib.parse.unquote(parsed.path) == "/swissbox:ann@acme.test"
    query = urllib.parse.parse_qs(parsed.query)
    assert query["secret"] == ["JBSWY3DPEHPK3PXP"] and query["issuer"] == ["swissbox"]
    assert query["digits"] == ["6"] and query["period"] == ["30"]


def test_recovery_codes_are_ten_distinct_and_hash_loosely_typed() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 == len(set(codes))
    code = codes[0]
    assert len(code) == 11 and code[5] == "-"
    assert totp.recovery_digest(code) == totp.recovery_digest(" " + code.upper().replace("-", ""))
    assert totp.recovery_digest(code) != totp.recovery_digest(codes[1])
