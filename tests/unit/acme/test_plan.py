"""Which names the ACME client asks for, when it renews, how it backs off."""

from __future__ import annotations

import datetime as dt

from swissbox.acme.plan import (
    MAX_NAMES,
    MAX_RETRY_SECONDS,
    renewal_reason,
    retry_delay,
    wanted_names,
)

HOSTED = {"example.org", "example.net"}


def zone_of(name: str) -> str | None:
    labels = name.split(".")
    for i in range(len(labels)):
        if ".".join(labels[i:]) in HOSTED:
            return ".".join(labels[i:])
    return None


def test_host_name_first_then_each_mail_domain_names_then_extra() -> None:
    plan = wanted_names(
        "mx.example.org", ["example.net", "example.org"], ["www.example.org"], "http-01", zone_of
    )
    assert plan.names == [
        "mx.example.org",
        "autoconfig.example.net",
        "autodiscover.example.net",
        "mta-sts.example.net",
        "autoconfig.example.org",
        "autodiscover.example.org",
        "mta-sts.example.org",
        "www.example.org",
    ]
    assert plan.left_out == []


def test_names_normalised_and_deduplicated() -> None:
    plan = wanted_names(
        "MX.Example.Org.", [], ["mx.example.org", " Www.Example.Org. "], "http-01", zone_of
    )
    assert plan.names == ["mx.example.org", "www.example.org"]


def test_wildcard_needs_dns01() -> None:
    http = wanted_names("mx.example.org", [], ["*.example.org"], "http-01", zone_of)
    assert http.names == ["mx.example.org"]
    assert http.left_out == ["*.example.org: a wildcard needs the dns-01 challenge"]
    dns = wanted_names("mx.example.org", [], ["*.example.org"], "dns-01", zone_of)
    assert dns.names == ["mx.example.org", "*.example.org"]


def test_dns01_leaves_out_names_outside_our_zones() -> None:
    plan = wanted_names("mx.example.org", [], ["shop.elsewhere.com"], "dns-01", zone_of)
    assert plan.names == ["mx.example.org"]
    assert plan.left_out[0].startswith("shop.elsewhere.com: not in a zone hosted here")


def test_names_no_ca_issues_for_are_left_out() -> None:
    plan = wanted_names(
        "localhost", [], ["127.0.0.1", "intranet", "a.*.example.org"], "http-01", zone_of
    )
    assert plan.names == []
    assert [line.split(":")[0] for line in plan.left_out] == [
        "localhost",
        "127.0.0.1",
        "intranet",
        "a.*.example.org",
    ]


def test_at_most_max_names() -> None:
    domains = [f"d{i}.example.org" for i in range(40)]
    plan = wanted_names("mx.example.org", domains, [], "http-01", zone_of)
    assert len(plan.names) == MAX_NAMES
    assert len(plan.left_out) == 1 + 3 * 40 - MAX_NAMES


NOW = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
WANTED = ["mx.example.org", "autoconfig.example.org"]


def test_renewal_reasons() -> None:
    far = NOW + dt.timedelta(days=60)
    assert renewal_reason(None, None, WANTED, NOW, 30) == "no certificate yet"
    assert renewal_reason(WANTED, far, WANTED, NOW, 30) is None
    assert renewal_reason(WANTED[::-1], far, WANTED, NOW, 30) is None  # order does not matter
    assert renewal_reason(WANTED + ["old.example.org"], far, WANTED, NOW, 30) is None
    assert (
        renewal_reason(["mx.example.org"], far, WANTED, NOW, 30)
        == "names to add: autoconfig.example.org"
    )
    assert renewal_reason([], None, [], NOW, 30) is None  # nothing to ask for


def test_renews_renew_days_before_expiry() -> None:
    assert renewal_reason(WANTED, NOW + dt.timedelta(days=30, seconds=1), WANTED, NOW, 30) is None
    due = renewal_reason(WANTED, NOW + dt.timedelta(days=30), WANTED, NOW, 30)
    assert due == "expires 2027-01-03, within 30 days"
    assert renewal_reason(WANTED, NOW - dt.timedelta(days=1), WANTED, NOW, 30)  # expired


def test_backoff_doubles_up_to_a_day() -> None:
    assert retry_delay(0, 300) == 0
    assert [retry_delay(n, 300) for n in (1, 2, 3, 4)] == [300, 600, 1200, 2400]
    assert retry_delay(9, 300) == 300 * 2**8
    assert retry_delay(10, 300) == MAX_RETRY_SECONDS
    assert retry_delay(10_000, 300) == MAX_RETRY_SECONDS
