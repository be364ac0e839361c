"""Per-host abuse detection: too many updates in a short time, or repeated `nochg`."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class AbuseGuard:
    """Remembers recent requests per hostname; `blocked()` says when to answer `abuse`."""

    def __init__(
        self,
        max_updates: int = 10,
        window: float = 60.0,
        max_nochg: int = 20,
        nochg_window: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_updates, self.window = max_updates, window
        self.max_nochg, self.nochg_window = max_nochg, nochg_window
        self.clock = clock
        self._updates: dict[str, deque[float]] = {}
        self._nochg: dict[str, deque[float]] = {}

    @staticmethod
    def _trim(q: deque[float], horizon: float) -> None:
        while q and q[0] < horizon:
            q.popleft()

    def blocked(self, host: str) -> bool:
        now = self.clock()
        updates = self._updates.get(host)
        if updates is not None:
            self._trim(updates, now - self.window)
            if len(updates) >= self.max_updates:
                return True
        nochg = self._nochg.get(host)
        if nochg is not None:
            self._trim(nochg, now - self.nochg_window)
            if len(nochg) >= self.max_nochg:
                return True
        return False

    def record(self, host: str, changed: bool) -> None:
        now = self.clock()
        if len(self._updates) > 100_000:  # memory bound
            self._updates.clear()
            self._nochg.clear()
        target = self._updates if changed else self._nochg
        target.setdefault(host, deque()).append(now)
        if changed:
            self._nochg.pop(host, None)
