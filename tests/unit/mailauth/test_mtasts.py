"""MTA-STS policies and records: ours as written, others' as read (RFC 8461)."""

from __future__ import annotations

import pytest

from swissbox.mailauth import mtasts


def test_our_policy_reads_back_and_its_id_follows_it() -> None:
    text = mtasts.policy_text("testing", ["mx.example.test."], 604800)
    assert text == "version: STSv1\r\nmode: testing\r\nmx: mx.example.test\r\nmax_age: 604800\r\n"
    policy = mtasts.parse_policy(text.encode())
    assert policy == mtasts.Policy("testing", ("mx.example.test",), 604800)
    other = mtasts.policy_text("enforce", ["mx.example.test"], 604800)
    assert mtasts.policy_id(text) != mtasts.policy_id(other)
    assert mtasts.parse_record([mtasts.record_text(mtasts.policy_id(text))]) == mtasts.policy_id(
        text
    )
    assert mtasts.tlsrpt_text("mailto:p@example.test") == "v=TLSRPTv1; rua=mailto:p@example.test"


def test_mx_patterns() -> None:
    policy = mtasts.Policy("enforce", ("mx1.example.test", "*.mail.example.test"), 86400)
    assert policy.allows("MX1.example.test.")
    assert policy.allows("a.mail.example.test")
    assert not policy.allows("mail.example.test")
    assert not policy.allows("a.b.mail.example.test")
    assert not policy.allows("mx2.example.test")


@pytest.mark.parametrize(
    "texts",
    [
        ["v=STSv1; id=abc", "v=STSv1; id=def"],
        ["v=STSv1;"],
        ["v=STSv1; id=has-dash"],
        ["v=STSv1; id=" + "a" * 33],
        ["v=STSv1 id=abc"],
    ],
)
def test_bad_records(texts: list[str]) -> None:
    with pytest.raises(mtasts.PolicyError):
        mtasts.parse_record(texts)


def test_no_record() -> None:
    assert mtasts.parse_record(["v=spf1 -all"]) is None
    assert mtasts.parse_record(["v=STSv1; id=20240101T000000; ext=1"]) == "20240101T000000"


@pytest.mark.parametrize(
    "body",
    [
        b"version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 100\n",
        b"version: STSv1\nmode: strict\nmx: a.test\nmax_age: 100\n",
        b"version: STSv1\nmode: enforce\nmax_age: 100\n",
        b"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: soon\n",
        b"version: STSv1\nmode: enforce\nmx: a.test\n",
        b"version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 100\n",
        b"version: STSv1\nmode enforce\nmx: a.test\nmax_age: 100\n",
        b"\xff\xfe",
        b"version: STSv1\n" + b"x: y\n" * 20000,
    ],
)
def test_bad_policies(body: bytes) -> None:
    with pytest.raises(mtasts.PolicyError):
        mtasts.parse_policy(body)


def test_policy_extras_ignored_and_max_age_capped() -> None:
    policy = mtasts.parse_policy(
        b"version: STSv1\nmode: enforce\nmx: *.example.test\nfoo: bar\nmax_age: 99999999999\n"
    )
    assert policy.mode == "enforce" and policy.max_age == mtasts.MAX_AGE_LIMIT
    assert mtasts.parse_policy(b"version: STSv1\nmode: none\nmax_age: 86400\n").mx == ()
