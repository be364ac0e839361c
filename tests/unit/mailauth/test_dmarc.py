"""DMARC (RFC 7489) over given SPF/DKIM results and records in a dict; the
Authentication-Results field and the removal of forged ones."""

from __future__ import annotations

import pytest

from swissbox.mailauth import authresults, dmarc
from swissbox.mailauth.dkimverify import DkimResult
from swissbox.mailauth.spf import SpfResult
from tests.unit.mailauth.fakedns import TIMEOUT, FakeResolver

NO_SPF = SpfResult("none", "bounce.other.test")


def policy(record: str, domain: str = "sender.test") -> FakeResolver:
    return FakeResolver({(f"_dmarc.{domain}", "TXT"): [record]})


def test_organizational_domain_from_the_public_suffix_list() -> None:
    assert dmarc.organizational_domain("a.b.sender.test") == "sender.test"
    assert dmarc.organizational_domain("mail.example.co.uk") == "example.co.uk"
    assert dmarc.organizational_domain("co.uk") == "co.uk"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("v=DMARC1; p=reject", dmarc.DmarcRecord("reject", "reject")),
        (
            "v=DMARC1; p=none; sp=reject; adkim=s; aspf=s; pct=20",
            dmarc.DmarcRecord("none", "reject", "s", "s", 20),
        ),
        (
            "v=DMARC1;p=quarantine;junk=1;x y z;pct=500;adkim=q",
            dmarc.DmarcRecord("quarantine", "quarantine"),
        ),
        ("v=DMARC1; p=bogus; rua=mailto:r@sender.test", dmarc.DmarcRecord("none", "none")),
        ("v=DMARC1; p=bogus", None),
        ("p=reject; v=DMARC1", None),
        ("v=DMARC2; p=reject", None),
    ],
)
def test_parse_record(text: str, expected: dmarc.DmarcRecord | None) -> None:
    assert dmarc.parse_record(text) == expected


async def test_aligned_dkim_or_spf_passes() -> None:
    dns = policy("v=DMARC1; p=reject")
    good_dkim = [DkimResult("pass", "mail.sender.test")]
    assert (await dmarc.evaluate(dns, "sender.test", NO_SPF, good_dkim)).result == "pass"
    spf = SpfResult("pass", "bounces.sender.test")
    assert (await dmarc.evaluate(dns, "sender.test", spf, [])).result == "pass"


async def test_strict_alignment_and_foreign_signatures_fail() -> None:
    dns = policy("v=DMARC1; p=reject; adkim=s; aspf=s")
    got = await dmarc.evaluate(
        dns,
        "sender.test",
        SpfResult("pass", "b.sender.test"),
        [DkimResult("pass", "m.sender.test")],
    )
    assert (got.result, got.policy, got.disposition) == ("fail", "reject", "reject")
    foreign = [DkimResult("pass", "mailer.test"), DkimResult("fail", "sender.test")]
    got = await dmarc.evaluate(policy("v=DMARC1; p=quarantine"), "sender.test", NO_SPF, foreign)
    assert (got.result, got.disposition) == ("fail", "quarantine")


async def test_subdomain_uses_sp_of_the_organizational_record() -> None:
    dns = policy("v=DMARC1; p=reject; sp=quarantine")
    got = await dmarc.evaluate(dns, "news.sender.test", NO_SPF, [])
    assert (got.result, got.policy) == ("fail", "quarantine")
    assert ("_dmarc.news.sender.test", "TXT") in dns.asked


async def test_pct_sampling_steps_down_when_not_sampled() -> None:
    dns = policy("v=DMARC1; p=reject; pct=30")
    assert (await dmarc.evaluate(dns, "sender.test", NO_SPF, [], sample=10)).disposition == "reject"
    assert (
        await dmarc.evaluate(dns, "sender.test", NO_SPF, [], sample=30)
    ).disposition == "quarantine"


