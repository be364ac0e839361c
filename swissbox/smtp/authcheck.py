"""MX ingress mail authentication: what the end of DATA does with the SPF/DKIM/DMARC verdict
(`swissbox.mailauth`): the Authentication-Results field to add (forged ones claiming our
authserv-id removed), and the reply or folder the DMARC result asks for under the settings
[smtp] dmarc_reject_action and auth_temperror_action."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from swissbox.mailauth.authresults import strip_claiming
from swissbox.mailauth.resolver import DnsResolver, Resolver
from swissbox.mailauth.verdict import authenticate
from swissbox.smtp import replies

log = logging.getLogger("swissbox.smtp")

INBOX, JUNK = "INBOX", "Junk"


@dataclass(frozen=True)
class Decision:
    data: bytes  # the message with our Authentication-Results on top
    reply: str | None = None  # refuse (5xx) or defer (4xx) instead of delivering
    folder: str = INBOX


@dataclass
class InboundAuth:
    resolver: Resolver
    authserv_id: str
    reject_action: str = "reject"  # reject | quarantine | mark
    temperror_action: str = "defer"  # defer | mark

    @classmethod
    def from_settings(
        cls,
        hostname: str,
        nameservers: list[tuple[str, int]] | None,
        timeout: float,
        reject_action: str,
        temperror_action: str,
    ) -> InboundAuth:
        resolver = DnsResolver(nameservers or None, timeout)
        return cls(resolver, hostname, reject_action, temperror_action)

    async def check(self, data: bytes, client_ip: str, helo: str, mail_from: str) -> Decision:
        verdict = await authenticate(
            data, self.resolver, client_ip, helo, mail_from, self.authserv_id
        )
        marked = verdict.header + strip_claiming(data, self.authserv_id)
        dmarc = verdict.dmarc
        log.info(
            "smtp: from <%s> at %s: spf=%s dkim=%s dmarc=%s (%s)",
            mail_from,
            client_ip,
            verdict.spf.result,
            ",".join(d.result for d in verdict.dkim) or "none",
            dmarc.result,
            dmarc.disposition,
        )
        if dmarc.result == "temperror" and self.temperror_action == "defer":
            return Decision(marked, replies.DMARC_TEMPERROR.format(domain=dmarc.from_domain))
        if dmarc.result != "fail":
            return Decision(marked)
        if dmarc.disposition == "reject":
            if self.reject_action == "reject":
                return Decision(marked, replies.DMARC_REJECT.format(domain=dmarc.from_domain))
            if self.reject_action == "quarantine":
                return Decision(marked, folder=JUNK)
            return Decision(marked)
        if dmarc.disposition == "quarantine":
            return Decision(marked, folder=JUNK)
        return Decision(marked)
