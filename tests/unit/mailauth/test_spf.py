"""SPF check_host() (RFC 7208) over records held in a dict: results, limits, macros."""

from __future__ import annotations

import pytest

from swissbox.mailauth import spf
from tests.unit.mailauth.fakedns import TIMEOUT, FakeResolver

IP = "192.0.2.10"


async def check(
    records: dict, ip: str = IP, sender: str = "user@sender.test", helo: str = "mx.sender.test"
) -> spf.SpfResult:
    return await spf.check_host(FakeResolver(records), ip, sender, helo, "mx.example.test")


def txt(domain: str, value: str) -> dict:
    return {(domain, "TXT"): [value]}


@pytest.mark.parametrize(
    "record, result",
    [
        ("v=spf1 ip4:192.0.2.0/24 -all", "pass"),
        ("v=spf1 ip4:198.51.100.1 -all", "fail"),
        ("v=spf1 ip4:198.51.100.1 ~all", "softfail"),
        ("v=spf1 ip4:198.51.100.1 ?all", "neutral"),
        ("v=spf1 ip4:198.51.100.1", "neutral"),
        ("v=spf1 -ip4:192.0.2.10 +all", "fail"),
        ("v=spf1 ip6:2001:db8::/32 -all", "fail"),
        ("v=spf1 foo:bar -all", "permerror"),
        ("v=spf1 ip4:300.1.1.1 -all", "permerror"),
        ("v=spf1 ip4:192.0.2.10/33 -all", "permerror"),
        ("v=spf1 redirect=a.test redirect=b.test", "permerror"),
        ("v=spf1 unknown-modifier=x ip4:192.0.2.10 -all", "pass"),
        ("v=spf1 exists:%{q}.test -all", "permerror"),
        ("v=spf10 -all", "none"),
    ],
)
async def test_results(record: str, result: str) -> None:
    assert (await check(txt("sender.test", record))).result == result


async def test_no_record_is_none_and_two_are_permerror() -> None:
    assert (await check({})).result == "none"
    two = {("sender.test", "TXT"): ["v=spf1 -all", "v=spf1 +all"]}
    assert (await check(two)).result == "permerror"


async def test_a_mx_include_redirect() -> None:
    records = {
        ("sender.test", "TXT"): ["v=spf1 a mx/24 include:other.test redirect=last.test"],
        ("sender.test", "A"): ["203.0.113.5"],
        ("sender.test", "MX"): ["mail.sender.test"],
        ("mail.sender.test", "A"): ["198.51.100.7"],
        ("other.test", "TXT"): ["v=spf1 ip4:203.0.113.99 -all"],
        ("last.test", "TXT"): ["v=spf1 ip4:192.0.2.77 -all"],
    }
    assert (await check(records, "203.0.113.5")).result == "pass"
    assert (await check(records, "198.51.100.200")).result == "pass"  # mx/24
    assert (await check(records, "203.0.113.99")).result == "pass"  # include
    assert (await check(records, "192.0.2.77")).result == "pass"  # redirect
    assert (await check(records, "192.0.2.78")).result == "fail"  # redirect's -all


async def test_include_of_a_domain_without_spf_is_permerror() -> None:
    assert (
        await check(txt("sender.test", "v=spf1 include:nothing.test -all"))
    ).result == "permerror"


async def test_include_temperror_propagates() -> None:
    records = {**txt("sender.test", "v=spf1 include:slow.test -all"), ("slow.test", "TXT"): TIMEOUT}
    got = await check(records)
    assert got.result == "temperror" and "Timeout" in got.detail


async def test_eleven_lookups_is_permerror_ten_is_fine() -> None:
    def chain(n: int) -> dict:
        records = {}
        for i in range(n):
            records[(f"d{i}.test", "TXT")] = [f"v=spf1 include:d{i + 1}.test -all"]
        records[(f"d{n}.test", "TXT")] = ["v=spf1 ip4:192.0.2.10 -all"]
        records[("sender.test", "TXT")] = ["v=spf1 include:d1.test -all"]
        return records

    assert (await check(chain(10))).result == "pass"  # 10 includes: at the limit
    got = await check(chain(11))
    assert got.result == "permerror" and "more than 10 DNS lookups" in got.detail


