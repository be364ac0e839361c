"""Recipient and sender decisions: hosted mailboxes only, every open-relay trick refused."""

from __future__ import annotations

import pytest

from swissbox.directory import Mailbox
from swissbox.smtp.policy import (
    Verdict,
    classify_recipient,
    may_send_as,
    same_address,
    split_strict,
)


class FakeDirectory:
    domains = {"abc.xyz"}
    boxes = {"toto@abc.xyz"}

    def is_mail_domain(self, domain: str) -> bool:
        return domain.lower().rstrip(".") in self.domains

    def mailbox(self, address: str) -> Mailbox | None:
        local, _, domain = address.rpartition("@")
        key = f"{local.lower()}@{domain.lower()}"
        return Mailbox(1, key, local, domain, None) if key in self.boxes else None


D = FakeDirectory()


@pytest.mark.parametrize(
    "address", ["toto@abc.xyz", "TOTO@ABC.XYZ", "toto@abc.xyz.", "Toto@Abc.Xyz."]
)
def test_hosted_forms_are_local(address: str) -> None:
    r = classify_recipient(D, address)
    assert r.verdict is Verdict.LOCAL and r.mailbox is not None


RELAY_TRICKS = [
    "user@gmail.com",
    "user@gmail.com.",
    "USER@GMAIL.COM",
    "user%gmail.com@abc.xyz",  # percent hack
    "user%gmail.com",
    "gmail.com!user@abc.xyz",  # bang path
    "gmail.com!user",
    "@abc.xyz:user@gmail.com",  # source route
    "@gmail.com:toto@abc.xyz",
    '"user@gmail.com"@abc.xyz',  # quoted local part
    '"user@gmail.com"',
    "user@[127.0.0.1]",  # IP literals
    "toto@[127.0.0.1]",
    "user@[IPv6:::1]",
    "toto@abc.xyz@gmail.com",
    "user@gmail.com@abc.xyz",
    "user@abc.xyz.gmail.com",
    "user@gmail.com\r\nRCPT TO:<x@y>",
    "",
    "toto",
    "toto@",
    "@abc.xyz",
    "user@gmail.com:25",
    "toto @abc.xyz",
]


@pytest.mark.parametrize("address", RELAY_TRICKS)
def test_relay_tricks_never_route_outside(address: str) -> None:
    r = classify_recipient(D, address)
    assert r.verdict in (Verdict.UNKNOWN, Verdict.REMOTE, Verdict.INVALID)
    assert r.mailbox is None


def test_unknown_user_on_hosted_domain() -> None:
    assert classify_recipient(D, "nobody@abc.xyz").verdict is Verdict.UNKNOWN
    assert classify_recipient(D, "user%gmail.com@abc.xyz").verdict is Verdict.UNKNOWN


def test_split_strict() -> None:
    assert split_strict("a.b+c@Example.COM.") == ("a.b+c", "example.com")
    assert split_strict("a@b@c") is None
    assert split_strict("a!b@c") is None


def test_send_as() -> None:
    assert may_send_as("toto@abc.xyz", "TOTO@abc.xyz")
    assert may_send_as("toto@abc.xyz", "toto+lists@abc.xyz")
    assert not may_send_as("toto@abc.xyz", "titi@abc.xyz")
    assert not may_send_as("toto@abc.xyz", "toto@abc.xyz.evil")
    assert not may_send_as("toto@abc.xyz", "")
    assert not may_send_as("toto@abc.xyz", "+x@abc.xyz")
    assert not may_send_as("toto@abc.xyz", "toto+@abc.xyz")
    assert not same_address("toto@abc.xyz", '"toto"@abc.xyz')
