"""Submission (587 STARTTLS, 465 implicit TLS): people's mail clients sending mail.

AUTH PLAIN/LOGIN only inside TLS, checked in the mailbox realm (never the account realm);
MAIL FROM must be the authenticated address (or its +tag form); Message-ID and Date are
added when missing; local recipients are delivered at once, others go to the queue.
"""

from __future__ import annotations

import logging

from aiosmtpd.smtp import MISSING, Envelope, Session
from aiosmtpd.smtp import AuthResult as SmtpAuthResult

from swissbox.auth import Authenticator, SaslCredentials, SaslError, decode_base64, decode_plain
from swissbox.smtp import replies
from swissbox.smtp.headers import add_missing_origin
from swissbox.smtp.inbound import MxHandler, Runtime
from swissbox.smtp.policy import Recipient, Verdict, may_send_as
from swissbox.smtp.session import SwissSMTP

log = logging.getLogger("swissbox.smtp")

REALM = "mailbox"


class SubmissionHandler(MxHandler):
    label = "submission"

    def __init__(self, runtime: Runtime, authenticator: Authenticator) -> None:
        super().__init__(runtime)
        self.authenticator = authenticator

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
            creds = decode_plain(blob)
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
        log.info("smtp: %s authenticated as %s", server.client_ip, result.identifier)
        return SmtpAuthResult(success=True, auth_data=result.identifier, message=replies.AUTH_OK)

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
        if not session.authenticated or not isinstance(identity, str):
            return replies.AUTH_REQUIRED
        if not may_send_as(identity, address):
            return replies.SENDER_NOT_OWNED.format(address=address)
        return await super().handle_MAIL(server, session, envelope, address, options)

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
        return super().prepare(
            add_missing_origin(data, self.rt.hostname), server, session, envelope, qid
        )
