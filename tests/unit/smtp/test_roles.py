"""Role addresses (postmaster@, abuse@, bare Postmaster): which addresses are roles, and where
each goes; the directory is a fake (its queries are tested in test_directory_roles)."""

from __future__ import annotations

import logging

import pytest

from swissbox.directory import Mailbox
from swissbox.smtp import inbound
from swissbox.smtp.policy import Verdict
from swissbox.smtp.roles import role_of, role_recipient

ADMIN_BOX = Mailbox(7, "lena@abc.xyz", "lena", "abc.xyz", 1000)


class FakeDirectory:
    orgs = {"abc.xyz": "acme", "nobody.test": "empty"}
    admins = {"acme": [ADMIN_BOX], "empty": [], "host": [ADMIN_BOX]}

    def mail_domain_org(self, domain: str) -> str | None:
        return self.orgs.get(domain)

    def host_org(self, hostname: str) -> str | None:
        return "host"

    def admin_mailboxes(self, org: str) -> list[Mailbox]:
        return list(self.admins[org])


D = FakeDirectory()


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("Postmaster", ("postmaster", None)),
        ("POSTMASTER", ("postmaster", None)),
        ("postmaster@abc.xyz", ("postmaster", "abc.xyz")),
        ("PostMaster@ABC.xyz.", ("postmaster", "abc.xyz")),
        ("Abuse@abc.xyz", ("abuse", "abc.xyz")),
        ("abuse", None),  # only Postmaster may come without a domain
        ("postmaster+x@abc.xyz", None),
        ("hostmaster@abc.xyz", None),
        ("postmaster%evil.test@abc.xyz", None),
        ('"postmaster"@abc.xyz', None),
        ("postmaster@[127.0.0.1]", None),
        ("", None),
    ],
)
def test_role_of(address: str, expected: tuple[str, str | None] | None) -> None:
    assert role_of(address) == expected


def test_role_of_a_hosted_domain_goes_to_its_administrators() -> None:
    r = role_recipient(D, "abuse@ABC.xyz", "mx.host.test")
    assert r is not None and r.verdict is Verdict.ROLE and r.mailboxes == (ADMIN_BOX,)


def test_bare_postmaster_and_the_hostname_go_to_the_host_organization() -> None:
    for address in ("Postmaster", "postmaster@mx.host.test", "abuse@MX.host.test."):
        r = role_recipient(D, address, "mx.host.test")
        assert r is not None and r.mailboxes == (ADMIN_BOX,), address


def test_other_domains_are_not_ours() -> None:
    assert role_recipient(D, "postmaster@gmail.com", "mx.host.test") is None
    assert role_recipient(D, "info@abc.xyz", "mx.host.test") is None


def test_nobody_to_read_it_is_a_role_without_mailboxes() -> None:
    r = role_recipient(D, "postmaster@nobody.test", "mx.host.test")
    assert r is not None and r.verdict is Verdict.ROLE and r.mailboxes == ()


def test_the_refusal_warning_is_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbound, "_role_warned", {})
    with caplog.at_level(logging.WARNING, logger="swissbox.smtp"):
        for second in range(5):
            inbound.warn_unreadable("postmaster@nobody.test", now=1000.0 + second)
        later = 1000.0 + inbound.ROLE_WARNING_INTERVAL + 1
        inbound.warn_unreadable("POSTMASTER@nobody.test", now=later)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "postmaster@nobody.test" in warnings[0].getMessage()
