"""At most one log line per interval for events a client can repeat at will (malformed
packets, refused connections, an unexpected error on the packet path): a flood of packets
never becomes a flood of log lines. Lines held back are counted in the next one."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

INTERVAL = 60.0


class LogThrottle:
    def __init__(
        self,
        logger: logging.Logger,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger, self.interval, self.clock = logger, interval, clock
        self.next_at = float("-inf")
        self.held = 0

    def log(self, level: int, msg: str, *args: Any, exc_info: bool = False) -> bool:
        """Logs unless a line went out less than `interval` ago; True when it logged."""
        now = self.clock()
        if now < self.next_at:
            self.held += 1
            return False
        if self.held:
            msg += f" (and {self.held} more like it held back)"
        self.logger.log(level, msg, *args, exc_info=exc_info)
        self.next_at = now + self.interval
        self.held = 0
        return True

    def info(self, msg: str, *args: Any) -> bool:
        return self.log(logging.INFO, msg, *args)

    def exception(self, msg: str, *args: Any) -> bool:
        """An error with its traceback (call from an except block), throttled like the rest."""
        return self.log(logging.ERROR, msg, *args, exc_info=True)
