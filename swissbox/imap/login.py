"""Not-authenticated commands: STARTTLS (pipelined input discarded), LOGIN and
AUTHENTICATE PLAIN (with SASL-IR) in the mailbox realm, refused before TLS unless allowed."""

from __future__ import annotations

from typing import Any

from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer
from twisted.mail.imap4 import IAccount
from twisted.python.failure import Failure

from swissbox.auth import SaslError, decode_plain_b64
from swissbox.imap.account import LoginBusy, MailboxCredentials
from swissbox.imap.base import (
    MAX_AUTH_FAILURES,
    Reply,
    SessionBase,
    bad,
    no,
)
from swissbox.imap.parser import (
    Atom,
    Token,
    astring,
)


class LoginCommands(SessionBase):
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
            creds = decode_plain_b64(data)
        except SaslError as exc:
            raise bad(f"Malformed PLAIN response: {exc}") from None
        return self.do_login(creds.authcid, creds.secret)

    def do_login(self, user: str, password: str) -> defer.Deferred[Any]:
        creds = MailboxCredentials(user, password, self.client_ip)
        d = self.service.portal.login(creds, None, IAccount)

        def ok(result: Any) -> bytes:
            _iface, account, logout = result
            self.account = account
            self.state = "auth"
            self.setTimeout(self.settings.idle_timeout)
            caps = b" ".join(self.capability_list())
            return b"[CAPABILITY " + caps + b"] Logged in"

        def failed(f: Failure) -> None:
            if f.check(LoginBusy):
                raise no("[UNAVAILABLE] Too many logins at once, try again shortly")
            if f.check(UnauthorizedLogin):
                self.auth_failures += 1
                if self.auth_failures >= MAX_AUTH_FAILURES:
                    self.untagged(b"BYE Too many authentication failures")
                    self.service.reactor.callLater(0, self.close)
                raise no("[AUTHENTICATIONFAILED] Authentication failed")
            f.raiseException()

        return d.addCallbacks(ok, failed)
