"""Keeps the ZoneSet in step with the directory database.

`check()` is cheap when nothing was committed (one `Directory.generation()` call); after a
commit by any process (or after `recheck()`: another front end's event) it reads the domains' serials and returns a Plan naming the zones whose
serial moved (every record change bumps the serial in the same transaction), new ones and
removed ones. `build(plan)` reads and builds those zones (slow for big zones; safe to run in a
worker thread), `apply(plan, built)` swaps them in and returns the origins that changed.
`refresh()` does the three at once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from swissbox.directory import Directory
from swissbox.directory.model import Domain
from swissbox.dns.zone import ZoneSet, ZoneView

log = logging.getLogger("swissbox.dns")

# Zones with more records than this are rebuilt off the event loop.
BIG_ZONE = 20_000


@dataclass
class Plan:
    generation: object
    domains: dict[str, Domain]
    stale: list[Domain]
    removed: list[str]


class Catalog:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.zones = ZoneSet()
        self._generation: object = None
        self._recheck = False

    def recheck(self) -> None:
        """The next check reads the serials even when `generation()` has not moved: another
        front end said it committed a change (its generation may have been read already,
        while that transaction was still open)."""
        self._recheck = True

    def check(self, force: bool = False) -> Plan | None:
        generation = self.directory.generation()
        if generation == self._generation and not force and not self._recheck:
            return None
        self._recheck = False
        domains = {d.name: d for d in self.directory.domains()}
        current = self.zones.zones
        stale = [
            d
            for name, d in domains.items()
            if force or name not in current or current[name].serial != d.serial
        ]
        removed = [name for name in current if name not in domains]
        return Plan(generation, domains, stale, removed)

    def is_big(self, plan: Plan) -> bool:
        current = self.zones.zones
        return any(d.name in current and current[d.name].records > BIG_ZONE for d in plan.stale)

    def build(self, plan: Plan) -> dict[str, ZoneView]:
        built = {}
        for domain in plan.stale:
            started = time.perf_counter()
            view = ZoneView.build(domain, self.directory.records(domain.name))
            built[domain.name] = view
            log.debug(
                "zone %s serial %s: %d records loaded in %.0f ms",
                domain.name,
                domain.serial,
                view.records,
                (time.perf_counter() - started) * 1e3,
            )
        return built

    def apply(self, plan: Plan, built: dict[str, ZoneView]) -> list[str]:
        self._generation = plan.generation
        current = self.zones.zones
        fresh = {
            name: built[name] if name in built else current[name]
            for name in plan.domains
            if name in built or name in current
        }
        changed = list(built) + plan.removed
        if changed:
            self.zones.zones = fresh
        return changed

    def refresh(self, force: bool = False) -> list[str]:
        """Reloads changed zones now; returns the origins added, changed or removed."""
        plan = self.check(force)
        if plan is None:
            return []
        return self.apply(plan, self.build(plan))

    def serials(self) -> dict[str, int]:
        return {name: view.serial for name, view in self.zones.zones.items()}
