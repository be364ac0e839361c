"""A `Resolver` over a dict, for the pure checks' unit tests: {(name, type): [values]};
the value TIMEOUT makes that lookup a temperror. Counts the lookups it answers."""

from __future__ import annotations

from swissbox.mailauth.resolver import DnsTempError

TIMEOUT = ["<timeout>"]


class FakeResolver:
    def __init__(self, records: dict[tuple[str, str], list[str]]) -> None:
        self.records = {(n.lower().rstrip("."), t): v for (n, t), v in records.items()}
        self.asked: list[tuple[str, str]] = []

    async def lookup(self, name: str, rdtype: str) -> list[str]:
        key = (name.lower().rstrip("."), rdtype)
        self.asked.append(key)
        found = self.records.get(key, [])
        if found is TIMEOUT:
            raise DnsTempError(f"{name} {rdtype}: Timeout")
        return list(found)
