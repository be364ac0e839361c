"""Auth plugin: Radicale logins checked in the **account** realm only.

`Credentials` verifies a login once with Argon2 (through the shared `Authenticator`, which
counts failures and returns the delay to apply) and then remembers it under a keyed digest
for a few minutes, so that the many requests of one sync do not each pay Argon2. A remembered
login stays valid only while the account's stored hash is unchanged (a password change or a
removed account ends it at once).

Failures are normally answered by the HTTP layer (`resource.py`), which waits out the delay
without holding a worker thread; the plugin itself never sleeps (Radicale's `[auth] delay` is 0).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from typing import ClassVar

from radicale.auth import AuthContext, BaseAuth

from swissbox.auth import Authenticator, AuthResult
from swissbox.directory import Directory

REALM = "account"


class Credentials:
    """Account logins verified recently; thread-safe."""

    MAX_ENTRIES = 10_000

    def __init__(
        self, authenticator: Authenticator, directory: Directory, ttl: float = 300.0
    ) -> None:
        self.authenticator = authenticator
        self.directory = directory
        self.ttl = ttl
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, tuple[str, str, float]] = {}  # digest -> canonical, hash, expiry
        self._lock = threading.Lock()

    def _digest(self, login: str, password: str) -> bytes:
        data = login.encode("utf-8", "surrogateescape") + b"\0"
        data += password.encode("utf-8", "surrogateescape")
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def cached(self, login: str, password: str) -> str | None:
        """The canonical login if these credentials were verified recently, else None."""
        digest = self._digest(login, password)
        with self._lock:
            entry = self._cache.get(digest)
        if entry is None:
            return None
        canonical, stored, expiry = entry
        found = self.directory.secret_hash(REALM, canonical)
        if time.monotonic() > expiry or found is None or found[1] != stored:
            with self._lock:
                self._cache.pop(digest, None)
            return None
        return canonical

    def verify(self, login: str, password: str, client_address: str | None) -> AuthResult:
        """Blocking (Argon2 on a cache miss): call it off the event loop."""
        canonical = self.cached(login, password)
        if canonical is not None:
            return AuthResult(True, identifier=canonical)
        result = self.authenticator.authenticate(REALM, login, password, client_address)
        if result.ok and result.identifier:
            found = self.directory.secret_hash(REALM, result.identifier)
            if found is not None:
                with self._lock:
                    if len(self._cache) >= self.MAX_ENTRIES:
                        self._cache.clear()
                    self._cache[self._digest(login, password)] = (
                        result.identifier,
                        found[1],
                        time.monotonic() + self.ttl,
                    )
        return result


class Auth(BaseAuth):
    """Bind with `Auth.bound(credentials)` before handing it to Radicale."""

    credentials: ClassVar[Credentials]

    @classmethod
    def bound(cls, credentials: Credentials) -> type[Auth]:
        return type("SwissboxAuth", (cls,), {"credentials": credentials})

    def _login(self, login: str, password: str) -> str:
        return self._login_ext(login, password, AuthContext())

    def _login_ext(self, login: str, password: str, context: AuthContext) -> str:
        result = self.credentials.verify(login, password, context.remote_addr)
        return result.identifier or "" if result.ok else ""
