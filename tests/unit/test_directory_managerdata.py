"""The Manager's rows in the directory database (migration 9), on SQLite and PostgreSQL:
sessions, API tokens (digests only, revocation, last use, org scope) and the audit log."""

from __future__ import annotations

import pytest

from swissbox.directory import Directory, NotFound
from swissbox.manager.tokens import digest, new_api_token, new_secret


@pytest.fixture
def d(store_location: str):
    directory = Directory(store_location)
    directory.add_org("acme")
    directory.add_org("other")
    directory.add_account("a@acme.test", "!", "acme", "admin")
    directory.add_account("b@other.test", "!", "other", "admin")
    yield directory
    directory.close()


def test_session_is_found_by_digest_until_it_ends(d: Directory) -> None:
    sid, csrf = new_secret(), new_secret()
    d.create_session(digest(sid), "a@acme.test", csrf, 3600)
    row = d.session(digest(sid), idle=3600)
    assert row is not None and row.login == "a@acme.test" and row.csrf == csrf
    assert d.session(sid, idle=3600) is None  # the raw id is never what is stored
    assert d.end_session(digest(sid)) and d.session(digest(sid), idle=3600) is None


def test_expired_or_idle_session_is_gone(d: Directory) -> None:
    sid = new_secret()
    d.create_session(digest(sid), "a@acme.test", "c", lifetime=0)
    assert d.session(digest(sid), idle=3600) is None
    other = new_secret()
    d.create_session(digest(other), "a@acme.test", "c", lifetime=3600)
    assert d.session(digest(other), idle=0) is None


def test_session_ends_with_its_account(d: Directory) -> None:
    sid = new_secret()
    d.create_session(digest(sid), "a@acme.test", "c", 3600)
    d.remove_member("acme", "a@acme.test")
    assert d.session(digest(sid), idle=3600) is None


def test_token_scope_revocation_and_last_use(d: Directory) -> None:
    acme, other = d.org("acme").id, d.org("other").id
    secret = new_api_token()
    row = d.add_token(digest(secret), acme, "a@acme.test", "ci", ["mail:read", "audit:read"])
    assert row.permissions == ("audit:read", "mail:read") and row.last_used is None
    found = d.token_by_digest(digest(secret))
    assert found is not None and found.id == row.id and found.login == "a@acme.test"
    d.token_used(row.id)
    used = d.token_by_id(acme, row.id)
    assert used is not None and used.last_used is not None
    assert d.token_by_id(other, row.id) is None  # another organization's id finds nothing
    with pytest.raises(NotFound):
        d.revoke_token(other, row.id)
    assert d.revoke_token(acme, row.id).revoked is not None
    with pytest.raises(NotFound):
        d.revoke_token(acme, row.id)  # once
    assert [t.id for t in d.tokens(acme)] == [row.id] and d.tokens(other) == []


def test_audit_log_per_organization_newest_first(d: Directory) -> None:
    acme, other = d.org("acme").id, d.org("other").id
    for n in range(3):
        d.audit(acme, "a@acme.test", "session", "192.0.2.1", "dns.add", f"r{n}", {"n": n})
    d.audit(other, "b@other.test", "token:1", "192.0.2.2", "member.add", "x")
    entries = d.audit_entries(acme)
    assert [e.target for e in entries] == ["r2", "r1", "r0"]
    assert entries[0].detail == {"n": 2} and entries[0].client == "192.0.2.1"
    assert [e.target for e in d.audit_entries(acme, before=entries[0].id, limit=1)] == ["r1"]
    assert [e.actor for e in d.audit_entries(other)] == ["b@other.test"]


def test_a_password_change_ends_the_other_sessions(d: Directory) -> None:
    keep, other, elsewhere = new_secret(), new_secret(), new_secret()
    for sid in (keep, other):
        d.create_session(digest(sid), "a@acme.test", "c", 3600)
    d.create_session(digest(elsewhere), "b@other.test", "c", 3600)
    assert d.end_other_sessions("a@acme.test", digest(keep)) == 1
    assert d.session(digest(keep), 3600) is not None and d.session(digest(other), 3600) is None
    assert d.session(digest(elsewhere), 3600) is not None
