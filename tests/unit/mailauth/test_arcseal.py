"""ARC sealing (RFC 8617) of forwarded mail: our set verifies with our own chain validator
(dkimpy underneath), extends a chain that passed (i=2, cv=pass), is left off when there are
no results of ours to vouch for, and refuses an Ed25519 key (ARC is rsa-sha256 only)."""

from __future__ import annotations

import dkim
import pytest

from swissbox.mailauth import dkim as sbdkim
from swissbox.mailauth.arcseal import seal
from swissbox.mailauth.arcverify import verify_chain
from tests.unit.mailauth.fakedns import FakeResolver

BODY = b"From: <a@sender.test>\r\nTo: <b@example.test>\r\nSubject: s\r\n\r\nbody\r\n"


def ours(results: str) -> bytes:
    return f"Authentication-Results: mx.example.test; {results}\r\n".encode()


@pytest.fixture(scope="module")
def keys() -> tuple[sbdkim.SigningKey, sbdkim.SigningKey, FakeResolver]:
    pairs = {d: sbdkim.generate("rsa") for d in ("example.test", "first.test")}
    key = sbdkim.load_key("example.test", "sel", "rsa", pairs["example.test"].private_pem)
    first = sbdkim.load_key("first.test", "arc", "rsa", pairs["first.test"].private_pem)
    dns = FakeResolver(
        {
            (f"{k.selector}._domainkey.{k.domain}", "TXT"): [
                sbdkim.public_record("rsa", pairs[k.domain].public)
            ]
            for k in (key, first)
        }
    )
    return key, first, dns


async def test_a_first_set_carries_our_results_and_verifies(keys: tuple) -> None:
    key, _, dns = keys
    message = ours("spf=pass smtp.mailfrom=a@sender.test; dkim=none; arc=none") + BODY
    data = seal(message, key, "mx.example.test") + message
    head = data.split(b"\r\n\r\n")[0]
    assert head.startswith(b"ARC-Seal: i=1; ") and b"cv=none" in head
    assert b"ARC-Authentication-Results: i=1; mx.example.test;" in head
    assert b"spf=pass" in head.split(b"ARC-Authentication-Results:")[1]
    got = await verify_chain(data, dns)
    assert (got.result, got.instances) == ("pass", 1)


async def test_a_chain_that_passed_is_extended(keys: tuple) -> None:
    key, first, dns = keys
    hop1 = b"Authentication-Results: first.test; spf=pass smtp.mailfrom=a@sender.test\r\n" + BODY
    hop1 = b"".join(dkim.arc_sign(hop1, b"arc", b"first.test", first.secret, b"first.test")) + hop1
    message = ours("spf=fail smtp.mailfrom=first.test; arc=pass") + hop1
    data = seal(message, key, "mx.example.test") + message
    assert b"ARC-Seal: i=2; " in data and b"cv=pass" in data.split(b"ARC-Seal: i=2; ")[1][:200]
    got = await verify_chain(data, dns)
    assert (got.result, got.instances) == ("pass", 2)


def test_nothing_to_vouch_for_and_wrong_keys(keys: tuple) -> None:
    key, _, _ = keys
    assert seal(BODY, key, "mx.example.test") == b""  # no results of ours
    foreign = b"Authentication-Results: other.test; spf=pass\r\n" + BODY
    assert seal(foreign, key, "mx.example.test") == b""
    ed = sbdkim.generate("ed25519")
    ed_key = sbdkim.load_key("example.test", "ed", "ed25519", ed.private_pem)
    with pytest.raises(sbdkim.SigningError):
        seal(ours("arc=none") + BODY, ed_key, "mx.example.test")
