"""rspamd's checkv2 answers -> delivery decisions (bytes in, verdict out)."""

from __future__ import annotations

import json

import pytest

from swissbox.filter.base import Action, Request, ScanError
from swissbox.filter.rspamd import decide, parse_answer, request_headers


def answer(action: str, score: float = 7.0, **symbols: float) -> bytes:
    syms = {n: {"name": n, "score": s} for n, s in symbols.items()}
    return json.dumps(
        {"action": action, "score": score, "required_score": 15.0, "symbols": syms}
    ).encode()


@pytest.mark.parametrize(
    ("action", "expected", "code"),
    [
        ("reject", Action.REJECT, "550 5.7.1"),
        ("soft reject", Action.DEFER, "451 4.7.1"),
        ("greylist", Action.DEFER, "451 4.7.1"),
        ("add header", Action.JUNK, None),
        ("rewrite subject", Action.JUNK, None),
        ("no action", Action.ACCEPT, None),
    ],
)
def test_mx_actions(action: str, expected: Action, code: str | None) -> None:
    verdict = decide(parse_answer(answer(action, BAYES_SPAM=5.1, MIME_GOOD=-0.1)), None, False, 15)
    assert verdict.action is expected
    assert (verdict.reply or "")[:9] == (code or "")
    assert "BAYES_SPAM(5.1)" in verdict.summary and "MIME_GOOD(-0.1)" in verdict.summary
    if expected is Action.JUNK:
        fields = dict(h.split(": ", 1) for h in verdict.headers)
        assert fields["X-Spam"] == "Yes" and fields["X-Spam-Action"] == action
        assert fields["X-Spam-Status"].startswith("Yes, score=7.00")
        assert fields["X-Spam-Symbols"].startswith("BAYES_SPAM(5.1)")


def test_reject_can_go_to_junk_instead() -> None:
    assert decide(parse_answer(answer("reject", 20)), None, True, 15).action is Action.JUNK


def test_submission_uses_its_own_threshold_not_the_action() -> None:
    low = decide(parse_answer(answer("add header", 8)), "a@example.test", False, 15)
    assert low.action is Action.ACCEPT and not low.headers
    assert (
        decide(parse_answer(answer("greylist", 5)), "a@x.test", False, 15).action is Action.ACCEPT
    )
    high = decide(parse_answer(answer("no action", 16)), "a@example.test", False, 15)
    assert high.action is Action.REJECT and high.reply and high.reply.startswith("550 5.7.1")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>502 Bad Gateway</html>",
        b"[]",
        b'{"action": "explode", "score": 1}',
        b'{"action": "reject"}',
        b'{"action": "reject", "score": "high"}',
        b'{"action": "reject", "score": 1, "symbols": []}',
        b"\xff\xfe{",
    ],
)
def test_garbage_is_a_scan_error(body: bytes) -> None:
    with pytest.raises(ScanError):
        parse_answer(body)


def test_request_headers_cannot_be_broken_by_client_input() -> None:
    req = Request(b"", "192.0.2.1", "evil\r\nX: y", "", ("a@x.test", "b@x.test"), "Q1", "u@x.test")
    headers = request_headers(req, "pw")
    assert ("From", "<>") in headers and ("User", "u@x.test") in headers
    assert [v for k, v in headers if k == "Rcpt"] == ["a@x.test", "b@x.test"]
    assert ("Password", "pw") in headers
