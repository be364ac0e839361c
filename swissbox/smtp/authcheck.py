"""MX ingress mail authentication: what the end of DATA does with the SPF/DKIM/DMARC verdict
(`swissbox.mailauth`): the Authentication-Results field to add (forged ones claiming our
authserv-id removed), and the reply or folder the DMARC result asks for under the settings
[smtp] dmarc_reject_action and auth_temperror_action."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from swissbox.directory import InvalidName, normalize_domain
from swissbox.mailauth.authresults import strip_claiming
from swissbox.mailauth.checkworker import CheckUnavailable, CheckWorkers
from swissbox.mailauth.resolver import DnsResolver, Resolver
from swissbox.mailauth.verdict import authenticate
from swissbox.mailstore import INBOX, JUNK
from swissbox.smtp import replies

log = logging.getLogger("swissbox.smtp")


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
    domain_actions: dict[str, str] = field(default_factory=dict)  # recipient domain -> action
    verify_processes: int = 0  # worker processes running the checks; 0: on the loop
    # the DNS the workers ask (their own resolvers): (servers or None for resolv.conf, timeout)
    worker_dns: tuple[list[tuple[str, int]] | None, float] | None = None
    _workers: CheckWorkers | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_settings(
        cls,
        hostname: str,
        nameservers: list[tuple[str, int]] | None,
        timeout: float,
        reject_action: str,
        temperror_action: str,
        domain_actions: Iterable[str] = (),
        verify_processes: int = 0,
    ) -> InboundAuth:
        """`domain_actions`: "domain=action" entries ([smtp] dmarc_reject_action_domains)."""
        resolver = DnsResolver(nameservers or None, timeout)
        per_domain = {}
        for entry in domain_actions:  # validated by the settings loader
            domain, _, action = entry.partition("=")
            per_domain[_domain(domain.strip())] = action.strip()
        return cls(
            resolver,
            hostname,
            reject_action,
            temperror_action,
            per_domain,
            verify_processes,
            (nameservers or None, timeout),
        )

    def workers(self) -> CheckWorkers | None:
        """The check workers (their processes start at the first message), when there are
        to be any: `verify_processes` > 0 and the DNS known to them (`worker_dns`)."""
        if self._workers is None and self.verify_processes and self.worker_dns is not None:
            nameservers, timeout = self.worker_dns
            self._workers = CheckWorkers(
                self.verify_processes, nameservers, timeout, self.authserv_id, self.resolver
            )
        return self._workers

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
            self._workers = None

    def reject_action_for(self, recipients: Iterable[str]) -> str:
        """The action for a DMARC `reject` failure of one message to these recipients: their
        domains' own actions combined (reject only when all say so; Junk when any says reject
        or quarantine; else mark), the default action for domains without one."""
        actions = {
            self.domain_actions.get(_domain(r.rpartition("@")[2]), self.reject_action)
            for r in recipients
        } or {self.reject_action}
        if actions == {"reject"}:
            return "reject"
        return "quarantine" if actions & {"reject", "quarantine"} else "mark"

    async def check(
        self, data: bytes, client_ip: str, helo: str, mail_from: str, recipients: Iterable[str] = ()
    ) -> Decision:
        workers = self.workers()
        if workers is not None:
            try:
                verdict = await workers.authenticate(data, client_ip, helo, mail_from)
            except CheckUnavailable:
                return Decision(data, replies.CHECK_UNAVAILABLE)
        else:
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
            action = self.reject_action_for(recipients)
            if action == "reject":
                return Decision(marked, replies.DMARC_REJECT.format(domain=dmarc.from_domain))
            if action == "quarantine":
                return Decision(marked, folder=JUNK)
            return Decision(marked)
        if dmarc.disposition == "quarantine":
            return Decision(marked, folder=JUNK)
        return Decision(marked)


def _domain(name: str) -> str:
    try:
        return normalize_domain(name)
    except InvalidName:
        return name.lower()
