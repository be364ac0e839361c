"""The realm separation matrix, failure indistinguishability, lockout, hashing, password rules."""

from __future__ import annotations

import logging
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


def test_guessing_from_one_address_does_not_lock_the_owner_out(directory: Directory) -> None:
    clock = Clock()
    auth = make_auth(directory, clock, max_per_identifier=3, lockout_seconds=60)
    for i in range(3):
        assert not auth.authenticate("mailbox", "toto@abc.xyz", f"bad{i}", "203.0.113.9")
    # that (identifier, address) pair is locked: even the right password fails there
    locked = auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "203.0.113.9")
    assert not locked.ok and locked.locked
    # the owner, elsewhere, is not
    assert auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "198.51.100.7")
    # other realms are unaffected
    assert auth.authenticate("account", "toto@abc.xyz", PASSWORDS["account"], "203.0.113.9")
    clock.now += 61
    assert auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "203.0.113.9")


def test_the_same_wrong_secret_counts_once(directory: Directory) -> None:
    """A client cycling SASL mechanisms (or a phone retrying) after one typo."""
    auth = make_auth(directory, max_per_identifier=3, max_per_address=3)
    for _ in range(10):
        assert not auth.authenticate("mailbox", "toto@abc.xyz", "typo-pw", "192.0.2.1")
    assert auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "192.0.2.1")


def test_distributed_guessing_locks_the_identifier_except_known_addresses(
    directory: Directory,
) -> None:
    clock = Clock()
    auth = make_auth(directory, clock, max_per_identifier=100, lockout_seconds=60)
    auth.limiter.distributed_addresses = 5
    assert auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "198.51.100.7")
    for i in range(5):
        assert not auth.authenticate("mailbox", "toto@abc.xyz", f"bad{i}", f"203.0.113.{i}")
    stranger = auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "192.0.2.50")
    assert not stranger.ok and stranger.locked
    # the address the owner logged in from before still passes
    assert auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "198.51.100.7")
    clock.now += 61
    assert auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "192.0.2.50")


def test_trusted_networks_pass_a_distributed_lockout(directory: Directory) -> None:
    limiter = RateLimiter(
        max_per_identifier=100,
        distributed_addresses=3,
        delay_base=0.0,
        clock=Clock(),
        trusted_networks=["10.1.0.0/16"],
    )
    auth = Authenticator(directory, CHEAP, limiter)
    for i in range(3):
        auth.authenticate("mailbox", "toto@abc.xyz", f"bad{i}", f"203.0.113.{i}")
    assert not auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "192.0.2.9")
    assert auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "10.1.2.3")


def test_lockout_per_client_address(directory: Directory) -> None:
    """A password spray over many identifiers from one address."""
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


def test_a_new_password_ends_the_lockout(directory: Directory) -> None:
    auth = make_auth(directory, max_per_identifier=2)
    auth.limiter.distributed_addresses = 2
    for i in range(4):
        auth.authenticate("mailbox", "toto@abc.xyz", f"bad{i}", f"203.0.113.{i % 2}")
    assert not auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"], "203.0.113.0")
    # an admin sets a new password (from the CLI: another process, only the stored hash changes)
    directory.set_secret_hash("mailbox", "toto@abc.xyz", hash_secret("brand-new-pw", CHEAP))
    assert auth.authenticate("mailbox", "toto@abc.xyz", "brand-new-pw", "203.0.113.0")
    assert auth.authenticate("mailbox", "toto@abc.xyz", "brand-new-pw", "192.0.2.77")


def test_lockout_log_names_the_identifier_never_the_secret(
    directory: Directory, caplog: pytest.LogCaptureFixture
) -> None:
    auth = make_auth(directory, max_per_identifier=2)
    with caplog.at_level(logging.INFO, logger="swissbox.auth"):
        for secret in ("Secret-One-x", "Secret-Two-y", PASSWORDS["mailbox"]):
            auth.authenticate("mailbox", "toto@abc.xyz", secret, "203.0.113.5")
    text = caplog.text
    assert "locked out" in text and "toto@abc.xyz" in text
    for secret in ("Secret-One-x", "Secret-Two-y", PASSWORDS["mailbox"]):
        assert secret not in text


def test_growing_delay() -> None:
    limiter = RateLimiter(
        max_per_identifier=100, max_per_address=100, delay_base=0.5, delay_max=3, clock=Clock()
    )
    delays = [limiter.failure("mailbox", "x@y.z", "192.0.2.1", f"s{i}") for i in range(5)]
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
        auth.authenticate("mailbox", "toto@abc.xyz", "bad-1")
        auth.authenticate("mailbox", "toto@abc.xyz", "bad-2")
        assert not auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"])
        clock.now += 61
        # a changed password misses the cache at once
        directory.set_secret_hash("mailbox", "toto@abc.xyz", hash_secret("new-password-1", CHEAP))
        assert not auth.authenticate("mailbox", "toto@abc.xyz", PASSWORDS["mailbox"])
        assert auth.authenticate("mailbox", "toto@abc.xyz", "new-password-1")
    finally:
        realms.verify_secret = real_verify  # type: ignore[assignment]


