"""A third-party scanner as [filter] scanners names it ("tests.unit.filter.example_plugin"):
a module defining `Scanner`, built with `from_settings(settings, policy)`."""

from __future__ import annotations

from typing import Any

from swissbox.filter import base


class Scanner(base.Scanner):
    name = "example"

    @classmethod
    def from_settings(cls, settings: Any, policy: base.FailurePolicy) -> Scanner:
        return cls(policy)

    async def scan(self, request: base.Request) -> base.Verdict:
        if b"forbidden" in request.data:
            return base.Verdict(base.Action.REJECT, "550 5.7.1 Forbidden word", summary="hit")
        return base.Verdict(headers=("X-Example: clean",), summary="clean")
