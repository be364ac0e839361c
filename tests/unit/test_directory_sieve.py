"""Sieve scripts of mailboxes and the vacation replies remembered, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from swissbox.directory import Directory, DirectoryError, NotFound
from swissbox.directory.sievescripts import SieveScript

H = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
FILE_NEWS = 'require ["fileinto"];\nfileinto "news";\n'


@pytest.fixture
def d(store_location: str) -> Directory:
    directory = Directory(store_location)
    directory.add_org("acme")
    directory.add_domain("example.test", "acme", "ns1.example.test")
    directory.enable_email("example.test")
    directory.add_mailbox("lena@example.test", H)
    directory.add_mailbox("ann@example.test", H)
    return directory


def test_one_active_script_per_mailbox(d: Directory) -> None:
    assert d.active_sieve_script("lena@example.test") is None
    d.put_sieve_script("lena@example.test", "news", FILE_NEWS, activate=True)
    d.put_sieve_script("lena@example.test", "other", "discard;", activate=False)
    assert d.active_sieve_script("LENA@example.test") == FILE_NEWS
    assert d.active_sieve_script("ann@example.test") is None
    d.activate_sieve_script("lena@example.test", "other")
    assert d.active_sieve_script("lena@example.test") == "discard;"
    assert d.sieve_scripts("lena@example.test") == [
        SieveScript("news", False),
        SieveScript("other", True),
    ]
    d.put_sieve_script("lena@example.test", "other", "keep;")  # replacing keeps it active
    assert d.active_sieve_script("lena@example.test") == "keep;"
    d.activate_sieve_script("lena@example.test", None)
    assert d.active_sieve_script("lena@example.test") is None
    assert d.sieve_script("lena@example.test", "news") == FILE_NEWS
    d.delete_sieve_script("lena@example.test", "news")
    with pytest.raises(NotFound):
        d.sieve_script("lena@example.test", "news")


def test_invalid_scripts_and_names_are_refused(d: Directory) -> None:
    with pytest.raises(DirectoryError, match="line 2: unknown command"):
        d.put_sieve_script("lena@example.test", "bad", "keep;\nfrob;")
    with pytest.raises(DirectoryError, match="invalid script name"):
        d.put_sieve_script("lena@example.test", "a\nb", "keep;")
    with pytest.raises(NotFound):
        d.put_sieve_script("nobody@example.test", "x", "keep;")
    with pytest.raises(NotFound):
        d.activate_sieve_script("lena@example.test", "missing")
    assert d.sieve_scripts("lena@example.test") == []


def test_vacation_once_per_sender_per_days(d: Directory) -> None:
    box, handle, day = "lena@example.test", "h1", 86400
    assert d.vacation_due(box, handle, "bob@example.org", 2, now=1000)
    assert not d.vacation_due(box, handle, "BOB@example.org", 2, now=1000 + day)
    assert d.vacation_due(box, handle, "carol@example.org", 2, now=1000 + day)
    assert d.vacation_due(box, "h2", "bob@example.org", 2, now=1000 + day)
    assert d.vacation_due(box, handle, "bob@example.org", 2, now=1000 + 2 * day)
    assert not d.vacation_due(box, handle, "bob@example.org", 2, now=1000 + 3 * day)


def test_scripts_go_with_their_mailbox(d: Directory) -> None:
    d.put_sieve_script("ann@example.test", "s", "keep;", activate=True)
    d.vacation_due("ann@example.test", "h", "bob@example.org", 1, now=0)
    d.remove_mailbox("ann@example.test")
    d.add_mailbox("ann@example.test", H)
    assert d.active_sieve_script("ann@example.test") is None
    assert d.vacation_due("ann@example.test", "h", "bob@example.org", 1, now=1)


def test_rename_keeps_active(d: Directory) -> None:
    d.put_sieve_script("lena@example.test", "a", "keep;", activate=True)
    d.put_sieve_script("lena@example.test", "b", "discard;")
    with pytest.raises(DirectoryError, match="already exists"):
        d.rename_sieve_script("lena@example.test", "a", "b")
    with pytest.raises(NotFound):
        d.rename_sieve_script("lena@example.test", "zz", "c")
    d.rename_sieve_script("lena@example.test", "a", "c")
    assert d.sieve_scripts("lena@example.test") == [SieveScript("b", False), SieveScript("c", True)]


def test_domain_before_script(d: Directory) -> None:
    assert d.domain_sieve_before("lena@example.test") is None
    d.set_domain_sieve_before("EXAMPLE.test", "keep;")
    assert d.domain_sieve_before("lena@example.test") == "keep;"
    d.set_domain_sieve_before("example.test", "discard;")
    assert d.domain_sieve_before("ann@example.test") == "discard;"
    with pytest.raises(DirectoryError, match="line 1"):
        d.set_domain_sieve_before("example.test", "frob;")
    with pytest.raises(NotFound):
        d.set_domain_sieve_before("nowhere.test", "keep;")
    d.set_domain_sieve_before("example.test", None)
    assert d.domain_sieve_before("lena@example.test") is None