def test_a_lockout_holds_on_every_front_end(store_location: str) -> None:
    """Two front ends (two limiters, two connections) over one database: a lockout decided on
    one refuses the next attempt on the other; a new password ends it there too."""
    with Directory(store_location) as a_db, Directory(store_location) as b_db:
        a_db.add_org("acme")
        a_db.add_domain("abc.xyz", "acme", "ns.abc.xyz")
        a_db.enable_email("abc.xyz")
        a_db.add_mailbox("toto@abc.xyz", hash_secret("mailbox-pw-2", CHEAP))
        front_a = Authenticator(
            a_db, CHEAP, RateLimiter(max_per_identifier=3, delay_base=0.0, board=a_db)
        )
        front_b = Authenticator(
            b_db, CHEAP, RateLimiter(max_per_identifier=3, delay_base=0.0, board=b_db)
        )
        for i in range(3):
            assert not front_a.authenticate("mailbox", "toto@abc.xyz", f"bad{i}", "203.0.113.9")
        refused = front_b.authenticate("mailbox", "toto@abc.xyz", "mailbox-pw-2", "203.0.113.9")
        assert not refused.ok and refused.locked
        # elsewhere the owner still gets in, on both front ends
        assert front_b.authenticate("mailbox", "toto@abc.xyz", "mailbox-pw-2", "198.51.100.1")
        # an admin sets a new password: the lockout ends on every front end
        a_db.set_secret_hash("mailbox", "toto@abc.xyz", hash_secret("brand-new-pw", CHEAP))
        assert front_b.authenticate("mailbox", "toto@abc.xyz", "brand-new-pw", "203.0.113.9")


def test_failures_on_every_front_end_add_up_to_one_lockout(postgres) -> None:  # type: ignore[no-untyped-def]
    """Three wrong passwords at A and two at B from one client lock that client out on both
    (before, each front end allowed its own five: N front ends, N times the guesses); the
    per-address count adds up the same way. The owner elsewhere still gets in."""
    url = postgres.new_database()
    with Directory(url) as a_db, Directory(url) as b_db:
        a_db.add_org("acme")
        a_db.add_domain("abc.xyz", "acme", "ns.abc.xyz")
        a_db.enable_email("abc.xyz")
        a_db.add_mailbox("toto@abc.xyz", hash_secret("mailbox-pw-2", CHEAP))
        a_db.add_mailbox("titi@abc.xyz", hash_secret("mailbox-pw-3", CHEAP))

        def front(db: Directory) -> Authenticator:
            limits = RateLimiter(max_per_identifier=5, max_per_address=8, delay_base=0.0, board=db)
            return Authenticator(db, CHEAP, limits)

        a, b = front(a_db), front(b_db)
        guesser = "203.0.113.9"
        for i in range(3):
            assert not a.authenticate("mailbox", "toto@abc.xyz", f"bad{i}", guesser).locked
        for i in range(3, 5):
            assert not b.authenticate("mailbox", "toto@abc.xyz", f"bad{i}", guesser).locked
        for side in (a, b):
            refused = side.authenticate("mailbox", "toto@abc.xyz", "mailbox-pw-2", guesser)
            assert not refused.ok and refused.locked
        assert a.authenticate("mailbox", "toto@abc.xyz", "mailbox-pw-2", "198.51.100.1").ok
        # the address: 5 failures counted above, 3 more on another mailbox across both
        assert not a.authenticate("mailbox", "titi@abc.xyz", "bad-a", guesser).locked
        assert not b.authenticate("mailbox", "titi@abc.xyz", "bad-b", guesser).locked
        assert not b.authenticate("mailbox", "titi@abc.xyz", "bad-c", guesser).ok
        refused = a.authenticate("mailbox", "titi@abc.xyz", "mailbox-pw-3", guesser)
        assert not refused.ok and refused.locked
        # one count, whichever front end records
        assert b_db.count_failure("probe", 300.0) == 1
        assert a_db.count_failure("probe", 300.0) == 2


def test_sqlite_keeps_failure_counts_in_the_server(tmp_path: Path) -> None:
    with Directory(str(tmp_path / "db.sqlite")) as db:
        assert db.count_failure("addr\x00203.0.113.9", 300.0) is None
