"""The three credential realms of DESIGN.md: each protocol asks only its own.

`authenticate` answers the same way for an unknown identifier and a wrong secret (an
Argon2 verification runs either way), counts failures (see `ratelimit`), and upgrades a hash
made with old parameters after a successful login. Verifications run on one bounded pool.

App passwords (`apppasswords`, `swissbox.directory.twofactor`) open the mailbox realm beside
the mailbox's password, and the account realm where the caller asks for them (`apps=True`:
DAV only; the admin API never does). Once an account has two-factor authentication on, an
`apps=True` check accepts only its app passwords: the account password alone no longer opens
DAV.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from swissbox import metrics
from swissbox.auth.hashing import HashParams, hash_secret, needs_rehash, verify_secret
from swissbox.auth.pool import Busy, VerifyPool
from swissbox.auth.ratelimit import RateLimiter

log = logging.getLogger("swissbox.auth")

REALMS = ("account", "mailbox", "ddns")
FAILURE_MESSAGE = "authentication failed"


class SecretStore(Protocol):
    def secret_hash(self, realm: str, identifier: str) -> tuple[str, str] | None: ...

    def set_secret_hash(self, realm: str, identifier: str, password_hash: str) -> None: ...


class AppSecretStore(SecretStore, Protocol):
    """A store that also keeps app passwords and knows who has two-factor authentication."""

    def app_password_hashes(self, realm: str, identifier: str) -> list[tuple[int, str]]: ...

    def app_password_used(self, app_id: int) -> None: ...

    def two_factor_on(self, login: str) -> bool: ...


@dataclass(frozen=True)
class AuthResult:
    ok: bool
    identifier: str | None = None  # canonical form when ok
    delay: float = 0.0  # seconds the caller should wait before answering a failure
    locked: bool = False  # for logs only; clients get the same FAILURE_MESSAGE
    busy: bool = False  # not checked (too many logins at once): answer "try again later"

    def __bool__(self) -> bool:
        return self.ok


class VerifiedCache:
    """Secrets verified recently, so that a client logging in again and again (a DAV sync's
    many requests, IMAP reconnects, several connections) pays one Argon2 run per `ttl` rather
    than one per login, as Dovecot's auth cache does. Keys are an HMAC (per-process random key)
    of realm, identifier, secret and the stored hash: a changed password or a removed
    identifier misses at once, and nothing in memory reveals a secret."""

    def __init__(self, ttl: float = 300.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._key = os.urandom(32)
        self._entries: dict[bytes, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def _digest(self, realm: str, identifier: str, secret: str, stored: str) -> bytes:
        data = "\0".join((realm, identifier.strip().lower(), secret, stored))
        return hmac.new(self._key, data.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def get(self, realm: str, identifier: str, secret: str, stored: str) -> str | None:
        """The canonical identifier when this exact login was verified within `ttl`."""
        if self.ttl <= 0:
            return None
        digest = self._digest(realm, identifier, secret, stored)
        with self._lock:
            entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, realm: str, identifier: str, secret: str, stored: str, canonical: str) -> None:
        if self.ttl <= 0:
            return
        digest = self._digest(realm, identifier, secret, stored)
        with self._lock:
            if len(self._entries) >= self.size:
                now = time.monotonic()
                self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
                if len(self._entries) >= self.size:
                    self._entries.clear()
            self._entries[digest] = (time.monotonic() + self.ttl, canonical)


class Authenticator:
    """Checks secrets against one realm of the store. Every check that may run Argon2 goes
    through one bounded `VerifyPool`: `authenticate` blocks its caller, `authenticate_async`
    awaits; when the pool is saturated the answer is `AuthResult(busy=True)`, never a hang."""

    def __init__(
        self,
        store: SecretStore,
        params: HashParams | None = None,
        limiter: RateLimiter | None = None,
        cache: VerifiedCache | None = None,
        pool: VerifyPool | None = None,
    ) -> None:
        self.store = store
        self.params = params or HashParams()
        self.limiter = limiter or RateLimiter()
        self.cache = cache if cache is not None else VerifiedCache()
        self.pool = pool or VerifyPool()
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()

    def _dummy_hash(self) -> str:
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = hash_secret("swissbox-no-such-identifier", self.params)
            return self._dummy

    @staticmethod
    def _known(realm: str) -> None:
        if realm not in REALMS:
            raise ValueError(f"unknown realm {realm!r}")

    def _stored(self, realm: str, identifier: str) -> tuple[tuple[str, str] | None, str]:
        """(stored (canonical, hash) or None, the fingerprint of the stored hash or "")."""
        found = self.store.secret_hash(realm, identifier) if identifier else None
        return found, _fingerprint(found[1]) if found else ""

    @staticmethod
    def _wants_apps(realm: str, apps: bool | None) -> bool:
        return realm == "mailbox" if apps is None else apps and realm != "ddns"

    def _candidates(
        self, realm: str, found: tuple[str, str] | None, apps: bool
    ) -> list[tuple[int | None, str]]:
        """The hashes that may open `found`: (None, its own) unless two-factor authentication
        bars it, then (app password id, hash) of its app passwords when `apps`."""
        if found is None:
            return []
        if not apps or not hasattr(self.store, "app_password_hashes"):
            return [(None, found[1])]
        store: AppSecretStore = self.store  # type: ignore[assignment]
        own: list[tuple[int | None, str]] = []
        if not (realm == "account" and store.two_factor_on(found[0])):
            own = [(None, found[1])]
        app: list[tuple[int | None, str]] = list(store.app_password_hashes(realm, found[0]))
        return own + app

    @staticmethod
    def _cache_realm(realm: str, apps: bool) -> str:
        return realm + "+apps" if apps else realm

    @staticmethod
    def _cache_key(candidates: list[tuple[int | None, str]]) -> str:
        """What the cache binds a login to: every hash that may open it, so that a new
        password, a revoked app password or 2FA turned on misses at once."""
        return "\n".join(h for _, h in candidates)

    def remembered(
        self,
        realm: str,
        identifier: str,
        secret: str,
        client_address: str | None = None,
        apps: bool | None = None,
    ) -> AuthResult | None:
        """Success when this exact login was verified recently (no Argon2: cheap enough for
        the event loop); None means "run `authenticate`". Lockouts win over the cache."""
        self._known(realm)
        found, tag = self._stored(realm, identifier)
        if found is None or self.limiter.locked(realm, identifier, client_address, tag):
            return None
        use_apps = self._wants_apps(realm, apps)
        candidates = self._candidates(realm, found, use_apps)
        canonical = self.cache.get(
            self._cache_realm(realm, use_apps), identifier, secret, self._cache_key(candidates)
        )
        if canonical is None:
            return None
        self.limiter.success(realm, identifier, client_address, tag)
        return AuthResult(True, identifier=canonical)

    def _check(
        self,
        realm: str,
        identifier: str,
        secret: str,
        client_address: str | None,
        apps: bool | None = None,
    ) -> AuthResult:
        """The whole check, blocking; runs on the pool."""
        found, tag = self._stored(realm, identifier)
        name = identifier[:100]
        if self.limiter.locked(realm, identifier, client_address, tag):
            log.warning("auth %s: %r refused from %s: locked out", realm, name, client_address)
            metrics.auth_failure(realm, "locked")
            return AuthResult(False, delay=self.limiter.delay_max, locked=True)
        use_apps = self._wants_apps(realm, apps)
        candidates = self._candidates(realm, found, use_apps)
        cache_realm, cache_key = self._cache_realm(realm, use_apps), self._cache_key(candidates)
        if found is not None:
            canonical = self.cache.get(cache_realm, identifier, secret, cache_key)
            if canonical is not None:
                self.limiter.success(realm, identifier, client_address, tag)
                return AuthResult(True, identifier=canonical)
        matched: int | None = None
        ok = False
        if not candidates:  # the same Argon2 run for an unknown identifier
            verify_secret(secret, self._dummy_hash())
        for app_id, candidate in candidates:
            if verify_secret(secret, candidate):
                ok, matched = True, app_id
                break
        stored = found[1] if found else ""
        if not ok:
            delay = self.limiter.failure(realm, identifier, client_address, secret, tag)
            log.info("auth %s: failure for %r from %s", realm, name, client_address)
            metrics.auth_failure(realm, "wrong")
            return AuthResult(False, delay=delay)
        assert found is not None
        canonical = found[0]
        self.limiter.success(realm, identifier, client_address, tag)
        if matched is not None:
            self._app_used(matched)
        elif needs_rehash(stored, self.params):
            try:
                upgraded = hash_secret(secret, self.params)
                self.store.set_secret_hash(realm, canonical, upgraded)
                candidates = [(None, upgraded)] + candidates[1:]
                cache_key = self._cache_key(candidates)
            except Exception:  # an upgrade failure must not fail the login
                log.exception("auth %s: could not upgrade the hash of %r", realm, canonical)
        self.cache.put(cache_realm, identifier, secret, cache_key, canonical)
        return AuthResult(True, identifier=canonical)

    def _app_used(self, app_id: int) -> None:
        try:
            self.store.app_password_used(app_id)  # type: ignore[attr-defined]
        except Exception:  # bookkeeping must not fail the login
            log.exception("auth: could not record the use of app password #%d", app_id)

    def authenticate(
        self,
        realm: str,
        identifier: str,
        secret: str,
        client_address: str | None = None,
        apps: bool | None = None,
    ) -> AuthResult:
        """Blocking: waits for a verification slot (at most the pool's timeout). `apps`:
        whether app passwords count (default: in the mailbox realm only)."""
        remembered = self.remembered(realm, identifier, secret, client_address, apps)
        if remembered is not None:
            return remembered
        try:
            return self.pool.run(self._check, realm, identifier, secret, client_address, apps)
        except Busy as exc:
            log.warning(
                "auth %s: %r from %s not checked: %s", realm, identifier[:100], client_address, exc
            )
            return BUSY

    async def authenticate_async(
        self,
        realm: str,
        identifier: str,
        secret: str,
        client_address: str | None = None,
        apps: bool | None = None,
    ) -> AuthResult:
        """Awaits a verification slot, then waits out the failure delay."""
        # A remembered login skips the queue: a login storm must not delay returning users.
        remembered = await asyncio.get_running_loop().run_in_executor(
            None, self.remembered, realm, identifier, secret, client_address, apps
        )
        if remembered is not None:
            return remembered
        try:
            result = await self.pool.run_async(
                self._check, realm, identifier, secret, client_address, apps
            )
        except Busy as exc:
            log.warning(
                "auth %s: %r from %s not checked: %s", realm, identifier[:100], client_address, exc
            )
            return BUSY
        if not result.ok and result.delay:
            await asyncio.sleep(result.delay)
        return result

    def close(self) -> None:
        """Drops waiting verifications (they answer busy); for server shutdown."""
        self.pool.close()


def _fingerprint(stored_hash: str) -> str:
    return hashlib.sha256(stored_hash.encode("utf-8", "surrogatepass")).hexdigest()[:16]


BUSY = AuthResult(False, busy=True)
