"""Pure helpers of the shared HTTP site."""

from __future__ import annotations

import base64
import ipaddress
from types import SimpleNamespace

from swissbox.http import basic_credentials, client_address, trusted_networks


def test_basic_credentials() -> None:
    def header(raw: bytes) -> bytes:
        return b"Basic " + base64.b64encode(raw)

    assert basic_credentials(header(b"a@x.test:pw:with:colons")) == ("a@x.test", "pw:with:colons")
    assert basic_credentials(header("ü@x.test:pä".encode())) == ("ü@x.test", "pä")
    assert basic_credentials(b"bAsIc " + base64.b64encode(b"u:p")) == ("u", "p")
    for bad in (
        None,
        b"",
        header(b"nocolon"),
        header(b":pw"),
        b"Basic !!!",
        b"Bearer abc",
        header(b"\xff:x"),
    ):
        assert basic_credentials(bad) is None


class FakeRequest:
    def __init__(self, peer: str, forwarded: str | None = None) -> None:
        self.peer, self.forwarded = peer, forwarded

    def getClientAddress(self) -> SimpleNamespace:  # noqa: N802
        return SimpleNamespace(host=self.peer)

    def getHeader(self, name: bytes) -> bytes | None:  # noqa: N802
        return self.forwarded.encode() if self.forwarded and name == b"x-forwarded-for" else None


def test_client_address_trusts_forwarded_only_from_proxies() -> None:
    proxies = trusted_networks(["10.0.0.0/8", "::1"])
    assert client_address(FakeRequest("192.0.2.1", "198.51.100.7"), proxies) == "192.0.2.1"
    assert client_address(FakeRequest("10.1.1.1", "198.51.100.7"), proxies) == "198.51.100.7"
    # walk back past our own proxies; a forged hop before them is not believed
    assert (
        client_address(FakeRequest("10.1.1.1", "6.6.6.6, 198.51.100.7, 10.2.2.2"), proxies)
        == "198.51.100.7"
    )
    assert client_address(FakeRequest("10.1.1.1", "garbage"), proxies) == "10.1.1.1"
    assert isinstance(proxies[0], ipaddress.IPv4Network)
