"""Mailbox-realm logins as IMAP makes them: Argon2 once, then the verified cache; wrong
secrets and other realms never pass."""

from __future__ import annotations

from typing import Any

import pytest

from swissbox.auth import Authenticator, HashParams, RateLimiter, hash_secret

PARAMS = HashParams(8, 1, 1)


class Store:
    def __init__(self) -> None:
        self.hashes = {
            ("mailbox", "bob@example.test"): hash_secret("mailbox-pw", PARAMS),
            ("account", "bob@example.test"): hash_secret("account-pw", PARAMS),
        }
        self.calls = 0

    def secret_hash(self, realm: str, identifier: str) -> tuple[str, str] | None:
        h = self.hashes.get((realm, identifier.lower()))
        return (identifier.lower(), h) if h else None

    def set_secret_hash(self, realm: str, identifier: str, password_hash: str) -> None:
        self.hashes[(realm, identifier)] = password_hash


class Checker:
    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth

    def check(self, identifier: str, secret: str, client: str | None) -> Any:
        return self.auth.authenticate("mailbox", identifier, secret, client)


def checker() -> tuple[Checker, Store]:
    store = Store()
    auth = Authenticator(store, PARAMS, RateLimiter(100, 100, 60, 0, 0))
    return Checker(auth), store


def test_cache_skips_argon2_for_the_same_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    import swissbox.auth.realms as realms

    calls: list[Any] = []
    original = realms.verify_secret
    monkeypatch.setattr(realms, "verify_secret", lambda *a: calls.append(a) or original(*a))
    c, _store = checker()
    assert c.check("bob@example.test", "mailbox-pw", "127.0.0.1").ok
    assert c.check("BOB@example.test", "mailbox-pw", "127.0.0.1").ok
    assert len(calls) == 1


def test_wrong_secret_and_other_realm_fail() -> None:
    c, _store = checker()
    assert c.check("bob@example.test", "mailbox-pw", None).ok
    assert not c.check("bob@example.test", "account-pw", None).ok
    assert not c.check("bob@example.test", "mailbox-pw ", None).ok
    assert not c.check("nobody@example.test", "mailbox-pw", None).ok


def test_password_change_invalidates() -> None:
    c, store = checker()
    assert c.check("bob@example.test", "mailbox-pw", None).ok
    store.hashes[("mailbox", "bob@example.test")] = hash_secret("new-password", PARAMS)
    assert not c.check("bob@example.test", "mailbox-pw", None).ok
    assert c.check("bob@example.test", "new-password", None).ok
