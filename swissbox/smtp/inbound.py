"""MX ingress: other mail servers delivering to hosted addresses. Policy in handle_* hooks.

No AUTH, no relaying: RCPT accepts only hosted addresses as `routing.py` resolves them
(mailboxes, aliases, forwards, catch-alls, plus-addresses, valid SRS bounce addresses; unknown
or leading nowhere -> 550 5.1.1, any other domain or routing trick -> 554 5.7.1) and the role
addresses of `roles.py` (postmaster@, abuse@, bare Postmaster), delivered to the organization's
administrators while no mailbox or alias has that name; DATA with bare LF/CR is refused
(550 5.5.2), and so is a mail loop (554 5.4.6, `forwarding.py`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from aiosmtpd.smtp import Envelope, Session

from swissbox.directory import Mailbox
from swissbox.filter.pipeline import MailFilter
from swissbox.mailstore import MailStore
from swissbox.mailstore.queue import queue_id
from swissbox.smtp import replies, screening
from swissbox.smtp.authcheck import INBOX, JUNK, InboundAuth
from swissbox.smtp.dataguard import has_bare_newline
from swissbox.smtp.delivery import Deliverer
from swissbox.smtp.forwarding import hop_count, plan
from swissbox.smtp.headers import protocol_name, received_header
from swissbox.smtp.outbound import dsn
from swissbox.smtp.outbound.state import FAILED, RecipientState
from swissbox.smtp.policy import Recipient, Verdict
from swissbox.smtp.routing import Routing, RoutingDirectory, route_recipient
from swissbox.smtp.session import Limits, SwissSMTP

log = logging.getLogger("swissbox.smtp")

EXTRA_EHLO = ("PIPELINING", "ENHANCEDSTATUSCODES")
ROLE_WARNING_INTERVAL = 600.0  # seconds between two warnings about one unreadable role address
_role_warned: dict[str, float] = {}  # address (lower case) -> monotonic time of its last warning


class SmtpDirectory(RoutingDirectory, Protocol):
    """The directory queries RCPT makes."""


@dataclass
class Runtime:
    """What every handler shares: the service's core objects."""

    directory: SmtpDirectory
    store: MailStore
    deliverer: Deliverer
    limits: Limits
    hostname: str
    routing: Routing = field(default_factory=lambda: Routing(""))
    mailauth: InboundAuth | None = None  # SPF/DKIM/DMARC at the MX; None: not checked
    filters: MailFilter | None = None  # blocklists, limits, rspamd/clamd; None: off
    sealer: Callable[[bytes, str], bytes] | None = None  # ARC set on forwards (message, domain)

    def __post_init__(self) -> None:
        if not self.routing.hostname:
            self.routing = replace(self.routing, hostname=self.hostname)


def recipients(envelope: Envelope) -> list[Recipient]:
    """The accepted recipients' decisions, kept beside aiosmtpd's `rcpt_tos`."""
    found: list[Recipient] | None = getattr(envelope, "swissbox_rcpts", None)
    if found is None:
        found = []
        envelope.swissbox_rcpts = found  # type: ignore[attr-defined]
    return found


def mail_size(options: list[str]) -> int | None:
    for option in options:
        name, _, value = option.partition("=")
        if name.upper() == "SIZE" and value.isdigit():
            return int(value)
    return None


def warn_unreadable(address: str, now: float | None = None) -> None:
    """Logs that a role address was refused because nobody here can read it; at most once
    per ROLE_WARNING_INTERVAL per address, so that RCPT cannot flood the log."""
    key, now = address.lower(), time.monotonic() if now is None else now
    last = _role_warned.get(key)
    if last is not None and now - last < ROLE_WARNING_INTERVAL:
        return
    if len(_role_warned) > 10_000:
        _role_warned.clear()
    _role_warned[key] = now
    log.warning(
        "smtp: mail for <%s> refused: no administrator of its organization has a mailbox"
        " here (add a mailbox of that name, or grant one to an administrator)",
        address,
    )


