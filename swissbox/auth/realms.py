"""The three credential realms of DESIGN.md: each protocol asks only its own.

`authenticate` answers the same way for an unknown identifier and a wrong secret (an
Argon2 verification runs either way), counts failures per (realm, identifier) and per client
address, and upgrades a hash made with old parameters after a successful login.
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

from swissbox.auth.hashing import HashParams, hash_secret, needs_rehash, verify_secret
from swissbox.auth.ratelimit import RateLimiter

log = logging.getLogger("swissbox.auth")

REALMS = ("account", "mailbox", "ddns")
FAILURE_MESSAGE = "authentication failed"


class SecretStore(Protocol):
    def secret_hash(self, realm: str, identifier: str) -> tuple[str, str] | None: ...

    def set_secret_hash(self, realm: str, identifier: str, password_hash: str) -> None: ...


@dataclass(frozen=True)
class AuthResult:
    ok: bool
    identifier: str | None = None  # canonical form when ok
    delay: float = 0.0  # seconds the caller should wait before answering a failure
    locked: bool = False  # for logs only; clients get the same FAILURE_MESSAGE

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
    """Checks secrets against one realm of the store. Blocking: call it off the event loop."""

    def __init__(
        self,
        store: SecretStore,
        params: HashParams | None = None,
        limiter: RateLimiter | None = None,
        cache: VerifiedCache | None = None,
    ) -> None:
        self.store = store
        self.params = params or HashParams()
        self.limiter = limiter or RateLimiter()
        self.cache = cache if cache is not None else VerifiedCache()
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

    def _lookup(
        self, realm: str, identifier: str, secret: str, client_address: str | None
    ) -> tuple[tuple[str, str] | None, AuthResult | None]:
        """(stored (canonical, hash) or None, a success when the cache remembers this login)."""
        found = self.store.secret_hash(realm, identifier) if identifier else None
        if found is not None:
            canonical = self.cache.get(realm, identifier, secret, found[1])
            if canonical is not None:
                self.limiter.success(realm, identifier, client_address)
                return found, AuthResult(True, identifier=canonical)
        return found, None

    def remembered(
        self, realm: str, identifier: str, secret: str, client_address: str | None = None
    ) -> AuthResult | None:
        """Success when this exact login was verified recently (no Argon2: cheap enough for
        the event loop); None means "run `authenticate`". Lockouts win over the cache."""
        self._known(realm)
        if self.limiter.locked(realm, identifier, client_address):
            return None
        return self._lookup(realm, identifier, secret, client_address)[1]

    def authenticate(
        self, realm: str, identifier: str, secret: str, client_address: str | None = None
    ) -> AuthResult:
        self._known(realm)
        if self.limiter.locked(realm, identifier, client_address):
            log.warning("auth %s: locked out (client %s)", realm, client_address)
            return AuthResult(False, delay=self.limiter.delay_max, locked=True)
        found, remembered = self._lookup(realm, identifier, secret, client_address)
        if remembered is not None:
            return remembered
        stored = found[1] if found else self._dummy_hash()
        ok = verify_secret(secret, stored) and found is not None
        if not ok:
            delay = self.limiter.failure(realm, identifier, client_address)
            log.info("auth %s: failure for %r from %s", realm, identifier[:100], client_address)
            return AuthResult(False, delay=delay)
        assert found is not None
        canonical = found[0]
        self.limiter.success(realm, identifier, client_address)
        if needs_rehash(stored, self.params):
            try:
                upgraded = hash_secret(secret, self.params)
                self.store.set_secret_hash(realm, canonical, upgraded)
                stored = upgraded
            except Exception:  # an upgrade failure must not fail the login
                log.exception("auth %s: could not upgrade the hash of %r", realm, canonical)
        self.cache.put(realm, identifier, secret, stored, canonical)
        return AuthResult(True, identifier=canonical)

    async def authenticate_async(
        self, realm: str, identifier: str, secret: str, client_address: str | None = None
    ) -> AuthResult:
        """Runs the check in the default executor, then waits out the failure delay."""
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            None, self.authenticate, realm, identifier, secret, client_address
        )
        if not result.ok and result.delay:
            await asyncio.sleep(result.delay)
        return result
