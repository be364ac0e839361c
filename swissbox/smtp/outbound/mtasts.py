"""Recipient domains' MTA-STS policies (RFC 8461 5), as the queue applies them.

A policy is discovered through the domain's `_mta-sts` TXT record, fetched from
`https://mta-sts.DOMAIN/.well-known/mta-sts.txt` (certificate checked, no redirects, 64 KiB at
most) and cached for its max_age, in memory and in a file so that a restart keeps it (a cache
is what protects against a downgrade). It is fetched again only when the record's id changes.
In "enforce" mode mail goes only to MX hosts the policy lists, over STARTTLS with a certificate
valid for that host name; "testing" and "none" deliver as without a policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.client
import json
import logging
import os
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import dns.asyncresolver
import dns.exception
import dns.resolver

from swissbox.mailauth.mtasts import (
    MAX_POLICY_BYTES,
    Policy,
    PolicyError,
    parse_policy,
    parse_record,
)
from swissbox.smtp.outbound.mx import Route

log = logging.getLogger("swissbox.smtp.outbound")

POLICY_PATH = "/.well-known/mta-sts.txt"


class StsRefused(Exception):
    """The policy allows no delivery now (no MX it lists); a temporary failure (RFC 8461 5.1)."""


@functools.cache
def verifying_context(ca_file: str = "") -> ssl.SSLContext:
    """The system's CAs plus `ca_file`; host names checked. Built once per file."""
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            log.error("outbound: smtp.outbound_ca_file %s not used: %s", ca_file, exc)
    return context


class _PinnedHttps(http.client.HTTPSConnection):
    """HTTPS to `address` (found by our resolver) with SNI, Host and the certificate check
    all for the policy host's name."""

    def __init__(self, host: str, address: str, port: int, context: ssl.SSLContext, timeout: float):
        super().__init__(host, port, context=context, timeout=timeout)
        self._address = address
        self._ssl_context = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._ssl_context.wrap_socket(sock, server_hostname=self.host)


class FetchError(Exception):
    pass


def fetch_policy(
    host: str, address: str, port: int, context: ssl.SSLContext, timeout: float
) -> bytes:
    """Blocking: the policy file's bytes; FetchError for anything but a 200 text/plain."""
    conn = _PinnedHttps(host, address, port, context, timeout)
    try:
        conn.request("GET", POLICY_PATH, headers={"User-Agent": "swissbox", "Connection": "close"})
        response = conn.getresponse()
        if response.status != 200:  # redirects included: RFC 8461 3.3 forbids following them
            raise FetchError(f"HTTP {response.status}")
        kind = (response.getheader("content-type") or "").split(";")[0].strip().lower()
        if kind != "text/plain":
            raise FetchError(f"content type {kind!r}, not text/plain")
        body = response.read(MAX_POLICY_BYTES + 1)
        if len(body) > MAX_POLICY_BYTES:
            raise FetchError("policy larger than 64 KiB")
        return body
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"{exc.__class__.__name__}: {exc}") from None
    finally:
        conn.close()


class StsPolicies:
    def __init__(
        self,
        resolver: dns.asyncresolver.Resolver,
        cache_path: Path | None,
        ca_file: str = "",
        https_port: int = 443,
        timeout: float = 20.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.resolver, self.cache_path, self.ca_file = resolver, cache_path, ca_file
        self.https_port, self.timeout, self.clock = https_port, timeout, clock
        self.cache: dict[str, tuple[str, Policy, float]] = self._load()
        self._locks: dict[str, asyncio.Lock] = {}

    # -- the cache file ------------------------------------------------------------------

    def _load(self) -> dict[str, tuple[str, Policy, float]]:
        if self.cache_path is None:
            return {}
        try:
            raw = json.loads(self.cache_path.read_text())
            return {
                d: (
                    e["id"],
                    Policy(e["mode"], tuple(e["mx"]), int(e["max_age"])),
                    float(e["fetched"]),
                )
                for d, e in raw.items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def _save(self) -> None:
        if self.cache_path is None:
            return
        data = {
            d: {"id": pid, **asdict(p), "fetched": fetched}
            for d, (pid, p, fetched) in self.cache.items()
            if fetched + p.max_age > self.clock()
        }
        tmp = self.cache_path.with_suffix(".tmp")
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self.cache_path)

    # -- discovery -----------------------------------------------------------------------

    async def policy(self, domain: str) -> Policy | None:
        """The policy that applies to `domain` now, or None."""
        lock = self._locks.setdefault(domain, asyncio.Lock())
        async with lock:  # one fetch per domain at a time
            return await self._policy(domain)

    async def _policy(self, domain: str) -> Policy | None:
        now = self.clock()
        cached = self.cache.get(domain)
        fresh = cached if cached is not None and now < cached[2] + cached[1].max_age else None
        try:
            answer = await self.resolver.resolve(f"_mta-sts.{domain}", "TXT")
            texts = [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
            policy_id = parse_record(texts)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, PolicyError):
            policy_id = None
        except dns.exception.DNSException:
            return fresh[1] if fresh else None  # no answer now: what we knew still holds
        if policy_id is None or (fresh is not None and fresh[0] == policy_id):
            return fresh[1] if fresh else None
        host = f"mta-sts.{domain}"
        try:
            body = await self._fetch(host)
            policy = parse_policy(body)
        except (FetchError, PolicyError) as exc:
            log.info("outbound: MTA-STS policy of %s not usable: %s", domain, exc)
            return fresh[1] if fresh else None
        self.cache[domain] = (policy_id, policy, now)
        await asyncio.get_running_loop().run_in_executor(None, self._save)
        log.info("outbound: MTA-STS policy of %s: %s, mx %s", domain, policy.mode, policy.mx)
        return policy

    async def _fetch(self, host: str) -> bytes:
        addresses: list[str] = []
        for rtype in ("AAAA", "A"):
            try:
                addresses += [r.to_text() for r in await self.resolver.resolve(host, rtype)]
            except dns.exception.DNSException:
                continue
        if not addresses:
            raise FetchError(f"no address for {host}")
        loop = asyncio.get_running_loop()
        context = verifying_context(self.ca_file)
        last: FetchError | None = None
        for address in addresses:
            try:
                return await loop.run_in_executor(
                    None, fetch_policy, host, address, self.https_port, context, self.timeout
                )
            except FetchError as exc:
                last = exc
        assert last is not None
        raise last

    # -- applying it ---------------------------------------------------------------------

    async def restrict(
        self, domain: str, targets: list[Route]
    ) -> tuple[list[Route], ssl.SSLContext | None]:
        """The routes to try and, under an enforce policy, the context that must verify each
        route's certificate for its host name (None: opportunistic TLS as before)."""
        policy = await self.policy(domain)
        if policy is None or policy.mode != "enforce":
            return targets, None
        allowed = [route for route in targets if policy.allows(route.host)]
        if not allowed:
            raise StsRefused(
                f"no MX of {domain} ({', '.join(r.host for r in targets)}) is listed by its"
                " MTA-STS policy"
            )
        return allowed, verifying_context(self.ca_file)
