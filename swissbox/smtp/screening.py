"""The SMTP side of `swissbox.filter`: the blocklist check (started at EHLO, answered at RCPT;
MX only), the sending limit and the content scanners at the end of DATA. The scanners'
verdict picks the reply or the folder (Junk, as a DMARC quarantine does) and the header
fields to add."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiosmtpd.smtp import Envelope, Session

from swissbox.filter.base import Action, Request
from swissbox.filter.headers import add_fields
from swissbox.filter.pipeline import MailFilter
from swissbox.smtp.authcheck import JUNK
from swissbox.smtp.session import SwissSMTP


@dataclass(frozen=True)
class Screened:
    data: bytes
    folder: str
    reply: str | None = None  # refuse (5xx) or defer (4xx) instead of delivering


def start_blocklist_lookup(filters: MailFilter, server: SwissSMTP, session: Session) -> None:
    """Begins the client's blocklist lookup (at EHLO and MAIL), so that RCPT mostly finds it
    done. MX only: submission listeners (AUTH offered) and authenticated sessions are not
    checked against blocklists."""
    if filters.blocklists is None or server.allow_auth or session.authenticated:
        return
    if getattr(session, "swissbox_dnsbl", None) is None:
        task = asyncio.ensure_future(filters.listed(server.client_ip))
        session.swissbox_dnsbl = task  # type: ignore[attr-defined]


async def blocklisted(filters: MailFilter, server: SwissSMTP, session: Session) -> str | None:
    """The RCPT reply refusing a listed client, or None."""
    if filters.blocklists is None or server.allow_auth or session.authenticated:
        return None
    start_blocklist_lookup(filters, server, session)
    listing = await session.swissbox_dnsbl  # type: ignore[attr-defined]
    return None if listing is None else listing.reply


async def screen(
    filters: MailFilter,
    server: SwissSMTP,
    session: Session,
    envelope: Envelope,
    data: bytes,
    folder: str,
    sender: str,
    qid: str,
    user: str | None,
) -> Screened:
    """The sending limit (authenticated `user`), then the scanners' verdict on `data`."""
    if user is not None:
        refused = await filters.admit(user, len(envelope.rcpt_tos), server.client_ip)
        if refused is not None:
            return Screened(data, folder, refused)
    request = Request(
        data,
        server.client_ip,
        session.host_name or "",
        sender,
        tuple(envelope.rcpt_tos),
        qid,
        user,
    )
    combined = await filters.scan(request)
    if combined.action >= Action.DEFER:
        return Screened(data, folder, combined.reply)
    if combined.action is Action.JUNK:
        folder = JUNK
    return Screened(add_fields(data, combined.headers), folder)
