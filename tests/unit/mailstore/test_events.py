"""Mail index events between front ends: UIDs as IMAP ranges, split to fit NOTIFY's limit,
and a malformed message refused as ValueError (the receiver logs and ignores it)."""

from __future__ import annotations

import json

import pytest

from swissbox.mailstore.events import list_event, list_payload, parse, payloads, ranges


def test_uids_travel_as_ranges() -> None:
    assert ranges([5, 1, 2, 3, 9, 10, 3]) == ["1:3", "5", "9:10"]
    (one,) = payloads("toto@abc.xyz", "INBOX", "new", [1, 2, 3, 7], 6000)
    assert json.loads(one) == {"a": "toto@abc.xyz", "f": "INBOX", "k": "new", "u": "1:3,7"}
    assert parse(one) == ("toto@abc.xyz", "INBOX", "new", [1, 2, 3, 7])
    assert parse(next(payloads("toto@abc.xyz", "Sent", "changed", [], 6000)))[3] == []


def test_a_large_scattered_expunge_is_split_under_the_limit() -> None:
    uids = list(range(1, 40000, 2))  # 20,000 runs of one UID each
    messages = list(payloads("toto@abc.xyz", "Archive/2024", "expunge", uids, 6000))
    assert len(messages) > 1
    assert all(len(m.encode()) <= 6000 for m in messages)
    assert [u for m in messages for u in parse(m)[3]] == uids


@pytest.mark.parametrize(
    "payload",
    ["", "not json", "[]", '{"a": "x", "f": "INBOX"}', '{"a": "x", "f": "I", "k": "new", "u": "3:1"}',
     '{"a": "x", "f": "I", "k": "new", "u": "1:99999999"}', '{"a": "x", "f": "I", "k": "n", "u": "a"}'],
)  # fmt: skip
def test_malformed_events_are_refused(payload: str) -> None:
    with pytest.raises(ValueError):
        parse(payload)


def test_folder_list_changes_carry_their_kind_and_old_name() -> None:
    payload = list_payload("toto@abc.xyz", "renamed", "Moved", "Remote")
    assert parse(payload) == ("toto@abc.xyz", "Moved", "listed", [])
    assert list_event(payload) == ("renamed", "Remote")
    assert list_event(list_payload("toto@abc.xyz", "created", "New", None)) == ("created", None)
