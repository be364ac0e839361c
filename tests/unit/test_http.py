"""Pure helpers of the shared HTTP site."""

from __future__ import annotations

import base64
import ipaddress
from types import SimpleNamespace

import pytest

from swissbox.conf import ConfigError, settings_from_dict
from swissbox.conf.schema import HttpSettings
from swissbox.http import (
    basic_credentials,
    client_address,
    plain_credentials_allowed,
    send_answer,
    trusted_networks,
)


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


LOOPBACK = trusted_networks(HttpSettings().plain_auth_networks)


@pytest.mark.parametrize(
    ("secure", "peer", "networks", "allowed"),
    [
        (True, "203.0.113.5", LOOPBACK, True),  # TLS: always
        (True, None, [], True),
        (False, "127.0.0.1", LOOPBACK, True),  # loopback by default
        (False, "127.8.9.10", LOOPBACK, True),
        (False, "::1", LOOPBACK, True),
        (False, "::ffff:127.0.0.1", LOOPBACK, True),  # dual-stack listener, IPv4 client
        (False, "203.0.113.5", LOOPBACK, False),
        (False, "192.168.1.20", LOOPBACK, False),
        (False, "::ffff:203.0.113.5", LOOPBACK, False),
        (False, "2001:db8::5", LOOPBACK, False),
        (False, "127.0.0.1", [], False),  # nobody may
        (False, "192.168.1.20", trusted_networks(["192.168.1.0/24"]), True),
        (False, None, LOOPBACK, False),
        (False, "not-an-address", LOOPBACK, False),
    ],
)
def test_plain_credentials_allowed(
    secure: bool, peer: str | None, networks: list, allowed: bool
) -> None:
    assert plain_credentials_allowed(secure, peer, networks) is allowed


def test_plain_auth_networks_are_validated() -> None:
    ok = settings_from_dict({"http": {"plain_auth_networks": ["10.0.0.0/8", "::1"]}})
    assert ok.http.plain_auth_networks == ["10.0.0.0/8", "::1"]
    with pytest.raises(ConfigError, match=r"http.plain_auth_networks\[1\]"):
        settings_from_dict({"http": {"plain_auth_networks": ["::1", "10.0.0.0/33"]}})


class Answered:
    """What send_answer may touch on a twisted.web Request."""

    def __init__(self, finished: bool = False, disconnected: bool = False) -> None:
        self.finished, self._disconnected = finished, disconnected
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def finish(self) -> None:
        if self._disconnected:
            raise RuntimeError("Request.finish called on a request after its connection was lost")
        self.finished = True


def test_send_answer_only_to_a_client_still_there() -> None:
    here = Answered()
    assert send_answer(here, b"good\n") and here.written == [b"good\n"] and here.finished
    gone = Answered(disconnected=True)
    assert not send_answer(gone, b"good\n") and gone.written == []
    done = Answered(finished=True)
    assert not send_answer(done, b"again") and done.written == []
