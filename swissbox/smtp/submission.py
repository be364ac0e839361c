"""Submission (587 STARTTLS, 465 implicit TLS): people's mail clients sending mail.

AUTH PLAIN/LOGIN only inside TLS, checked in the mailbox realm (never the account realm).
PLAIN may carry an authorization identity (RFC 4616): authenticate with your own mailbox's
password, act as an address your account may send as. MAIL FROM, and the header From: and
Sender: ([smtp] check_header_from), must be addresses the session may send as
(`policy.may_send_as`, re-read from the directory at each MAIL and DATA, so a revoked grant
counts at once). Message-ID and Date are added when missing, then the message is DKIM-signed
by the domain of its From: (`signing.DkimSigner`), once, before local recipients get it at once
and the others through the queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiosmtpd.smtp import MISSING, Envelope, Session
from aiosmtpd.smtp import AuthResult as SmtpAuthResult

from swissbox.auth import Authenticator, SaslCredentials, SaslError, decode_base64, decode_plain
from swissbox.smtp import replies
from swissbox.smtp.headers import add_missing_origin
from swissbox.smtp.inbound import MxHandler, Runtime
from swissbox.smtp.policy import (
    Recipient,
    Verdict,
    header_senders,
    may_send_as,
    same_address,
    send_as,
)
from swissbox.smtp.session import SwissSMTP
from swissbox.smtp.signing import DkimSigner

log = logging.getLogger("swissbox.smtp")

REALM = "mailbox"


@dataclass(frozen=True)
class Identity:
    """Who a submission session is: the mailbox whose password was given (`authcid`) and the
    one it acts as (`mailbox`: the same, or the SASL authorization identity)."""

    mailbox: str
    authcid: str


class SubmissionHandler(MxHandler):
    label = "submission"

    def __init__(
        self,
        runtime: Runtime,
        authenticator: Authenticator,
        check_header_from: bool = True,
        signer: DkimSigner | None = None,
    ) -> None:
        super().__init__(runtime)
        self.authenticator = authenticator
        self.check_header_from = check_header_from
        self.signer = signer

    # -- AUTH (these override aiosmtpd's built-in mechanisms of the same name) ----------

    async def auth_PLAIN(self, server: SwissSMTP, args: list[str]) -> SmtpAuthResult:
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return SmtpAuthResult(success=False, handled=True)
        else:
            try:
                blob = decode_base64(args[1])
            except SaslError:
                await server.push(replies.AUTH_SYNTAX)
                return SmtpAuthResult(success=False, handled=True)
        assert isinstance(blob, bytes)
        try:
            creds = decode_plain(blob, allow_authzid=True)
        except SaslError:
            await server.push(replies.AUTH_SYNTAX)
            return SmtpAuthResult(success=False, handled=True)
        return await self._check(server, creds)

    async def auth_LOGIN(self, server: SwissSMTP, args: list[str]) -> SmtpAuthResult:
        if len(args) == 1:
            user = await server.challenge_auth("Username:")
        else:
            try:
                user = decode_base64(args[1])
            except SaslError:
                await server.push(replies.AUTH_SYNTAX)
                return SmtpAuthResult(success=False, handled=True)
        if user is MISSING:
            return SmtpAuthResult(success=False, handled=True)
        password = await server.challenge_auth("Password:")
        if password is MISSING:
            return SmtpAuthResult(success=False, handled=True)
        assert isinstance(user, bytes) and isinstance(password, bytes)
        try:
            creds = SaslCredentials(user.decode("utf-8"), password.decode("utf-8"))
        except UnicodeDecodeError:
            await server.push(replies.AUTH_SYNTAX)
            return SmtpAuthResult(success=False, handled=True)
        if (
            not creds.authcid
            or not creds.secret
            or len(creds.authcid) > 255
            or len(creds.secret) > 1024
        ):
            return SmtpAuthResult(success=False, handled=False, message=replies.AUTH_FAILED)
        return await self._check(server, creds)

    async def _check(self, server: SwissSMTP, creds: SaslCredentials) -> SmtpAuthResult:
        try:
            result = await self.authenticator.authenticate_async(
                REALM, creds.authcid, creds.secret, server.client_ip
            )
        except Exception:
            log.exception("smtp: authentication error")
            return SmtpAuthResult(success=False, handled=False, message=replies.AUTH_TEMP_FAILURE)
        if result.busy:
            return SmtpAuthResult(success=False, handled=False, message=replies.AUTH_TEMP_FAILURE)
        if not result.ok:
            # handled=False with a message: aiosmtpd sends it (handled=True would hang the client)
            return SmtpAuthResult(success=False, handled=False, message=replies.AUTH_FAILED)
        identity = Identity(result.identifier or creds.authcid, result.identifier or creds.authcid)
        if creds.authzid:
            acting = self._authorized(identity.authcid, creds.authzid)
            if acting is None:
                log.info(
                    "smtp: %s authenticated as %s but may not act as %r",
                    server.client_ip,
                    identity.authcid,
                    creds.authzid[:100],
                )
                return SmtpAuthResult(success=False, handled=False, message=replies.AUTH_FAILED)
            identity = Identity(acting, identity.authcid)
        log.info(
            "smtp: %s authenticated as %s%s",
            server.client_ip,
            identity.authcid,
            f" for {identity.mailbox}" if identity.mailbox != identity.authcid else "",
        )
        return SmtpAuthResult(success=True, auth_data=identity, message=replies.AUTH_OK)

    def _senders(self, identity: Identity) -> list[str]:
        """What the session may send as now: its password's mailbox, what its person may
        send as, and the aliases of those that allow it (read from the directory each time:
        a revoked grant or alias counts at once)."""
        own = [identity.authcid, *send_as(self.rt.directory.usable_mailboxes(identity.authcid))]
        return [*own, *self.rt.directory.alias_senders(own)]

    def _authorized(self, authcid: str, authzid: str) -> str | None:
        """The canonical form of `authzid` when `authcid`'s person may send as it."""
        for address in self._senders(Identity(authcid, authcid)):
            if same_address(address, authzid):
                return address
        return None

    # -- envelope -----------------------------------------------------------------------

    async def handle_MAIL(
        self,
        server: SwissSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        identity = session.auth_data
        if not session.authenticated or not isinstance(identity, Identity):
            return replies.AUTH_REQUIRED
        mine, *others = self._senders(identity)
        if not may_send_as(mine, address, others):
            return replies.SENDER_NOT_OWNED.format(address=address)
        return await super().handle_MAIL(server, session, envelope, address, options)

    async def handle_DATA(self, server: SwissSMTP, session: Session, envelope: Envelope) -> str:
        refused = self.refused_sender(session, envelope)
        if refused is not None:
            log.info("smtp: %s: %s", server.client_ip, refused)
            return refused
        return await super().handle_DATA(server, session, envelope)

    def refused_sender(self, session: Session, envelope: Envelope) -> str | None:
        """The reply refusing this message's senders (envelope again, then the header From:
        and Sender: when checked), or None when the session may send as all of them."""
        identity = session.auth_data
        if not isinstance(identity, Identity):
            return replies.AUTH_REQUIRED
        mine, *others = self._senders(identity)
        if not may_send_as(mine, envelope.mail_from or "", others):
            return replies.SENDER_NOT_OWNED.format(address=envelope.mail_from or "")
        if not self.check_header_from:
            return None
        for field, address in header_senders(envelope.original_content or b""):
            if address is None:
                return replies.HEADER_SENDER_UNREADABLE.format(field=field)
            if not may_send_as(mine, address, others):
                return replies.HEADER_SENDER_NOT_OWNED.format(field=field, address=address)
        return None

    def decide(self, server: SwissSMTP, decision: Recipient, envelope: Envelope) -> str:
        """Hosted mailboxes as on MX; other domains too (they go to the queue)."""
        if decision.verdict is Verdict.REMOTE:
            return replies.RECIPIENT_OK
        if decision.verdict is Verdict.INVALID:
            return replies.BAD_ADDRESS
        return super().decide(server, decision, envelope)

    def prepare(
        self, data: bytes, server: SwissSMTP, session: Session, envelope: Envelope, qid: str
    ) -> bytes:
        data = add_missing_origin(data, self.rt.hostname)
        if self.signer is not None:
            data = self.signer.sign(data)
        return super().prepare(data, server, session, envelope, qid)