async def test_include_loop_ends_in_permerror() -> None:
    records = {
        ("sender.test", "TXT"): ["v=spf1 include:loop.test -all"],
        ("loop.test", "TXT"): ["v=spf1 include:sender.test -all"],
    }
    got = await check(records)
    assert got.result == "permerror" and "lookups" in got.detail


async def test_more_than_two_void_lookups_is_permerror() -> None:
    record = "v=spf1 a:v1.test a:v2.test a:v3.test -all"
    got = await check(txt("sender.test", record))
    assert got.result == "permerror" and "void" in got.detail
    assert (await check(txt("sender.test", "v=spf1 a:v1.test a:v2.test -all"))).result == "fail"


async def test_more_than_ten_mx_is_permerror() -> None:
    records = {
        **txt("sender.test", "v=spf1 mx -all"),
        ("sender.test", "MX"): [f"mx{i}.sender.test" for i in range(11)],
    }
    assert (await check(records)).result == "permerror"


async def test_macros_in_exists_and_exp() -> None:
    records = {
        ("sender.test", "TXT"): ["v=spf1 exists:%{ir}.%{l1r-}.allow.%{d} exp=why.%{d} -all"],
        ("10.2.0.192.user.allow.sender.test", "A"): ["127.0.0.2"],
        ("why.sender.test", "TXT"): ["%{i} may not send for %{d} (%{s}) %%%_ok"],
    }
    assert (await check(records)).result == "pass"
    got = await check(records, "192.0.2.11")
    assert got.result == "fail"
    assert got.explanation == "192.0.2.11 may not send for sender.test (user@sender.test) % ok"


async def test_macro_expansion_rules() -> None:
    ctx = spf._Context(
        FakeResolver({}),
        spf.ipaddress.ip_address("2001:db8::cb01"),
        "strong-bad@email.example.com",
        "h.test",
        "r",
    )
    assert spf._expand(ctx, "%{ir}.%{v}._spf.%{d2}", "email.example.com").startswith(
        "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
    )
    ctx4 = spf._Context(
        FakeResolver({}),
        spf.ipaddress.ip_address("192.0.2.3"),
        "strong-bad@email.example.com",
        "h.test",
        "r",
    )
    # RFC 7208 7.4 examples
    assert spf._expand(ctx4, "%{d4}", "email.example.com") == "email.example.com"
    assert spf._expand(ctx4, "%{d2}", "email.example.com") == "example.com"
    assert spf._expand(ctx4, "%{dr}", "email.example.com") == "com.example.email"
    assert spf._expand(ctx4, "%{l-}", "email.example.com") == "strong.bad"
    assert spf._expand(ctx4, "%{lr-}", "email.example.com") == "bad.strong"
    assert spf._expand(ctx4, "%{l1r-}", "email.example.com") == "strong"
    assert spf._expand(ctx4, "%{S}", "email.example.com") == "strong-bad%40email.example.com"
    with pytest.raises(spf.SpfPermError):
        spf._expand(ctx4, "%{t}", "email.example.com")  # only in explanations


async def test_null_sender_uses_helo() -> None:
    got = await check(txt("mx.sender.test", "v=spf1 ip4:192.0.2.10 -all"), sender="")
    assert (got.result, got.domain, got.scope) == ("pass", "mx.sender.test", "helo")
    same = await check(txt("mx.sender.test", "v=spf1 -all"), sender="a@mx.sender.test")
    assert same.scope == "mailfrom"  # a MAIL FROM domain equal to HELO's is still MAIL FROM


async def test_ipv4_mapped_client_is_checked_as_ipv4() -> None:
    assert (
        await check(txt("sender.test", "v=spf1 ip4:192.0.2.10 -all"), ip="::ffff:192.0.2.10")
    ).result == "pass"


async def test_timeout_on_the_record_is_temperror() -> None:
    got = await check({("sender.test", "TXT"): TIMEOUT})
    assert got.result == "temperror"
