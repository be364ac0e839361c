"""Auth plugin: Radicale logins checked in the **account** realm only.

`Credentials` verifies logins through the shared `Authenticator`, which counts failures,
returns the delay to apply, and remembers recent logins (its `VerifiedCache`) so that the
many requests of one sync do not each pay Argon2.

Failures are normally answered by the HTTP layer (`resource.py`), which waits out the delay
without holding a worker thread; the plugin itself never sleeps (Radicale's `[auth] delay` is 0).
"""

from __future__ import annotations

from typing import ClassVar

from radicale.auth import AuthContext, BaseAuth

from swissbox.auth import Authenticator, AuthResult
from swissbox.directory import Directory

REALM = "account"


class Credentials:
    """Account-realm logins for the DAV gate and the Radicale plugin (thread-safe); the
    remembering of recent logins is the shared Authenticator's `VerifiedCache`."""

    def __init__(self, authenticator: Authenticator, directory: Directory) -> None:
        self.authenticator = authenticator
        self.directory = directory

    def cached(self, login: str, password: str, client_address: str | None = None) -> str | None:
        """The canonical login if these credentials were verified recently, else None."""
        result = self.authenticator.remembered(REALM, login, password, client_address)
        return result.identifier if result is not None else None

    def verify(self, login: str, password: str, client_address: str | None) -> AuthResult:
        """Blocking (Argon2 on a cache miss): call it off the event loop."""
        return self.authenticator.authenticate(REALM, login, password, client_address)


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
