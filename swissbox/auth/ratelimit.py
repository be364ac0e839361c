"""Failure counting per (realm, identifier) and per client address: growing delay, then lockout.

Thread-safe; time is injectable so tests can make lockouts expire without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Entry:
    failures: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class RateLimiter:
    MAX_KEYS = 100_000  # memory bound: oldest entries go first

    def __init__(
        self,
        max_per_identifier: int = 5,
        max_per_address: int = 20,
        lockout_seconds: float = 300.0,
        delay_base: float = 0.25,
        delay_max: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_per_identifier = max_per_identifier
        self.max_per_address = max_per_address
        self.lockout_seconds = lockout_seconds
        self.delay_base = delay_base
        self.delay_max = delay_max
        self.clock = clock
        self._entries: dict[tuple[str, ...], _Entry] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(realm: str, identifier: str, address: str | None) -> list[tuple[str, ...]]:
        keys: list[tuple[str, ...]] = [("id", realm, identifier.strip().lower())]
        if address:
            keys.append(("addr", address))
        return keys

    def locked(self, realm: str, identifier: str, address: str | None) -> bool:
        """True while either the identifier or the client address is locked out."""
        now = self.clock()
        with self._lock:
            for key in self._keys(realm, identifier, address):
                entry = self._entries.get(key)
                if entry is not None and entry.locked_until > now:
                    return True
        return False

    def failure(self, realm: str, identifier: str, address: str | None) -> float:
        """Counts a failure; returns the delay (seconds) to wait before answering."""
        now = self.clock()
        delay = 0.0
        with self._lock:
            if len(self._entries) >= self.MAX_KEYS:
                self._evict(now)
            for key in self._keys(realm, identifier, address):
                entry = self._entries.setdefault(key, _Entry())
                if entry.last and now - entry.last > self.lockout_seconds:
                    entry.failures = 0  # old failures are forgiven
                entry.failures += 1
                entry.last = now
                limit = self.max_per_identifier if key[0] == "id" else self.max_per_address
                if entry.failures >= limit:
                    entry.locked_until = now + self.lockout_seconds
                    entry.failures = 0
                step = self.delay_base * 2 ** min(entry.failures - 1, 16) if entry.failures else 0
                delay = max(delay, min(step, self.delay_max))
        return delay

    def success(self, realm: str, identifier: str, address: str | None) -> None:
        """A good login clears the identifier's count (not the address's: one good account
        must not launder guessing at others)."""
        with self._lock:
            self._entries.pop(self._keys(realm, identifier, address)[0], None)

    def _evict(self, now: float) -> None:
        stale = [k for k, e in self._entries.items() if e.locked_until <= now]
        stale.sort(key=lambda k: self._entries[k].last)
        for key in stale[: max(1, len(stale) // 2)]:
            del self._entries[key]
