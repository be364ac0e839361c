"""DKIM for submitted mail: `DkimSigner` signs a message by the domain of its From: with that
domain's signing keys; `DkimKeeper` (a task of the SMTP service) confirms that new keys'
records are visible in DNS, and retires and withdraws replaced keys (`directory.dkim`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

import dns.asyncresolver
import dns.exception
import dns.resolver

from swissbox.directory import Directory, InvalidName, normalize_domain
from swissbox.directory import dkim as dkimkeys
from swissbox.mailauth import arcseal
from swissbox.mailauth.dkim import SigningError, SigningKey, from_domain, load_key, sign

log = logging.getLogger("swissbox.smtp.dkim")

CACHE_SECONDS = 30.0  # a domain's keys are re-read at least this often (sign_from passes)


class DkimSigner:
    """Thread-safe enough for the loop: only called from it."""

    def __init__(
        self, directory: Directory, key_dir: Path, clock: Callable[[], float] = time.time
    ) -> None:
        self.directory, self.key_dir, self.clock = directory, key_dir, clock
        self._keys: dict[str, tuple[float, list[SigningKey]]] = {}
        self._loaded: dict[tuple[str, str], SigningKey | None] = {}
        self._generation: object = None

    def sign(self, message: bytes) -> bytes:
        """`message` with DKIM-Signature headers on top, or unchanged when its From: domain
        has no key that may sign now (or its header cannot be read: then it goes unsigned,
        as it was before, and the log says why)."""
        domain = from_domain(message)
        if domain is None:
            return message
        keys = self.keys_for(domain)
        if not keys:
            return message
        try:
            return sign(message, keys) + message
        except SigningError as exc:
            log.warning("dkim: not signed: %s", exc)
            return message

    def arc_seal(self, message: bytes, domain: str, authserv_id: str) -> bytes:
        """`message` with an ARC set by `domain` on top (mail we forward), or unchanged when
        the domain has no RSA key that may sign now, or sealing fails (logged): a forward is
        never held back for want of a seal."""
        key = next((k for k in self.keys_for(domain) if k.algorithm == "rsa"), None)
        if key is None:
            return message
        try:
            return arcseal.seal(message, key, authserv_id) + message
        except SigningError as exc:
            log.warning("arc: not sealed: %s", exc)
            return message

    def keys_for(self, domain: str) -> list[SigningKey]:
        try:
            domain = normalize_domain(domain)
        except InvalidName:
            return []
        now = self.clock()
        generation = self.directory.generation()
        if generation != self._generation:
            self._generation, self._keys = generation, {}
        cached = self._keys.get(domain)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        chosen = dkimkeys.signing_keys(dkimkeys.live_keys(self.directory, domain), now)
        ready = [k for k in (self._load(key) for key in chosen) if k is not None]
        self._keys[domain] = (now, ready)
        return ready

    def _load(self, key: dkimkeys.DkimKey) -> SigningKey | None:
        """The key file made ready to sign, once; None (logged once) when it is missing or
        unreadable, e.g. on a front end other than the one where the key was made."""
        ident = (key.domain, key.selector)
        if ident not in self._loaded:
            path = dkimkeys.key_path(self.key_dir, key.domain, key.selector)
            try:
                self._loaded[ident] = load_key(
                    key.domain, key.selector, key.algorithm, path.read_bytes()
                )
            except (OSError, SigningError) as exc:
                log.error("dkim: cannot sign with %s: %s (%s)", key.name, exc, path)
                self._loaded[ident] = None
        return self._loaded[ident]


def published_key(texts: list[str]) -> tuple[str, str] | None:
    """(k=, p=) of a DKIM key record's TXT strings (joined), or None if it is none."""
    tags = {}
    for item in "".join(texts).split(";"):
        name, eq, value = item.partition("=")
        if eq:
            tags[name.strip()] = "".join(value.split())
    if tags.get("v", "DKIM1") != "DKIM1" or "p" not in tags:
        return None
    return tags.get("k", "rsa"), tags["p"]


class DkimKeeper:
    """Every `interval` seconds (every `pending_interval` while a key waits to be seen in DNS,
    and at once after any directory change): confirm, retire, withdraw."""

    def __init__(
        self,
        directory: Directory,
        key_dir: Path,
        resolver: dns.asyncresolver.Resolver,
        keep_seconds: int,
        interval: float = 600.0,
        pending_interval: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory, self.key_dir, self.resolver = directory, key_dir, resolver
        self.keep_seconds, self.clock = keep_seconds, clock
        self.interval, self.pending_interval = interval, pending_interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        seen: object = None
        next_run = 0.0
        while True:
            generation = await loop.run_in_executor(None, self.directory.generation)
            if generation != seen or loop.time() >= next_run:
                seen = generation
                try:
                    pending = await self.run_once()
                except Exception:
                    log.exception("dkim: housekeeping failed")
                    pending = True
                next_run = loop.time() + (self.pending_interval if pending else self.interval)
            await asyncio.sleep(min(2.0, max(0.05, next_run - loop.time())))

    async def run_once(self) -> bool:
        """One pass; returns whether a key still waits to be seen in DNS."""
        loop = asyncio.get_running_loop()
        every = await loop.run_in_executor(None, dkimkeys.keys, self.directory)
        pending = False
        for key in every:
            if key.confirmed is None and key.withdrawn is None:
                if await self.visible(key):
                    await loop.run_in_executor(
                        None,
                        dkimkeys.confirm,
                        self.directory,
                        key.domain,
                        key.selector,
                        int(self.clock()),
                    )
                    log.info(
                        "dkim: %s is published; it signs from %s",
                        key.name,
                        time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(key.sign_from)),
                    )
                else:
                    pending = True
        done = await loop.run_in_executor(
            None,
            dkimkeys.retire_and_withdraw,
            self.directory,
            self.key_dir,
            int(self.clock()),
            self.keep_seconds,
        )
        for key, what in done:
            log.info("dkim: %s %s", key.name, what)
        return pending

    async def visible(self, key: dkimkeys.DkimKey) -> bool:
        """Whether DNS (the resolver the outbound queue uses) answers with this key."""
        try:
            answer = await self.resolver.resolve(key.name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return False
        except dns.exception.DNSException as exc:
            log.info("dkim: %s not checked: %s", key.name, exc.__class__.__name__)
            return False
        for rdata in answer:
            texts = [s.decode("ascii", "replace") for s in rdata.strings]
            if published_key(texts) == (key.algorithm, key.public_key):
                return True
        return False
