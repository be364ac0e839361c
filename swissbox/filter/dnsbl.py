"""DNS blocklists: is a client address listed in any configured zone? Looked up with the MX's
resolver ([smtp] inbound_resolvers), answers cached; a listed client is refused at RCPT.

A zone is configured as "zone" (any A answer lists) or "zone=127.0.0.2,127.0.0.4:exploited"
(only those return codes list, each with an optional meaning named in the reply: many lists
answer different codes for different reasons, or 127.255.255.x to a resolver they refuse). A lookup that fails (timeout, SERVFAIL) lists nobody and is not cached.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from swissbox.mailauth.resolver import DnsTempError, Resolver

log = logging.getLogger("swissbox.filter")

LISTED = "554 5.7.1 Service unavailable; client [{ip}] blocked using {zone}{meaning}"
MAX_CACHED = 10_000


@dataclass(frozen=True)
class Zone:
    name: str
    codes: frozenset[str] = frozenset()  # empty: any answer lists
    meanings: tuple[tuple[str, str], ...] = ()  # (code, what the list means by it)

    @classmethod
    def parse(cls, entry: str) -> Zone:
        """'zone' or 'zone=code[:meaning],...' -> Zone; ValueError naming what is wrong."""
        name, _, codes = entry.partition("=")
        name = name.strip().strip(".").lower()
        if not name or " " in name or "." not in name:
            raise ValueError(f"{entry!r}: give a zone name such as zen.example.org")
        found, meanings = set(), []
        for item in filter(None, (c.strip() for c in codes.split(","))):
            code, _, meaning = item.partition(":")
            code, meaning = code.strip(), meaning.strip()
            ipaddress.IPv4Address(code)  # ValueError when it is not an address
            if not meaning.isprintable() or any(c in meaning for c in "\r\n"):
                raise ValueError(f"{entry!r}: a meaning is plain text")
            found.add(code)
            if meaning:
                meanings.append((code, meaning[:100]))
        if "=" in entry and not found:
            raise ValueError(f"{entry!r}: list return codes after '=' (127.0.0.2,...)")
        return cls(name, frozenset(found), tuple(meanings))

    def meaning(self, code: str) -> str:
        return dict(self.meanings).get(code, "")

    def lists(self, answers: list[str]) -> str | None:
        """The first answer that counts as a listing, or None."""
        for answer in answers:
            if not self.codes or answer in self.codes:
                return answer
        return None


def query_name(ip: str, zone: str) -> str | None:
    """1.0.0.127.zone for 127.0.0.1; nibbles for IPv6; None for what cannot be listed."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    reverse = address.reverse_pointer.rsplit(".", 2)[0]  # without in-addr.arpa / ip6.arpa
    return f"{reverse}.{zone}"


@dataclass(frozen=True)
class Listing:
    ip: str
    zone: str
    code: str
    meaning: str = ""

    @property
    def reply(self) -> str:
        meaning = f" ({self.meaning})" if self.meaning else ""
        return LISTED.format(ip=self.ip, zone=self.zone, meaning=meaning)


class Blocklists:
    def __init__(
        self,
        zones: list[Zone],
        resolver: Resolver,
        cache_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.zones = zones
        self.resolver = resolver
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._cache: dict[str, tuple[float, Listing | None]] = {}

    async def check(self, ip: str) -> Listing | None:
        """The first zone (in configured order) that lists `ip`, or None."""
        now = self.clock()
        cached = self._cache.get(ip)
        if cached is not None and cached[0] > now:
            return cached[1]
        results = await asyncio.gather(*(self._lookup(ip, z) for z in self.zones))
        if any(r is False for r in results):  # a lookup failed: decide, but do not remember
            return next((r for r in results if isinstance(r, Listing)), None)
        listing = next((r for r in results if isinstance(r, Listing)), None)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[ip] = (now + self.cache_seconds, listing)
        if listing is not None:
            log.info(
                "filter: client %s is listed in %s (%s%s)",
                ip,
                listing.zone,
                listing.code,
                f" {listing.meaning}" if listing.meaning else "",
            )
        return listing

    async def _lookup(self, ip: str, zone: Zone) -> Listing | None | bool:
        """A Listing, None (not listed) or False (the lookup failed)."""
        name = query_name(ip, zone.name)
        if name is None:
            return None
        try:
            answers = await self.resolver.lookup(name, "A")
        except DnsTempError as exc:
            log.warning("filter: blocklist %s not answered for %s: %s", zone.name, ip, exc)
            return False
        code = zone.lists(answers)
        return Listing(ip, zone.name, code, zone.meaning(code)) if code is not None else None
