"""WITHIN (RFC 5032) against the running stack with imaplib: OLDER/YOUNGER n seconds on the
internal date APPEND gave, in SEARCH, UID SEARCH and ESEARCH; bad intervals are BAD."""

from __future__ import annotations

import imaplib
import ssl
import time
import uuid

import pytest

from tests.support.stack import Stack

BOB, BOB_PW = "within@example.test", "bob-within-pw"
DAY = 86400


@pytest.fixture(scope="module")
def stack(imap_stack: Stack) -> Stack:
    """The shared running stack (tests/integration/conftest.py) with this module's mailboxes."""
    imap_stack.add_mailboxes({BOB: BOB_PW})
    return imap_stack


def login(stack: Stack) -> imaplib.IMAP4_SSL:
    ctx = ssl.create_default_context(cafile=str(stack.ca_file))
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx, timeout=20)
    m.login(BOB, BOB_PW)
    return m


def test_older_and_younger_on_internal_dates(stack: Stack) -> None:
    m = login(stack)
    assert "WITHIN" in m.capabilities
    name = "w" + uuid.uuid4().hex[:8]
    m.create(name)
    now = time.time()
    for days in (30, 2, 0):  # messages 1, 2, 3: a month, two days, a moment old
        msg = f"Subject: {days} days old\r\n\r\nx\r\n".encode()
        date = imaplib.Time2Internaldate(now - days * DAY)
        assert m.append(name, None, date, msg)[0] == "OK"
    m.select(name)
    assert m.search(None, "OLDER", str(DAY)) == ("OK", [b"1 2"])
    assert m.search(None, "YOUNGER", str(DAY)) == ("OK", [b"3"])
    assert m.search(None, "YOUNGER", str(7 * DAY), "OLDER", str(DAY)) == ("OK", [b"2"])
    assert m.search(None, "NOT", "OLDER", str(3 * DAY)) == ("OK", [b"2 3"])
    _, uids = m.uid("SEARCH", "OLDER", str(DAY))
    assert len(uids[0].split()) == 2
    assert m.search(None, "RETURN", "(COUNT)", "OLDER", str(60 * DAY))[0] == "OK"
    assert m.response("ESEARCH")[1][-1].endswith(b"COUNT 0")
    for bad in ("0", "-5", "soon"):
        with pytest.raises(imaplib.IMAP4.error):
            m.search(None, "OLDER", bad)
    m.logout()
