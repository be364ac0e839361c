"""Auth plugin: Radicale logins checked in the **account** realm only.

Logins go through the shared `Authenticator`, which counts failures, returns the delay to
apply, and remembers recent logins (its `VerifiedCache`) so that the many requests of one sync
do not each pay Argon2.

Failures are normally answered by the HTTP layer (`resource.py`), which waits out the delay
without holding a worker thread; the plugin itself never sleeps (Radicale's `[auth] delay` is 0).
"""

from __future__ import annotations

from typing import ClassVar

from radicale.auth import AuthContext, BaseAuth

from swissbox.auth import Authenticator

REALM = "account"


class Auth(BaseAuth):
    """Bind with `Auth.bound(authenticator)` before handing it to Radicale."""

    authenticator: ClassVar[Authenticator]

    @classmethod
    def bound(cls, authenticator: Authenticator) -> type[Auth]:
        return type("SwissboxAuth", (cls,), {"authenticator": authenticator})

    def _login(self, login: str, password: str) -> str:
        return self._login_ext(login, password, AuthContext())

    def _login_ext(self, login: str, password: str, context: AuthContext) -> str:
        # apps=True: app passwords open DAV, and only they do once the account has 2FA on.
        result = self.authenticator.authenticate(
            REALM, login, password, context.remote_addr, apps=True
        )
        return result.identifier or "" if result.ok else ""
