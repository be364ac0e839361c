"""Failure counting that slows guessing without handing attackers a lockout weapon.

- Per (realm, identifier, client address): `max_per_identifier` failures lock that pair; the
  rightful owner elsewhere is not affected by someone guessing from one place.
- Per client address: `max_per_address` failures over any identifiers lock the address (a
  password spray from one place).
- Per (realm, identifier) for every address: only on evidence of a distributed attack, failures
  from `distributed_addresses` different addresses within the lockout window; even then the
  owner's recent good addresses and `trusted_networks` are still let through.

The same wrong secret tried again (a client cycling SASL mechanisms, a phone retrying) counts
once. A change of the stored secret (an admin sets a new password) ends the identifier's
lockouts: callers pass a fingerprint of the stored hash as `tag`.

Counting is per process; with a shared `LockBoard` (the directory's database) each new
failure of a pair or an address is also recorded there and the lockout decided on what every
front end counted (on PostgreSQL; N front ends no longer grant N times the guesses), and a
lockout, once decided, is published there, so that it holds on every front end.

Thread-safe; time is injectable so tests can make lockouts expire without sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from swissbox import metrics

log = logging.getLogger("swissbox.auth")

MAX_SEEN = 16  # distinct wrong secrets remembered per counter
MAX_PAIRS = 1024  # addresses counted per identifier before stale ones are dropped
MAX_GOOD = 16  # recent good addresses remembered per identifier
GOOD_FOR = 30 * 86400.0  # seconds a good address stays trusted


class LockBoard(Protocol):
    """Lockouts shared by every front end: keys with a wall-clock end and a secret tag."""

    def publish_lock(self, key: str, tag: str, until: float) -> None: ...

    def active_locks(self) -> dict[str, tuple[str, float]]:
        """{key: (tag, until)} of the lockouts not yet over; cheap when nothing changed."""
        ...

    def count_failure(self, key: str, window: float) -> int | None:
        """Records a failure under `key`; the failures every front end recorded under it in
        the last `window` seconds, or None when counts are not shared."""
        ...


@dataclass
class _Counter:
    failures: int = 0
    last: float = 0.0
    locked_until: float = 0.0
    seen: list[bytes] = field(default_factory=list)

    def count(self, now: float, digest: bytes, window: float) -> bool:
        """Counts a failure unless this secret was already counted; True when counted."""
        if self.last and now - self.last > window:
            self.failures, self.seen = 0, []  # old failures are forgiven
        self.last = now
        if digest in self.seen:
            return False
        self.seen = [*self.seen[-(MAX_SEEN - 1) :], digest]
        self.failures += 1
        return True


@dataclass
class _Identity:
    tag: str = ""
    pairs: dict[str, _Counter] = field(default_factory=dict)
    failing: dict[str, float] = field(default_factory=dict)  # address -> last failure
    good: dict[str, float] = field(default_factory=dict)  # address -> last success
    locked_until: float = 0.0
    last: float = 0.0


class RateLimiter:
    MAX_KEYS = 100_000  # memory bound per table: stale entries go first

    def __init__(
        self,
        max_per_identifier: int = 5,
        max_per_address: int = 20,
        lockout_seconds: float = 300.0,
        delay_base: float = 0.25,
        delay_max: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
        distributed_addresses: int = 10,
        trusted_networks: Iterable[str] = (),
        board: LockBoard | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_per_identifier = max_per_identifier
        self.max_per_address = max_per_address
        self.lockout_seconds = lockout_seconds
        self.delay_base = delay_base
        self.delay_max = delay_max
        self.clock = clock
        self.distributed_addresses = distributed_addresses
        self.trusted_networks = [ipaddress.ip_network(n, strict=False) for n in trusted_networks]
        self.board = board
        self.wall_clock = wall_clock
        self._identities: dict[tuple[str, str], _Identity] = {}
        self._addresses: dict[str, _Counter] = {}
        self._key = os.urandom(32)
        self._lock = threading.Lock()

    # -- the three questions ---------------------------------------------------------------

    def locked(self, realm: str, identifier: str, address: str | None, tag: str = "") -> bool:
        """True while this attempt must be refused without checking the secret."""
        now, addr = self.clock(), address or ""
        with self._lock:
            counter = self._addresses.get(addr)
            if counter is not None and counter.locked_until > now:
                return True
            ident = self._identity(realm, identifier, tag, create=False)
            pair = ident.pairs.get(addr) if ident is not None else None
            if pair is not None and pair.locked_until > now:
                return True
            if (
                ident is not None
                and ident.locked_until > now
                and not self._trusted(ident, addr, now)
            ):
                return True
        return self._locked_elsewhere(realm, _name(identifier), addr, tag, ident, now)

    def _locked_elsewhere(
        self, realm: str, name: str, addr: str, tag: str, ident: _Identity | None, now: float
    ) -> bool:
        """A lockout another front end decided (and this one has not), from the board."""
        if self.board is None:
            return False
        try:
            shared = self.board.active_locks()
        except Exception:
            log.exception("auth: could not read the lockouts of the other front ends")
            return False
        if not shared:
            return False
        wall = self.wall_clock()

        def held(key: str) -> bool:
            entry = shared.get(key)
            # a lock recorded against another stored secret ended with the new password
            return entry is not None and entry[1] > wall and (not tag or entry[0] in ("", tag))

        if addr and held(_key("addr", addr)):
            return True
        if held(_key("pair", realm, name, addr)):
            return True
        if held(_key("id", realm, name)):
            with self._lock:
                return not (ident is not None and self._trusted(ident, addr, now)) and not (
                    self._trusted_network(addr)
                )
        return False

    def failure(
        self,
        realm: str,
        identifier: str,
        address: str | None,
        secret: str = "",
        tag: str = "",
    ) -> float:
        """Counts a failed attempt; returns the delay (seconds) to wait before answering."""
        now, addr = self.clock(), address or ""
        name = _name(identifier)
        digest = self._digest(realm, name, secret)
        window = self.lockout_seconds
        published: list[tuple[str, str]] = []  # (board key, tag) of lockouts decided now
        pair_key, addr_key = _key("pair", realm, name, addr), _key("addr", addr)
        with self._lock:
            self._bound(now)
            ident = self._identity(realm, identifier, tag, create=True)
            assert ident is not None
            ident.last = now
            if len(ident.pairs) >= MAX_PAIRS:
                ident.pairs = {
                    a: c
                    for a, c in ident.pairs.items()
                    if c.locked_until > now or now - c.last <= window
                }
            pair = ident.pairs.setdefault(addr, _Counter())
            pair_new = pair.count(now, digest, window)
            pair_seen = pair.failures
            ident.failing = {a: t for a, t in ident.failing.items() if now - t <= window}
            ident.failing[addr] = now
            if len(ident.failing) >= self.distributed_addresses and ident.locked_until <= now:
                ident.locked_until = now + window
                published.append((_key("id", realm, name), ident.tag))
                log.warning(
                    "auth %s: %r locked out for %.0f s: failures from %d addresses "
                    "(its recent good addresses still pass)",
                    realm,
                    name,
                    window,
                    len(ident.failing),
                )
            counter = self._addresses.setdefault(addr, _Counter()) if addr else None
            addr_new = counter is not None and counter.count(now, digest, window)
            addr_seen = counter.failures if counter is not None else 0
        # what every front end counted, where they share the counts (outside the lock: I/O)
        if pair_new:
            pair_seen = max(pair_seen, self._shared_count(pair_key, window))
        if addr_new:
            addr_seen = max(addr_seen, self._shared_count(addr_key, window))
        with self._lock:
            if pair_new and pair_seen >= self.max_per_identifier and pair.locked_until <= now:
                pair.locked_until, pair.failures = now + window, 0
                published.append((pair_key, ident.tag))
                log.warning(
                    "auth %s: %r locked out from %s for %.0f s after %d failures",
                    realm,
                    name,
                    addr or "-",
                    window,
                    self.max_per_identifier,
                )
            if (
                counter is not None
                and addr_new
                and addr_seen >= self.max_per_address
                and counter.locked_until <= now
            ):
                counter.locked_until, counter.failures = now + window, 0
                published.append((addr_key, ""))
                log.warning(
                    "auth: client %s locked out for %.0f s after failures on %d attempts",
                    addr,
                    window,
                    self.max_per_address,
                )
            failures = max(pair.failures, 1)
        metrics.lockouts(key for key, _ in published)
        if published and self.board is not None:
            until = self.wall_clock() + window
            for key, key_tag in published:
                try:
                    self.board.publish_lock(key, key_tag, until)
                except Exception:  # the local lockout holds; other front ends just miss it
                    log.exception("auth: could not share a lockout with the other front ends")
        return min(self.delay_base * 2 ** min(failures - 1, 16), self.delay_max)

    def success(self, realm: str, identifier: str, address: str | None, tag: str = "") -> None:
        """A good login clears this (identifier, address) count and trusts the address for the
        identifier; the address's own count stays (one good account must not launder
        guessing at others)."""
        now, addr = self.clock(), address or ""
        with self._lock:
            ident = self._identity(realm, identifier, tag, create=True)
            assert ident is not None
            ident.last = now
            ident.pairs.pop(addr, None)
            if addr:
                ident.good.pop(addr, None)
                ident.good[addr] = now
                while len(ident.good) > MAX_GOOD:
                    ident.good.pop(next(iter(ident.good)))

    # -- internals -------------------------------------------------------------------------

    def _shared_count(self, key: str, window: float) -> int:
        """The failures under `key` every front end recorded, this one included (0 when the
        board does not share counts, or failed: the local count decides then)."""
        if self.board is None:
            return 0
        try:
            return self.board.count_failure(key, window) or 0
        except Exception:
            log.exception("auth: could not count a failure with the other front ends")
            return 0

    def _identity(self, realm: str, identifier: str, tag: str, create: bool) -> _Identity | None:
        key = (realm, _name(identifier))
        ident = self._identities.get(key)
        if ident is not None and tag and ident.tag and ident.tag != tag:
            # The stored secret changed since the failures: a new password ends the lockout.
            log.info("auth %s: %r has a new secret; its lockouts end", realm, key[1])
            good = ident.good
            ident = self._identities[key] = _Identity(tag=tag, good=good)
        if ident is None and create:
            ident = self._identities[key] = _Identity(tag=tag)
        if ident is not None and tag:
            ident.tag = tag
        return ident

    def _trusted(self, ident: _Identity, addr: str, now: float) -> bool:
        seen = ident.good.get(addr)
        if seen is not None and now - seen <= GOOD_FOR:
            return True
        return self._trusted_network(addr)

    def _trusted_network(self, addr: str) -> bool:
        if not addr or not self.trusted_networks:
            return False
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted_networks)

    def _digest(self, realm: str, name: str, secret: str) -> bytes:
        data = "\0".join((realm, name, secret)).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, data, hashlib.sha256).digest()[:16]

    def _bound(self, now: float) -> None:
        _halve_stale(self._identities, now, self.MAX_KEYS)
        _halve_stale(self._addresses, now, self.MAX_KEYS)


def _halve_stale(table: dict[Any, Any], now: float, limit: int) -> None:
    """At `limit` entries, drops the older half of those not locked (memory bound)."""
    if len(table) < limit:
        return
    stale = sorted(
        (k for k, v in table.items() if v.locked_until <= now), key=lambda k: table[k].last
    )
    for key in stale[: max(1, len(stale) // 2)]:
        del table[key]


def _name(identifier: str) -> str:
    return identifier.strip().lower()


def _key(*parts: str) -> str:
    return "\x1f".join(parts)  # the unit separator: no identifier or address holds one