class MxHandler:
    label = "smtp-mx"

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def handle_EHLO(
        self,
        server: SwissSMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self.rt.filters is not None:  # answered by the first RCPT, most often already here
            screening.start_blocklist_lookup(self.rt.filters, server, session)
        out = [r for r in responses if server.allow_auth or not r[4:].upper().startswith("AUTH")]
        last = out.pop()  # "250 HELP"
        out += [f"250-{ext}" for ext in EXTRA_EHLO]
        out.append(last)
        return out

    async def handle_MAIL(
        self,
        server: SwissSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        if self.rt.filters is not None:
            screening.start_blocklist_lookup(self.rt.filters, server, session)
        return replies.SENDER_OK

    def check_quota(self, mailbox: Mailbox, envelope: Envelope) -> str | None:
        if mailbox.quota_bytes is None:
            return None
        used = self.rt.store.usage(mailbox.address)
        if used >= mailbox.quota_bytes:
            return replies.MAILBOX_FULL_TEMP.format(address=mailbox.address)
        size = mail_size(envelope.mail_options)
        if size is not None and used + size > mailbox.quota_bytes:
            return replies.MAILBOX_FULL.format(address=mailbox.address)
        return None

    async def handle_RCPT(
        self,
        server: SwissSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= self.rt.limits.max_recipients:
            return replies.TOO_MANY_RECIPIENTS
        if self.rt.filters is not None:
            listed = await screening.blocklisted(self.rt.filters, server, session)
            if listed is not None:
                return listed
        decision = route_recipient(self.rt.directory, address, self.rt.routing)
        reply = self.decide(server, decision, envelope)
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
            recipients(envelope).append(decision)
        return reply

    def decide(self, server: SwissSMTP, decision: Recipient, envelope: Envelope) -> str:
        """MX: hosted mailboxes only."""
        if decision.verdict is Verdict.LOCAL:
            assert decision.mailbox is not None
            return self.check_quota(decision.mailbox, envelope) or replies.RECIPIENT_OK
        if decision.verdict is Verdict.ROLE:
            if decision.mailboxes:
                return replies.RECIPIENT_OK
            warn_unreadable(decision.address)
            return replies.NO_ROLE_MAILBOX.format(address=decision.address)
        if decision.verdict in (Verdict.ALIAS, Verdict.BOUNCE):
            for box in decision.mailboxes:  # a full member holds the alias back, loses nothing
                refused = self.check_quota(box, envelope)
                if refused is not None:
                    return refused
            return replies.RECIPIENT_OK
        if decision.verdict is Verdict.BAD_SRS:
            return replies.BAD_SRS.format(address=decision.address)
        if decision.verdict is Verdict.UNKNOWN:
            return replies.UNKNOWN_USER.format(address=decision.address)
        return replies.RELAY_DENIED.format(address=decision.address)

    def prepare(
        self, data: bytes, server: SwissSMTP, session: Session, envelope: Envelope, qid: str
    ) -> bytes:
        """The message as it will be stored: with our Received: line on top."""
        tls = server.tls_info()
        rcpts = envelope.rcpt_tos
        trace = received_header(
            helo=session.host_name or "",
            client_ip=server.client_ip,
            hostname=self.rt.hostname,
            protocol=protocol_name(
                session.extended_smtp, tls is not None, bool(session.authenticated)
            ),
            tls=tls,
            qid=qid,
            recipient=rcpts[0] if len(rcpts) == 1 else None,
        )
        return trace + data

    async def handle_DATA(self, server: SwissSMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        if has_bare_newline(data):
            log.info("smtp: bare newline in DATA from %s, rejected", server.client_ip)
            return replies.BARE_NEWLINE
        hops = hop_count(data)
        if hops > self.rt.routing.max_hops:
            log.info("smtp: %d Received: fields from %s, refused as a loop", hops, server.client_ip)
            return replies.TOO_MANY_HOPS.format(hops=hops)
        sender = envelope.mail_from or ""
        if sender == "<>":  # aiosmtpd's spelling of the null sender (bounces)
            sender = ""
        folder = INBOX
        if self.rt.mailauth is not None and not session.authenticated:
            try:
                checked = await self.rt.mailauth.check(
                    data, server.client_ip, session.host_name or "", sender, envelope.rcpt_tos
                )
            except Exception:  # a bug must not let mail through unchecked, nor kill the session
                log.exception("smtp: mail authentication failed for <%s>", sender)
                return replies.LOCAL_ERROR
            if checked.reply is not None:
                log.info("smtp: from <%s> at %s: %s", sender, server.client_ip, checked.reply)
                return checked.reply
            data, folder = checked.data, checked.folder
        qid = queue_id()
        if self.rt.filters is not None:
            user = getattr(session.auth_data, "mailbox", None) if session.authenticated else None
            screened = await screening.screen(
                self.rt.filters, server, session, envelope, data, folder, sender, qid, user
            )
            if screened.reply is not None:
                log.info(
                    "smtp %s: from <%s> at %s: %s", qid, sender, server.client_ip, screened.reply
                )
                return screened.reply
            data, folder = screened.data, screened.folder
        data = await self.rt.deliverer.prepare(data)
        data = self.prepare(data, server, session, envelope, qid)
        rcpts = recipients(envelope)
        route = plan(
            rcpts,
            data,
            sender,
            self.rt.routing,
            self.rt.directory.is_mail_domain,
            self.rt.sealer,
            junk=folder == JUNK,
        )
        if route.looped and len(route.looped) == len(rcpts):
            return replies.MAIL_LOOP
        given = {r.mailbox.address: r.address for r in rcpts if r.mailbox is not None}
        outcome = await self.rt.deliverer.deliver(
            data, route.local, route.remote, sender, qid, folder, given
        )
        if not outcome.reply.startswith("250"):
            return outcome.reply
        if route.forwards and not await self.rt.deliverer.queue_copies(route.forwards, qid):
            return replies.LOCAL_ERROR
        if route.forwards and not outcome.queued:
            outcome.reply = replies.QUEUED.format(id=qid)
        if route.looped and sender:
            failed = {a: RecipientState(FAILED, replies.MAIL_LOOP) for a in route.looped}
            report = dsn.bounce(self.rt.hostname, qid, sender, failed, data, time.time())
            try:
                await return_to_sender(self.rt, sender, report)
            except Exception:  # the others' copies are delivered: answer for them
                log.exception("smtp %s: could not return the loop report to <%s>", qid, sender)
        return outcome.reply


async def return_to_sender(rt: Runtime, sender: str, report: bytes) -> None:
    """Hands a delivery report to `sender`: our own SRS addresses are unwrapped first (the
    report goes to the sender they stand for), then the mailbox when hosted here, else the
    queue with the null sender."""
    sender = rt.routing.return_path(sender)
    await rt.deliverer.bounce(sender, report, rt.directory.mailbox(sender))
