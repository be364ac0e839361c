"""Scanners are plugins named in [filter] scanners; their verdicts combine, the worst wins."""

from __future__ import annotations

import pytest

from swissbox.conf.loader import settings_from_dict
from swissbox.filter.base import Action, FailurePolicy, Request, Verdict, combine
from swissbox.filter.pipeline import MailFilter, scanner_class


class Counts:
    def count_submission(self, *args: object) -> None:
        raise AssertionError("no limits configured")


def request(data: bytes) -> Request:
    return Request(data, "192.0.2.1", "h", "a@x.test", ("b@y.test",), "Q1")


async def test_a_module_named_in_the_settings_is_a_scanner() -> None:
    name = "tests.unit.filter.example_plugin"
    settings = settings_from_dict({"filter": {"scanners": [name], "max_scan_size": 100}}).filter
    mail_filter = MailFilter.from_settings(settings, None, Counts())
    assert [s.name for s in mail_filter.scanners] == ["example"]
    assert mail_filter.limits is None and mail_filter.blocklists is None
    clean = await mail_filter.scan(request(b"\r\nfine"))
    assert clean.action is Action.ACCEPT and clean.headers == ("X-Example: clean",)
    hit = await mail_filter.scan(request(b"\r\nforbidden"))
    assert hit.action is Action.REJECT and hit.reply == "550 5.7.1 Forbidden word"
    big = await mail_filter.scan(request(b"\r\n" + b"forbidden" * 20))  # over max_scan_size
    assert big.action is Action.ACCEPT and big.headers[0].startswith("X-Filter-Unchecked:")


def test_what_is_not_a_scanner_is_refused() -> None:
    with pytest.raises(TypeError):
        scanner_class("swissbox.filter.base")  # its Scanner is abstract... and the base itself
    with pytest.raises(ImportError):
        scanner_class("no.such.module")


def test_the_worst_verdict_wins() -> None:
    verdicts = [
        ("a", Verdict(headers=("X-A: 1",), summary="ok")),
        ("b", Verdict(Action.JUNK, headers=("X-B: 1",))),
        ("c", Verdict(Action.DEFER, "451 4.7.1 later")),
    ]
    combined = combine(verdicts)
    assert combined.action is Action.DEFER and combined.reply == "451 4.7.1 later"
    assert combined.headers == ("X-A: 1", "X-B: 1")
    assert combine([]).action is Action.ACCEPT
    with pytest.raises(ValueError):
        Verdict(Action.REJECT)  # a refusal needs its reply


def test_policy_defaults() -> None:
    assert FailurePolicy().on_failure == "accept"