async def test_none_permerror_temperror() -> None:
    assert (await dmarc.evaluate(FakeResolver({}), "sender.test", NO_SPF, [])).result == "none"
    two = FakeResolver({("_dmarc.sender.test", "TXT"): ["v=DMARC1; p=reject", "v=DMARC1; p=none"]})
    assert (await dmarc.evaluate(two, "sender.test", NO_SPF, [])).result == "none"
    assert (await dmarc.evaluate(FakeResolver({}), None, NO_SPF, [])).result == "permerror"
    slow = FakeResolver({("_dmarc.sender.test", "TXT"): TIMEOUT})
    assert (await dmarc.evaluate(slow, "sender.test", NO_SPF, [])).result == "temperror"
    # a failing check whose DNS timed out is not a fail: the answer may still come
    dns = policy("v=DMARC1; p=reject")
    got = await dmarc.evaluate(dns, "sender.test", SpfResult("temperror", "sender.test"), [])
    assert got.result == "temperror"
    # ... unless the policy is none: the answer would not change what happens to the mail
    lenient = policy("v=DMARC1; p=none")
    got = await dmarc.evaluate(lenient, "sender.test", SpfResult("temperror", "sender.test"), [])
    assert (got.result, got.disposition) == ("fail", "none")


def test_null_sender_is_reported_as_the_helo_identity() -> None:
    field = authresults.header(
        "mx.example.test",
        SpfResult("pass", "mta.sender.test", scope="helo"),
        [],
        dmarc.DmarcResult("none", "sender.test"),
        "mta.sender.test",
    )
    assert b"spf=pass smtp.helo=mta.sender.test;" in field
    mailfrom = authresults.header(
        "mx.example.test",
        SpfResult("pass", "sender.test"),
        [],
        dmarc.DmarcResult("none", "sender.test"),
        "sender.test",  # HELO spelled like the MAIL FROM domain
    )
    assert b"spf=pass smtp.mailfrom=sender.test;" in mailfrom


def test_authentication_results_field() -> None:
    field = authresults.header(
        "mx.example.test",
        SpfResult("fail", "sender.test", ""),
        [
            DkimResult("pass", "sender.test", "s1", "ed25519-sha256", "abcdEFGH"),
            DkimResult("permerror", "x.test", "s", "rsa-sha1", "", "rsa-sha1 (RFC 8301)"),
        ],
        dmarc.DmarcResult("fail", "sender.test", "reject", "reject"),
        "mx.sender.test",
    )
    assert field == (
        b"Authentication-Results: mx.example.test;\r\n"
        b"\tspf=fail smtp.mailfrom=sender.test;\r\n"
        b"\tdkim=pass header.d=sender.test header.s=s1 header.a=ed25519-sha256 header.b=abcdEFGH;\r\n"
        b"\tdkim=permerror (rsa-sha1 [RFC 8301]) header.d=x.test header.s=s header.a=rsa-sha1;\r\n"
        b"\tdmarc=fail (p=reject dis=REJECT) header.from=sender.test\r\n"
    )


def test_forged_fields_claiming_our_id_are_removed() -> None:
    message = (
        b"Authentication-Results: MX.example.test; dmarc=pass\r\n"
        b"Received: from x\r\n"
        b"Authentication-Results: (comment) mx.example.test\r\n"
        b"\t; spf=pass\r\n"
        b"Authentication-Results:\r\n mx.example.test; dkim=pass\r\n"
        b"Authentication-Results: mx.other.test; spf=pass\r\n"
        b"Subject: Authentication-Results: mx.example.test\r\n"
        b"\r\n"
        b"Authentication-Results: mx.example.test; body stays\r\n"
    )
    assert authresults.strip_claiming(message, "mx.example.test") == (
        b"Received: from x\r\n"
        b"Authentication-Results: mx.other.test; spf=pass\r\n"
        b"Subject: Authentication-Results: mx.example.test\r\n"
        b"\r\n"
        b"Authentication-Results: mx.example.test; body stays\r\n"
    )
    plain = b"Subject: x\r\n\r\nbody\r\n"
    assert authresults.strip_claiming(plain, "mx.example.test") is plain
