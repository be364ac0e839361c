"""Where to deliver for a domain (RFC 5321 5.1): MX hosts by preference, else the domain's
own address records; a null MX (RFC 7505) or a domain that does not exist is permanent."""

from __future__ import annotations

import random
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver


class RouteError(Exception):
    """No route now; `permanent` says whether to give up (5.x.x) or retry later (4.x.x)."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Route:
    host: str
    addresses: list[str]


def make_resolver(
    nameservers: list[tuple[str, int]] | None, timeout: float = 5.0
) -> dns.asyncresolver.Resolver:
    """The system's resolver (resolv.conf), or the given servers (tests, split setups)."""
    if nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [ip for ip, _ in nameservers]
        resolver.port = nameservers[0][1]
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.lifetime = timeout
    return resolver


async def _addresses(resolver: dns.asyncresolver.Resolver, host: str) -> list[str]:
    found: list[str] = []
    for rtype in ("AAAA", "A"):
        try:
            answer = await resolver.resolve(host, rtype)
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            continue
        found += [r.to_text() for r in answer]
    return found


async def routes(resolver: dns.asyncresolver.Resolver, domain: str) -> list[Route]:
    """Delivery targets for `domain` in the order to try them."""
    try:
        try:
            answer = await resolver.resolve(domain, "MX")
            records = sorted(answer, key=lambda r: (r.preference, random.random()))
            if len(records) == 1 and records[0].exchange.to_text() == ".":
                raise RouteError(f"{domain} accepts no mail (null MX)", permanent=True)
            hosts = [r.exchange.to_text().rstrip(".") for r in records]
        except dns.resolver.NoAnswer:
            hosts = [domain]  # implicit MX
        out = []
        for host in hosts:
            addresses = await _addresses(resolver, host)
            if addresses:
                out.append(Route(host, addresses))
        if not out:
            raise RouteError(f"no address for any mail server of {domain}", permanent=False)
        return out
    except dns.resolver.NXDOMAIN:
        raise RouteError(f"domain {domain} does not exist", permanent=True) from None
    except (dns.resolver.NoNameservers, dns.exception.Timeout, dns.resolver.LifetimeTimeout) as exc:
        raise RouteError(
            f"DNS lookup for {domain} failed: {exc.__class__.__name__}", permanent=False
        ) from None
