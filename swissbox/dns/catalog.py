"""Keeps the ZoneSet in step with the directory database.

`refresh()` is cheap when nothing was committed (one `Directory.generation()` call); after a
commit by any process it reads the domains' serials and rebuilds only the zones whose serial
moved (every record change bumps the serial in the same transaction), adds new zones, drops
removed ones, and returns the names of the zones that changed.
"""

from __future__ import annotations

import logging
import time

from swissbox.directory import Directory
from swissbox.dns.zone import ZoneSet, ZoneView

log = logging.getLogger("swissbox.dns")


class Catalog:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.zones = ZoneSet()
        self._generation: object = None

    def refresh(self, force: bool = False) -> list[str]:
        """Reloads changed zones; returns the origins that were added, changed or removed."""
        generation = self.directory.generation()
        if generation == self._generation and not force:
            return []
        self._generation = generation
        domains = {d.name: d for d in self.directory.domains()}
        current = self.zones.zones
        changed: list[str] = []
        fresh: dict[str, ZoneView] = {}
        for name, domain in domains.items():
            view = current.get(name)
            if view is None or view.serial != domain.serial or force:
                started = time.perf_counter()
                view = ZoneView.build(domain, self.directory.records(name))
                changed.append(name)
                log.debug(
                    "zone %s serial %s: %d records loaded in %.0f ms",
                    name,
                    domain.serial,
                    view.records,
                    (time.perf_counter() - started) * 1e3,
                )
            fresh[name] = view
        changed += [name for name in current if name not in fresh]
        if changed:
            self.zones.zones = fresh
        return changed

    def serials(self) -> dict[str, int]:
        return {name: view.serial for name, view in self.zones.zones.items()}
