"""The directory calls behind the Manager's access pages, on SQLite and PostgreSQL: a
person's live sessions (newest use first, idle and expired ones left out, only their own),
and pruning the audit log by age (the `[manager] audit_days` rule)."""

from __future__ import annotations

import time

import pytest

from swissbox.directory import Directory
from swissbox.manager.auditretention import DAY, cutoff, prune
from swissbox.manager.mysessions import public_id
from swissbox.manager.tokens import digest, new_secret


@pytest.fixture
def d(store_location: str):
    directory = Directory(store_location)
    directory.add_org("acme")
    directory.add_account("a@acme.test", "!", "acme", "admin")
    directory.add_account("b@acme.test", "!", "acme", "admin")
    yield directory
    directory.close()


def test_a_persons_live_sessions_and_no_one_elses(d: Directory) -> None:
    keys = [digest(new_secret()) for _ in range(3)]
    for key in keys:
        d.create_session(key, "a@acme.test", "c", 3600)
    d.create_session(digest(new_secret()), "b@acme.test", "c", 3600)
    d.create_session(digest(new_secret()), "a@acme.test", "c", lifetime=0)  # expired
    found = d.account_sessions("a@acme.test", idle=3600)
    assert sorted(k for k, _ in found) == sorted(keys)
    assert all(s.login == "a@acme.test" for _, s in found)
    assert d.account_sessions("a@acme.test", idle=0) == []  # idle ones are over too
    assert d.end_other_sessions("a@acme.test", keys[0]) == 3  # the expired one's row too
    assert [k for k, _ in d.account_sessions("a@acme.test", 3600)] == [keys[0]]


def test_a_public_session_id_is_stable_and_not_the_key() -> None:
    key = digest(new_secret())
    assert public_id(key) == public_id(key) and key not in public_id(key)
    assert public_id(key) != public_id(digest(new_secret()))


def test_audit_entries_older_than_the_retention_go(d: Directory) -> None:
    org = d.org("acme").id
    for action in ("old.one", "new.one"):
        d.audit(org, "a@acme.test", "session", "127.0.0.1", action)
    with d._db.write() as c:  # as if written 401 days ago
        c.execute("UPDATE audit_log SET time = time - ? WHERE action = 'old.one'", (401 * DAY,))
    now = time.time()
    assert cutoff(400, now) == int(now - 400 * DAY)
    assert prune(d, 400, now) == 1
    assert [e.action for e in d.audit_entries(org)] == ["new.one"]
    assert prune(d, 400, now) == 0
    assert prune(d, 1, now + 2 * DAY) == 1
    assert d.audit_entries(org) == []


def test_headers_of_a_removed_message_are_decoded_or_left_out() -> None:
    from swissbox.manager.deletedmail import _headers

    raw = b"Subject: =?utf-8?q?caf=C3=A9?=\r\nFrom: Ann <ann@example.org>\r\n"
    assert _headers(raw) == {"subject": "café", "from": "Ann <ann@example.org>"}
    assert _headers(b"X: y\r\n") == {}
    assert _headers(b"Subject: \xff\xfe broken\r\nFrom: <<<@@>>>\r\n").keys() <= {"subject", "from"}
