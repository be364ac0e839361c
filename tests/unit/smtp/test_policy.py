"""Recipient and sender decisions: hosted mailboxes only, every open-relay trick refused."""

from __future__ import annotations

import pytest

from swissbox.directory import Mailbox
from swissbox.smtp.policy import (
    Verdict,
    classify_recipient,
    header_senders,
    may_send_as,
    same_address,
    send_as,
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


def test_may_send_as_granted_addresses_and_their_tags() -> None:
    also = ["info@abc.xyz"]
    assert may_send_as("toto@abc.xyz", "INFO@abc.xyz", also)
    assert may_send_as("toto@abc.xyz", "info+sales@abc.xyz", also)
    assert not may_send_as("toto@abc.xyz", "sales@abc.xyz", also)
    assert send_as({"toto@abc.xyz": "own", "info@abc.xyz": "full", "ro@abc.xyz": "read"}) == [
        "toto@abc.xyz",
        "info@abc.xyz",
    ]


@pytest.mark.parametrize(
    "header, found",
    [
        (
            b"From: Bob <bob@x.test>\r\nTo: a@b\r\n\r\nFrom: evil@y.test\r\n",
            [("From", "bob@x.test")],
        ),
        (b"From: bob@x.test <evil@y.test>\r\n\r\n", [("From", None)]),  # display name trick
        (b"From: (info@x.test) evil@y.test\r\n\r\n", [("From", "evil@y.test")]),
        (
            b"From: a@x.test, evil@y.test\r\nSender: bob@x.test\r\n\r\n",
            [("From", "a@x.test"), ("From", "evil@y.test"), ("Sender", "bob@x.test")],
        ),
        (b"From: Bob\r\n <bob@x.test>\r\n\r\n", [("From", "bob@x.test")]),  # folded
        (b"FROM: <evil@y.test>\r\n\r\n", [("From", "evil@y.test")]),
        (b"From: undisclosed:;\r\n\r\n", [("From", None)]),
        (b"From:\r\n\r\n", [("From", None)]),
        (b"From: bob@x.test@evil.test\r\n\r\n", [("From", None)]),
        (b"From: Bob <bob@x.test", [("From", None)]),
        (b"From: =?utf-8?q?B=C3=B6b?= <bob@x.test>\r\n\r\n", [("From", "bob@x.test")]),
        (b"Subject: none\r\n\r\n", []),
    ],
)
def test_header_senders(header: bytes, found: list[tuple[str, str | None]]) -> None:
    assert header_senders(header) == found
