"""The realm separation matrix, failure indistinguishability, lockout, hashing, password rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from swissbox.auth import (
    Authenticator,
    HashParams,
    RateLimiter,
    WeakPassword,
    check_password,
    hash_secret,
    needs_rehash,
    verify_secret,
)
from swissbox.directory import Directory

CHEAP = HashParams(memory_kib=8, iterations=1, lanes=1)
PASSWORDS = {"account": "account-pw-1", "mailbox": "mailbox-pw-2", "ddns": "DdnsPass99"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    d = Directory(tmp_path / "db.sqlite")
    d.add_org("acme")
    # The same identifier string in all three realms, each with its own secret.
    d.add_account("toto@abc.xyz", hash_secret(PASSWORDS["account"], CHEAP), "acme", "legal")
    d.add_domain("abc.xyz", "acme", "ns.abc.xyz")
    d.enable_email("abc.xyz")
    d.add_mailbox("toto@abc.xyz", hash_secret(PASSWORDS["mailbox"], CHEAP))
    d.add_ddns_user("toto@abc.xyz", hash_secret(PASSWORDS["ddns"], CHEAP))
    return d


def make_auth(directory: Directory, clock: Clock | None = None, **kw: float) -> Authenticator:
    limiter = RateLimiter(clock=clock or Clock(), delay_base=0.0, **kw)  # type: ignore[arg-type]
    return Authenticator(directory, CHEAP, limiter)


@pytest.mark.parametrize("realm", ["account", "mailbox", "ddns"])
@pytest.mark.parametrize("secret_of", ["account", "mailbox", "ddns"])
def test_each_secret_opens_only_its_own_realm(
    directory: Directory, realm: str, secret_of: str
) -> None:
    auth = make_auth(directory)
    result = auth.authenticate(realm, "toto@abc.xyz", PASSWORDS[secret_of], "192.0.2.1")
    assert result.ok is (realm == secret_of)


def test_canonical_identifier_and_case(directory: Directory) -> None:
    auth = make_auth(directory)
    assert (
        auth.authenticate("account", "TOTO@ABC.XYZ", PASSWORDS["account"]).identifier
        == "toto@abc.xyz"
    )
    assert (
        auth.authenticate("mailbox", "Toto@ABC.xyz", PASSWORDS["mailbox"]).identifier
        == "toto@abc.xyz"
    )


def test_unknown_identifier_and_wrong_secret_look_the_same(directory: Directory) -> None:
    auth = make_auth(directory)
    unknown = auth.authenticate("mailbox", "nobody@abc.xyz", "whatever", "192.0.2.1")
    wrong = auth.authenticate("mailbox", "toto@abc.xyz", "whatever", "192.0.2.1")
    assert unknown == wrong
    assert not unknown.ok and unknown.identifier is None


def test_lockout_per_identifier_then_expiry(directory: Directory) -> None:
    clock = Clock()
    auth = make_auth(directory, clock, max_per_identifier=3, lockout_seconds=60)
    for _ in range(3):
        assert not auth.authenticate("mailbox", "toto@abc.xyz", "bad", f"192.0.2.{_}")
    # locked: even the right password fails now, from any address
    locked = auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "198.51.100.7")
    assert not locked.ok and locked.locked
    # other realms are unaffected
    assert auth.authenticate("account", "toto@abc.xyz", PASSWORDS["account"], "198.51.100.7")
    clock.now += 61
    assert auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "198.51.100.7")


def test_lockout_per_client_address(directory: Directory) -> None:
    clock = Clock()
    auth = make_auth(
        directory, clock, max_per_identifier=100, max_per_address=4, lockout_seconds=30
    )
    for i in range(4):
        auth.authenticate("mailbox", f"guess{i}@abc.xyz", "bad", "203.0.113.9")
    assert not auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "203.0.113.9")
    assert auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "203.0.113.10")
    clock.now += 31
    assert auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "203.0.113.9")


def test_growing_delay() -> None:
    limiter = RateLimiter(
        max_per_identifier=100, max_per_address=100, delay_base=0.5, delay_max=3, clock=Clock()
    )
    delays = [limiter.failure("mailbox", "x@y.z", "192.0.2.1") for _ in range(5)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_hashes_are_argon2id_never_clear(directory: Directory, tmp_path: Path) -> None:
    raw = (tmp_path / "db.sqlite").read_bytes()
    for secret in PASSWORDS.values():
        assert secret.encode() not in raw
    _, stored = directory.secret_hash("mailbox", "toto@abc.xyz")  # type: ignore[misc]
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_hash_upgrade_after_login(directory: Directory) -> None:
    stronger = HashParams(memory_kib=16, iterations=2, lanes=1)
    auth = Authenticator(directory, stronger, RateLimiter(clock=Clock()))
    assert auth.authenticate("account", "toto@abc.xyz", PASSWORDS["account"])
    _, stored = directory.secret_hash("account", "toto@abc.xyz")  # type: ignore[misc]
    assert not needs_rehash(stored, stronger)
    assert verify_secret(PASSWORDS["account"], stored)


def test_verify_rejects_garbage_hash() -> None:
    assert not verify_secret("x", "not-a-hash")
    assert not verify_secret("x", "$argon2id$v=19$m=8,t=1,p=1$AAAA$BBBB")


@pytest.mark.parametrize(
    "secret, ok",
    [
        ("Abcdefg1", True),
        ("abcdefg1", False),
        ("ABCDEFG1", False),
        ("Abcdefgh", False),
        ("Abc1", False),
        ("Abcdefg1!", False),
        ("Äbcdefg1", False),
    ],
)
def test_ddns_password_rule(secret: str, ok: bool) -> None:
    if ok:
        check_password("ddns", secret)
    else:
        with pytest.raises(WeakPassword):
            check_password("ddns", secret)


def test_other_realm_password_rules() -> None:
    check_password("mailbox", "long enough")
    for bad in ("", "short", "line\nbreak", "x" * 2000):
        with pytest.raises(WeakPassword):
            check_password("account", bad)


async def test_async_wrapper(directory: Directory) -> None:
    auth = make_auth(directory)
    assert (await auth.authenticate_async("ddns", "toto@abc.xyz", PASSWORDS["ddns"])).ok
    assert not (await auth.authenticate_async("ddns", "toto@abc.xyz", "nope")).ok


def test_verified_cache_skips_argon2_but_not_lockout_or_password_change(
    directory: Directory,
) -> None:
    clock = Clock()
    auth = make_auth(directory, clock, max_per_identifier=2, lockout_seconds=60)
    calls = {"n": 0}
    import swissbox.auth.realms as realms

    real_verify = realms.verify_secret

    def counting(secret: str, stored: str) -> bool:
        calls["n"] += 1
        return real_verify(secret, stored)

    realms.verify_secret = counting  # type: ignore[assignment]
    try:
        assert auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"])
        assert auth.authenticate("mailbox", "Toto@abc.xyz", PASSWORDS["mailbox"])
        assert calls["n"] == 1  # the second login came from the cache
        # the cache is per realm: the same string and secret in another realm still checks
        assert not auth.authenticate("account", "toto@abc.xyz", PASSWORDS["mailbox"])
        # a lockout wins over the cache
        auth.authenticate("mailbox", "toto@abc.xyz", "bad")
        auth.authenticate("mailbox", "toto@abc.xyz", "bad")
        assert not auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"])
        clock.now += 61
        # a changed password misses the cache at once
        directory.set_secret_hash("mailbox", "toto@abc.xyz", hash_secret("new-password-1", CHEAP))
        assert not auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"])
        assert auth.authenticate("mailbox", "toto@abc.xyz", "new-password-1")
    finally:
        realms.verify_secret = real_verify  # type: ignore[assignment]
