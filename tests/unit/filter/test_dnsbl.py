"""Blocklist zones, query names, return-code meanings and the cache."""

from __future__ import annotations

import pytest

from swissbox.filter.dnsbl import Blocklists, Zone, query_name
from swissbox.mailauth.resolver import DnsTempError


class FakeResolver:
    def __init__(self, records: dict[str, list[str]], failing: set[str] | None = None) -> None:
        self.records, self.failing, self.asked = records, failing or set(), []

    async def lookup(self, name: str, rdtype: str) -> list[str]:
        self.asked.append(name)
        if name in self.failing:
            raise DnsTempError(name)
        return self.records.get(name, [])


def test_query_names() -> None:
    assert query_name("127.0.0.2", "bl.test") == "2.0.0.127.bl.test"
    assert query_name("::ffff:192.0.2.1", "bl.test") == "1.2.0.192.bl.test"
    assert query_name("2001:db8::1", "bl.test").startswith("1.0.0.0.")  # type: ignore[union-attr]
    assert query_name("2001:db8::1", "bl.test").endswith(".8.b.d.0.1.0.0.2.bl.test")  # type: ignore[union-attr]
    assert query_name("not an ip", "bl.test") is None


def test_zone_syntax() -> None:
    assert Zone.parse("Zen.Example.ORG.") == Zone("zen.example.org")
    assert Zone.parse("bl.test=127.0.0.2, 127.0.0.4").codes == {"127.0.0.2", "127.0.0.4"}
    zone = Zone.parse("bl.test=127.0.0.2:spam source, 127.0.0.4:exploited host")
    assert zone.meaning("127.0.0.4") == "exploited host" and zone.meaning("127.0.0.9") == ""
    for bad in (
        "",
        "=127.0.0.2",
        "bl.test=",
        "bl.test=banana",
        "nodot",
        "a b.test",
        "b.t=1.2.3.4:\x01",
    ):
        with pytest.raises(ValueError):
            Zone.parse(bad)


async def test_codes_decide_and_results_are_cached() -> None:
    now = [0.0]
    resolver = FakeResolver(
        {
            "2.0.0.127.codes.test": ["127.255.255.254"],  # "you may not ask": not a listing
            "2.0.0.127.any.test": ["127.0.0.10"],
            "3.0.0.127.codes.test": ["127.0.0.2"],
        }
    )
    lists = Blocklists(
        [Zone.parse("codes.test=127.0.0.2:spam"), Zone.parse("any.test")],
        resolver,
        60,
        lambda: now[0],
    )
    found = await lists.check("127.0.0.2")
    assert found is not None and found.zone == "any.test" and found.code == "127.0.0.10"
    assert found.reply == "554 5.7.1 Service unavailable; client [127.0.0.2] blocked using any.test"
    listed = await lists.check("127.0.0.3")
    assert listed is not None and listed.reply.endswith("blocked using codes.test (spam)")
    asked = len(resolver.asked)
    assert await lists.check("127.0.0.2") is not None and len(resolver.asked) == asked
    now[0] = 61
    await lists.check("127.0.0.2")
    assert len(resolver.asked) == asked + 2


async def test_a_failed_lookup_lists_nobody_and_is_not_cached() -> None:
    resolver = FakeResolver({}, failing={"1.0.0.127.down.test"})
    lists = Blocklists([Zone.parse("down.test")], resolver)
    assert await lists.check("127.0.0.1") is None
    assert await lists.check("127.0.0.1") is None
    assert len(resolver.asked) == 2
