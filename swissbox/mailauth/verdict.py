"""The MX's mail authentication in one call: SPF, every DKIM signature, the ARC chain and
DMARC for a received message, and the Authentication-Results field that says so."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from swissbox.mailauth.arcverify import ArcResult, verify_chain
from swissbox.mailauth.authresults import header
from swissbox.mailauth.dkim import from_domain
from swissbox.mailauth.dkimverify import DkimResult, verify_all
from swissbox.mailauth.dmarc import DmarcResult, evaluate
from swissbox.mailauth.resolver import Resolver
from swissbox.mailauth.spf import SpfResult, check_host


@dataclass(frozen=True)
class Verdict:
    spf: SpfResult
    dkim: list[DkimResult]
    dmarc: DmarcResult
    arc: ArcResult
    header: bytes  # Authentication-Results: ... CRLF


async def authenticate(
    message: bytes,
    resolver: Resolver,
    client_ip: str,
    helo: str,
    mail_from: str,
    authserv_id: str,
    sample: int | None = None,
) -> Verdict:
    """Checks `message` (as received: before our own trace fields) from `client_ip`."""
    spf, dkim, arc = await asyncio.gather(
        check_host(resolver, client_ip, mail_from, helo, authserv_id),
        verify_all(message, resolver),
        verify_chain(message, resolver),
    )
    dmarc = await evaluate(resolver, from_domain(message), spf, dkim, sample)
    return Verdict(spf, dkim, dmarc, arc, header(authserv_id, spf, dkim, dmarc, helo, arc))
