"""ARC chain validation (RFC 8617) with dkimpy: a set sealed by a forwarder passes, a body
changed after sealing fails, no ARC is none, a key lookup that times out is temperror."""

from __future__ import annotations

import dkim
import pytest

from swissbox.mailauth import dkim as sbdkim
from swissbox.mailauth.arcverify import verify_chain
from tests.unit.mailauth.fakedns import TIMEOUT, FakeResolver

MESSAGE = (
    b"Authentication-Results: fwd.test; spf=pass smtp.mailfrom=a@sender.test\r\n"
    b"From: <a@sender.test>\r\nTo: <b@example.test>\r\nSubject: s\r\n\r\nbody\r\n"
)


@pytest.fixture(scope="module")
def sealed() -> tuple[bytes, FakeResolver]:
    pair = sbdkim.generate("rsa")
    key = sbdkim.load_key("fwd.test", "arc", "rsa", pair.private_pem)
    lines = dkim.arc_sign(MESSAGE, b"arc", b"fwd.test", key.secret, b"fwd.test")
    record = sbdkim.public_record("rsa", pair.public)
    return b"".join(lines) + MESSAGE, FakeResolver({("arc._domainkey.fwd.test", "TXT"): [record]})


async def test_sealed_chain_passes_and_a_changed_body_fails(sealed: tuple) -> None:
    data, dns = sealed
    got = await verify_chain(data, dns)
    assert (got.result, got.instances) == ("pass", 1)
    got = await verify_chain(data.replace(b"\r\nbody", b"\r\nbodY"), dns)
    assert got.result == "fail" and "did not validate" in got.detail


async def test_none_and_temperror(sealed: tuple) -> None:
    data, _ = sealed
    assert (await verify_chain(MESSAGE, FakeResolver({}))).result == "none"
    slow = FakeResolver({("arc._domainkey.fwd.test", "TXT"): TIMEOUT})
    assert (await verify_chain(data, slow)).result == "temperror"
    assert (await verify_chain(data, FakeResolver({}))).result == "fail"  # no key
