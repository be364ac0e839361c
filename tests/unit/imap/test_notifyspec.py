"""NOTIFY parameters (RFC 5465) from tokens: filters, events, the combinations RFC 5465 5
forbids (BAD), unsupported events (NO [BADEVENT]), and which folder events a spec wants."""

from __future__ import annotations

import pytest

from swissbox.imap import notifyspec
from swissbox.imap.notifyspec import (
    FLAG_CHANGE,
    MAILBOX_NAME,
    MESSAGE_EXPUNGE,
    MESSAGE_NEW,
    NotifySpec,
    UnsupportedEvents,
    parse_notify,
)
from swissbox.imap.parser import ParseError, tokenize


def spec(text: bytes) -> NotifySpec | None:
    return parse_notify(tokenize([text]))


def never(_folder: str) -> bool:
    return False


def test_none_turns_it_off() -> None:
    assert spec(b"NONE") is None


def test_a_full_set() -> None:
    s = spec(
        b"SET STATUS (SELECTED (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From)]) MessageExpunge"
        b" FlagChange)) (subtree (Lists inbox) (messagenew messageexpunge))"
        b" (MAILBOXES Work (MailboxName)) (PERSONAL NONE)"
    )
    assert s is not None and s.status and not s.delayed
    assert s.selected == {MESSAGE_NEW, MESSAGE_EXPUNGE, FLAG_CHANGE}
    assert isinstance(s.fetch_att, list) and len(s.fetch_att) == 2
    assert [(f.kind, f.names) for f in s.filters] == [
        ("SUBTREE", ("Lists", "INBOX")),
        ("MAILBOXES", ("Work",)),
    ]  # PERSONAL NONE asks for nothing
    assert s.filters[0].events == {MESSAGE_NEW, MESSAGE_EXPUNGE}


def test_selected_delayed() -> None:
    s = spec(b"SET (SELECTED-DELAYED (MessageNew MessageExpunge))")
    assert s is not None and s.delayed and s.filters == ()


@pytest.mark.parametrize(
    "text",
    [
        b"SET",
        b"SET STATUS",
        b"FOO",
        b"SET (SELECTED (MessageNew MessageExpunge)) (SELECTED-DELAYED (MessageNew MessageExpunge))",
        b"SET (SELECTED (MessageNew))",  # MessageNew and MessageExpunge go together
        b"SET (SELECTED (FlagChange))",  # FlagChange needs both
        b"SET (PERSONAL (MessageNew (UID)))",  # FETCH attributes only for the selected one
        b"SET (SUBTREE (MessageNew))",  # no names
        b"SET (MAILBOXES () (MessageNew))",
        b"SET (EVERYWHERE (MessageNew))",
        b"SET (PERSONAL ())",
        b"SET PERSONAL",
    ],
)
def test_malformed_is_bad(text: bytes) -> None:
    with pytest.raises(ParseError):
        spec(text)


def test_unsupported_events_are_named() -> None:
    with pytest.raises(UnsupportedEvents) as err:
        spec(b"SET (PERSONAL (MessageNew AnnotationChange)) (INBOXES (XFoo))")
    assert err.value.names == ["AnnotationChange", "XFoo"]
    assert notifyspec.badevent_code() == (
        b"BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)"
    )


def test_which_folders_a_filter_covers() -> None:
    s = spec(
        b"SET (SUBTREE Lists (MessageNew MessageExpunge)) (MAILBOXES INBOX (FlagChange))"
        b" (SUBSCRIBED (MailboxName))"
    )
    assert s is not None
    assert s.wants("Lists", MESSAGE_NEW, never)
    assert s.wants("Lists/python", MESSAGE_EXPUNGE, never)
    assert not s.wants("Listserv", MESSAGE_NEW, never)
    assert not s.wants("Lists", FLAG_CHANGE, never)
    assert s.wants("INBOX", FLAG_CHANGE, never)
    assert not s.wants("INBOX/sub", FLAG_CHANGE, never)
    assert s.wants("Work", MAILBOX_NAME, lambda f: f == "Work")
    assert not s.wants("Play", MAILBOX_NAME, lambda f: f == "Work")


def test_personal_and_inboxes_cover_every_folder() -> None:
    for kind in (b"PERSONAL", b"INBOXES"):
        s = spec(b"SET (" + kind + b" (MessageNew MessageExpunge))")
        assert s is not None and s.wants("Any/Thing", MESSAGE_NEW, never)
