"""What the SMTP path asks of the filter, in one object built from [filter]: the blocklist
verdict on a client, the sending limit of a mailbox, and the content scanners' combined
verdict on a message (run together, each bounded by its timeout; scores and symbols logged).

Scanners are plugins named in [filter] scanners, as Radicale names its plugins: a built-in
name ("rspamd", "clamd") or the dotted name of a module that defines `Scanner`, a subclass of
`swissbox.filter.base.Scanner` with `from_settings(settings, policy)`.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from typing import Any

from swissbox.filter.base import (
    UNCHECKED_FIELD,
    Action,
    Combined,
    FailurePolicy,
    Request,
    Scanner,
    Verdict,
    combine,
)
from swissbox.filter.dnsbl import Blocklists, Listing, Zone
from swissbox.filter.sendlimits import CountStore, SendLimits
from swissbox.mailauth.resolver import Resolver

log = logging.getLogger("swissbox.filter")

BUILTIN = {
    "rspamd": "swissbox.filter.rspamd:RspamdScanner",
    "clamd": "swissbox.filter.clamd:ClamdScanner",
}
TOO_BIG_TO_SCAN = "too big to scan"


def scanner_class(name: str) -> type[Scanner]:
    """The Scanner class a [filter] scanners entry names; ImportError/TypeError when none."""
    module_name, _, attr = BUILTIN.get(name, f"{name}:Scanner").partition(":")
    found = getattr(importlib.import_module(module_name), attr, None)
    if not (isinstance(found, type) and issubclass(found, Scanner)) or inspect.isabstract(found):
        raise TypeError(f"{name}: {module_name}.{attr} is not a swissbox.filter Scanner")
    return found


class MailFilter:
    def __init__(
        self,
        scanners: list[Scanner],
        blocklists: Blocklists | None = None,
        limits: SendLimits | None = None,
        max_scan_size: int = 0,
    ) -> None:
        self.scanners = scanners
        self.blocklists = blocklists
        self.limits = limits
        self.max_scan_size = max_scan_size

    @classmethod
    def from_settings(
        cls, settings: Any, resolver: Resolver | None, counts: CountStore
    ) -> MailFilter:
        """From [filter]; `resolver` answers the blocklist lookups."""
        policy = FailurePolicy(settings.timeout, settings.on_failure)
        scanners = [scanner_class(n).from_settings(settings, policy) for n in settings.scanners]
        blocklists = None
        if settings.dnsbl_zones and resolver is not None:
            zones = [Zone.parse(z) for z in settings.dnsbl_zones]
            blocklists = Blocklists(zones, resolver, settings.dnsbl_cache_seconds)
        limits = SendLimits(
            counts, settings.max_messages_per_hour, settings.max_recipients_per_hour
        )
        return cls(scanners, blocklists, limits if limits.active else None, settings.max_scan_size)

    def scanner(self, name: str) -> Scanner | None:
        return next((s for s in self.scanners if s.name == name), None)

    async def listed(self, client_ip: str) -> Listing | None:
        if self.blocklists is None or not client_ip:
            return None
        return await self.blocklists.check(client_ip)

    async def admit(self, mailbox: str, recipients: int, client_ip: str) -> str | None:
        if self.limits is None:
            return None
        return await self.limits.admit(mailbox, recipients, client_ip)

    async def scan(self, request: Request) -> Combined:
        """Every scanner's verdict together (the worst action wins); one log line."""
        if not self.scanners:
            return Combined()
        if self.max_scan_size and len(request.data) > self.max_scan_size:
            # delivered unchecked whatever on_failure says: deferring would never end
            field = f"{UNCHECKED_FIELD}: {TOO_BIG_TO_SCAN}"
            named = [("size", Verdict(headers=(field,), summary=TOO_BIG_TO_SCAN, unchecked=True))]
        else:
            verdicts = await asyncio.gather(*(s.check(request) for s in self.scanners))
            named = [(s.name, v) for s, v in zip(self.scanners, verdicts, strict=True)]
        combined = combine(named)
        log.info(
            "filter %s: from <%s> at %s%s: %s -> %s",
            request.qid,
            request.sender,
            request.client_ip,
            f" (user {request.user})" if request.user else "",
            " ".join(f"{n}[{s}]" for n, s in combined.summaries.items()),
            combined.action.name.lower(),
        )
        return combined


__all__ = ["Action", "Combined", "MailFilter", "Request", "Verdict"]
