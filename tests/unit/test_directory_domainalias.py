"""`directory.domainalias.set_domain_alias` (both backends), the one rule behind
`swissbox domain alias` and the admin API: a hosted domain without an Email Service gets one
(and its mail records) in the same transaction as the alias; a refused alias leaves no
Email Service behind; ending an alias returns what it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from swissbox.conf.schema import ServerSettings, Settings
from swissbox.directory import Conflict, Directory, NotFound
from swissbox.directory.domainalias import set_domain_alias
from swissbox.directory.mailservice import enable_mail

SETTINGS = Settings(server=ServerSettings(hostname="mx.example.test"))


@pytest.fixture
def d(store_location: str, tmp_path: Path) -> Directory:
    directory = Directory(store_location)
    directory.add_org("acme")
    directory.add_org("other")
    for name, org in (("acme.test", "acme"), ("acme.example", "acme"), ("other.test", "other")):
        directory.add_domain(name, org, "ns1.example.test")
    enable_mail(directory, tmp_path, SETTINGS, "acme.test")
    enable_mail(directory, tmp_path, SETTINGS, "other.test")
    return directory


def test_an_alias_domain_gets_its_email_service_with_the_alias(
    d: Directory, tmp_path: Path
) -> None:
    assert d.mail_domain("acme.example") is None
    before, published = set_domain_alias(d, tmp_path, SETTINGS, "acme.example", "acme.test")
    assert before is None and published > 0
    assert d.mail_domain("acme.example") is not None
    assert d.domain_aliases() == {"acme.example": "acme.test"}
    assert any(r.type == "MX" for r in d.records("acme.example", "acme.example"))
    assert set_domain_alias(d, tmp_path, SETTINGS, "acme.example", None) == ("acme.test", 0)
    assert d.domain_aliases() == {}
    with pytest.raises(NotFound):
        set_domain_alias(d, tmp_path, SETTINGS, "acme.example", None)


def test_a_refused_alias_leaves_no_email_service_behind(d: Directory, tmp_path: Path) -> None:
    with pytest.raises(Conflict):  # another organization's domain
        set_domain_alias(d, tmp_path, SETTINGS, "acme.example", "other.test")
    assert d.mail_domain("acme.example") is None and d.domain_aliases() == {}
