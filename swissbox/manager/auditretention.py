"""How long the audit log keeps an entry (`[manager] audit_days`, 400 by default): one rule
for the server's daily pruning and `swissbox audit prune`."""

from __future__ import annotations

import time

from swissbox.directory import Directory

DAY = 86400
PRUNE_EVERY = DAY  # seconds between the server's prunings (the first shortly after start)


def cutoff(days: int, now: float | None = None) -> int:
    """The Unix time before which entries go."""
    return int((time.time() if now is None else now) - days * DAY)


def prune(directory: Directory, days: int, now: float | None = None) -> int:
    """Deletes audit entries older than `days`; how many went."""
    return directory.prune_audit(cutoff(days, now))
