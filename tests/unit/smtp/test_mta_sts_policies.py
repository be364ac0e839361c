"""StsPolicies' RFC 8461 decisions with a fake resolver and fetcher: when to fetch, when the
cache answers, what a failure leaves in force, and which routes an enforce policy keeps."""

from __future__ import annotations

import asyncio
from pathlib import Path

import dns.exception
import dns.resolver
import pytest

from swissbox.mailauth.mtasts import Policy
from swissbox.smtp.outbound.mtasts import FetchError, StsPolicies, StsRefused
from swissbox.smtp.outbound.mx import Route


class FakeTxt:
    def __init__(self, text: str) -> None:
        self.strings = [text.encode()]


class FakeResolver:
    def __init__(self) -> None:
        self.record: str | Exception = "v=STSv1; id=1"

    async def resolve(self, name: str, rtype: str) -> list[FakeTxt]:
        if isinstance(self.record, Exception):
            raise self.record
        return [FakeTxt(self.record)]


class Policies(StsPolicies):
    def __init__(self, resolver: FakeResolver, cache: Path | None, clock: list[float]) -> None:
        super().__init__(resolver, cache, clock=lambda: clock[0])  # type: ignore[arg-type]
        self.body: bytes | Exception = (
            b"version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 1000\n"
        )
        self.fetches = 0

    async def _fetch(self, host: str) -> bytes:
        self.fetches += 1
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_fetch_once_per_id_and_max_age(tmp_path: Path) -> None:
    clock, resolver = [0.0], FakeResolver()
    p = Policies(resolver, tmp_path / "cache.json", clock)
    first = run(p.policy("a.test"))
    assert first == Policy("enforce", ("mx.a.test",), 1000) and p.fetches == 1
    run(p.policy("a.test"))
    assert p.fetches == 1  # same id, fresh: cached
    resolver.record = "v=STSv1; id=2"
    run(p.policy("a.test"))
    assert p.fetches == 2  # new id: fetched again
    clock[0] = 1001
    run(p.policy("a.test"))
    assert p.fetches == 3  # expired: fetched again
    # a restart keeps the cache
    again = Policies(resolver, tmp_path / "cache.json", clock)
    assert run(again.policy("a.test")) == first and again.fetches == 0


@pytest.mark.parametrize(
    "failure",
    [
        dns.resolver.NXDOMAIN(),  # record gone: the cached policy holds until max_age
        dns.exception.Timeout(),  # DNS down
    ],
)
def test_a_cached_policy_survives_dns_failures(failure: Exception) -> None:
    clock, resolver = [0.0], FakeResolver()
    p = Policies(resolver, None, clock)
    policy = run(p.policy("a.test"))
    resolver.record = failure
    assert run(p.policy("a.test")) == policy
    clock[0] = 2000
    assert run(p.policy("a.test")) is None  # ... but not past max_age


def test_a_failed_fetch_keeps_the_cached_policy_and_no_cache_means_none() -> None:
    clock, resolver = [0.0], FakeResolver()
    p = Policies(resolver, None, clock)
    policy = run(p.policy("a.test"))
    resolver.record, p.body = "v=STSv1; id=2", FetchError("HTTP 500")
    assert run(p.policy("a.test")) == policy
    fresh = Policies(resolver, None, clock)
    fresh.body = b"version: STSv1\nmode: sometimes\nmx: x\nmax_age: 5\n"
    assert run(fresh.policy("a.test")) is None
    resolver.record = "v=STSv1; id=1; v=STSv1; id=2"  # not one valid record: no policy
    assert run(Policies(resolver, None, clock).policy("b.test")) is None


def test_restrict() -> None:
    clock, resolver = [0.0], FakeResolver()
    p = Policies(resolver, None, clock)
    routes = [Route("mx.a.test", ["127.0.0.1"]), Route("backup.b.test", ["127.0.0.2"])]
    kept, tls = run(p.restrict("a.test", routes))
    assert [r.host for r in kept] == ["mx.a.test"] and tls is not None and tls.check_hostname
    with pytest.raises(StsRefused):
        run(p.restrict("a.test", [Route("backup.b.test", ["127.0.0.2"])]))
    p.body = b"version: STSv1\nmode: testing\nmx: mx.a.test\nmax_age: 1000\n"
    assert run(p.restrict("c.test", routes)) == (routes, None)
    resolver.record = dns.resolver.NXDOMAIN()
    assert run(p.restrict("d.test", routes)) == (routes, None)
