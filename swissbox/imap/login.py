"""Not-authenticated commands: STARTTLS (pipelined input discarded), LOGIN and
AUTHENTICATE PLAIN (with SASL-IR) in the mailbox realm, refused before TLS unless allowed.

PLAIN with an authorization identity (RFC 4616) logs in to another address: the password is
the authcid's own mailbox's, and the person owning that mailbox must hold a full grant on
the authzid (`shared.Access`); the session then is that address."""

from __future__ import annotations

import logging
from typing import Any

from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer
from twisted.mail.imap4 import IAccount
from twisted.python.failure import Failure

from swissbox.auth import AuthResult, SaslError, decode_plain_b64
from swissbox.imap.account import LoginBusy, MailboxCredentials
from swissbox.imap.base import (
    MAX_AUTH_FAILURES,
    Reply,
    bad,
    no,
)
from swissbox.imap.parser import (
    Atom,
    Token,
    astring,
)
from swissbox.imap.shared import Access, SharedCommands

log = logging.getLogger("swissbox.imap")


class LoginCommands(SharedCommands):
    def cmd_starttls(self, tag: bytes, args: list[Token]) -> None:
        self._noargs(args)
        if self.startedTLS or self.implicit_tls:
            raise bad("TLS already active")
        if not self.canStartTLS:
            raise no("TLS not available")
        self.write_line(tag + b" OK Begin TLS negotiation now")
        self.assembler.clear()  # pipelined plaintext commands are discarded
        self.transport.startTLS(self.ctx)
        self.startedTLS = True
        return None

    def cmd_login(self, tag: bytes, args: list[Token]) -> defer.Deferred[Any]:
        if len(args) != 2:
            raise bad("LOGIN needs a user name and a password")
        if not self.plaintext_ok:
            raise no("[PRIVACYREQUIRED] LOGIN is disabled before STARTTLS")
        user = astring(args[0]).decode("utf-8", "replace")
        password = astring(args[1]).decode("utf-8", "replace")
        return self.do_login(user, password)

    def cmd_authenticate(self, tag: bytes, args: list[Token]) -> defer.Deferred[Any] | None:
        if not args or not isinstance(args[0], Atom) or len(args) > 2:
            raise bad("AUTHENTICATE needs a mechanism")
        if not self.plaintext_ok:
            raise no("[PRIVACYREQUIRED] Authentication is disabled before STARTTLS")
        if args[0].upper() != b"PLAIN":
            raise no("Unsupported authentication mechanism")
        if len(args) == 2:  # SASL-IR style initial response
            return self.auth_response(bytes(args[1]))
        self._auth_tag = tag
        self.mode = "authenticate"
        self.write_line(b"+ ")
        return None

    def auth_line(self, line: bytes) -> None:
        tag, self._auth_tag = self._auth_tag or b"*", None
        self.mode = "command"
        if line.strip() == b"*":
            self.finish(tag, b"BAD", b"AUTHENTICATE cancelled")
            return
        try:
            d = self.auth_response(line)
        except Reply as r:
            self.answer_error(tag, r, b"AUTHENTICATE")
            return
        self.wait_for(tag, b"AUTHENTICATE", d)

    def auth_response(self, data: bytes) -> defer.Deferred[Any]:
        try:
            creds = decode_plain_b64(data, allow_authzid=True)
        except SaslError as exc:
            raise bad(f"Malformed PLAIN response: {exc}") from None
        if creds.authzid:
            return self.do_proxy_login(creds.authcid, creds.secret, creds.authzid)
        return self.do_login(creds.authcid, creds.secret)

    def do_login(self, user: str, password: str) -> defer.Deferred[Any]:
        creds = MailboxCredentials(user, password, self.client_ip)
        d = self.service.portal.login(creds, None, IAccount)
        return d.addCallbacks(self._logged_in, self._login_failed)

    def do_proxy_login(self, authcid: str, secret: str, authzid: str) -> defer.Deferred[Any]:
        """Verify `authcid`'s password (only through the Authenticator), then open `authzid`
        when the person owning `authcid` may act as it; any refusal is a plain failure."""
        authenticator = self.service.ctx.authenticator
        d = defer.Deferred.fromFuture(
            self.service.ensure_future(
                authenticator.authenticate_async("mailbox", authcid, secret, self.client_ip)
            )
        )

        def verified(result: AuthResult) -> Any:
            if result.busy:
                raise LoginBusy("too many logins at once")
            if not result.ok or not result.identifier:
                raise UnauthorizedLogin("authentication failed")
            access = Access(self.service.ctx.directory, result.identifier, authzid)
            access.refresh()
            acting = access.usable_as(authzid)
            if acting is None:
                log.info(
                    "imap: %s authenticated as %s but may not act as %r",
                    self.client_ip,
                    result.identifier,
                    authzid[:100],
                )
                raise UnauthorizedLogin("not authorized for this identity")
            self._authcid = result.identifier
            return self.service.portal.realm.requestAvatar(acting, None, IAccount)

        return d.addCallback(verified).addCallbacks(self._logged_in, self._login_failed)

    def _logged_in(self, result: Any) -> bytes:
        _iface, account, logout = result
        self.account = account
        self.state = "auth"
        self.setTimeout(self.settings.idle_timeout)
        self.start_access(getattr(self, "_authcid", None) or account.address, account.address)
        caps = b" ".join(self.capability_list())
        return b"[CAPABILITY " + caps + b"] Logged in"

    def _login_failed(self, f: Failure) -> None:
        if f.check(LoginBusy):
            raise no("[UNAVAILABLE] Too many logins at once, try again shortly")
        if f.check(UnauthorizedLogin):
            self.auth_failures += 1
            if self.auth_failures >= MAX_AUTH_FAILURES:
                self.untagged(b"BYE Too many authentication failures")
                self.service.reactor.callLater(0, self.close)
            raise no("[AUTHENTICATIONFAILED] Authentication failed")
        f.raiseException()
