"""SORT, THREAD, SORT=DISPLAY and ESORT against the running stack with imaplib: the orders,
the UID forms, search keys, charsets, bad input, answers after an expunge, and fifty
clients sorting one folder at once (the sort-key cache is shared)."""

from __future__ import annotations

import imaplib
import re
import ssl
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.stack import Stack

BOB, BOB_PW = "sort@example.test", "bob-sort-pw"
CAPS = ("SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES")

# (headers, INTERNALDATE): subject, date, from and the thread headers vary
MESSAGES = [
    ("Subject: b\r\nFrom: Zed <z@x.test>\r\nMessage-ID: <1@x>\r\n", "01-Feb-2024 10:00:00 +0000"),
    (
        "Subject: Re: b\r\nFrom: amy@x.test\r\nMessage-ID: <2@x>\r\nReferences: <1@x>\r\n"
        "Date: Thu, 01 Feb 2024 09:00:00 +0000\r\n",
        "01-Feb-2024 12:00:00 +0000",
    ),
    (
        "Subject: =?utf-8?q?A_caf=C3=A9?=\r\nFrom: =?utf-8?q?=C3=89mile?= <e@x.test>\r\n"
        "Message-ID: <3@x>\r\n",
        "01-Feb-2024 11:00:00 +0000",
    ),
    (
        "Subject: [list] Fwd: a café\r\nFrom: bob@x.test\r\nMessage-ID: <4@x>\r\n"
        "In-Reply-To: <3@x>\r\n",
        "01-Feb-2024 13:00:00 +0000",
    ),
    ("Subject: c\r\nFrom: Amy <amy@x.test>\r\nMessage-ID: <5@x>\r\n", "01-Feb-2024 08:00:00 +0000"),
]


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


def fill(m: imaplib.IMAP4_SSL) -> str:
    """A new folder holding MESSAGES, selected."""
    name = "sort-" + uuid.uuid4().hex[:8]
    assert m.create(name)[0] == "OK"
    for headers, when in MESSAGES:
        raw = (headers + "To: bob@example.test\r\n\r\nbody\r\n").encode()
        assert m.append(name, "", f'"{when}"', raw)[0] == "OK"
    assert m.select(name)[0] == "OK"
    return name


def numbers(m: imaplib.IMAP4_SSL, *args: str, uid: bool = False) -> list[int]:
    typ, data = m.uid("SORT", *args) if uid else m.sort(*args)
    assert typ == "OK", data
    return [int(n) for n in (data[0] or b"").split()]


def thread(m: imaplib.IMAP4_SSL, *args: str, uid: bool = False) -> bytes:
    typ, data = m.uid("THREAD", *args) if uid else m.thread(*args)
    assert typ == "OK", data
    return data[0] or b""


@pytest.fixture
def client(stack: Stack) -> Iterator[imaplib.IMAP4_SSL]:
    m = login(stack)
    fill(m)
    yield m
    m.logout()


def test_capabilities(client: imaplib.IMAP4_SSL) -> None:
    caps = client.capability()[1][0].decode().split()
    assert all(c in caps for c in CAPS)


def test_sort_orders(client: imaplib.IMAP4_SSL) -> None:
    assert numbers(client, "(ARRIVAL)", "UTF-8", "ALL") == [5, 1, 3, 2, 4]
    assert numbers(client, "(DATE)", "UTF-8", "ALL") == [5, 2, 1, 3, 4]  # 2 has a Date
    assert numbers(client, "(REVERSE DATE)", "US-ASCII", "ALL") == [4, 3, 1, 2, 5]
    # base subjects: b, b, "A café", "a café" ([list] Fwd: removed), c; ties by number
    assert numbers(client, "(SUBJECT)", "UTF-8", "ALL") == [3, 4, 1, 2, 5]
    assert numbers(client, "(SUBJECT REVERSE ARRIVAL)", "UTF-8", "ALL") == [4, 3, 2, 1, 5]
    assert numbers(client, "(FROM)", "UTF-8", "ALL") == [2, 5, 4, 3, 1]  # amy amy bob e z
    # display names: "Amy", amy@x.test, bob@x.test, "Zed", "Émile" (after Z: É decomposes
    # to E + a combining mark... and E < Z), so: Amy, amy@x.test, bob@x.test, Émile, Zed
    assert numbers(client, "(DISPLAYFROM)", "UTF-8", "ALL") == [5, 2, 4, 3, 1]
    assert numbers(client, "(SIZE)", "UTF-8", "UNDELETED") != []


def test_uid_sort_and_search_keys(client: imaplib.IMAP4_SSL) -> None:
    uids = [int(u) for u in client.uid("SEARCH", "ALL")[1][0].split()]
    want = [uids[i - 1] for i in (5, 1, 3, 2, 4)]
    assert numbers(client, "(ARRIVAL)", "UTF-8", "ALL", uid=True) == want
    assert numbers(client, "(ARRIVAL)", "UTF-8", "FROM", "amy") == [5, 2]
    assert numbers(client, "(ARRIVAL)", "UTF-8", "NOT", "FROM", "amy", "2:4") == [3, 4]
    assert numbers(client, "(ARRIVAL)", "UTF-8", "SUBJECT", "nothing-like-it") == []


def test_esort(client: imaplib.IMAP4_SSL) -> None:
    typ, data = client._simple_command(
        "SORT", "RETURN", "(MIN MAX ALL COUNT)", "(ARRIVAL)", "US-ASCII", "ALL"
    )
    assert typ == "OK"
    line = client.untagged_responses.pop("ESEARCH")[0]
    assert re.fullmatch(rb'\(TAG "\w+"\) MIN 5 MAX 4 ALL 5,1,3,2,4 COUNT 5', line), line
    typ, data = client._simple_command(
        "UID", "SORT", "RETURN", "(COUNT)", "(ARRIVAL)", "UTF-8", "SUBJECT", "zzz"
    )
    line = client.untagged_responses.pop("ESEARCH")[0]
    assert re.fullmatch(rb'\(TAG "\w+"\) UID COUNT 0', line), line


def test_threads(client: imaplib.IMAP4_SSL) -> None:
    # 1 <- 2 by References, 3 <- 4 by In-Reply-To; roots by sent date (2's Date is early,
    # but a root sorts by its own date: 1 at 10:00, 3 at 11:00), 5 alone at 08:00
    assert thread(client, "REFERENCES", "UTF-8", "ALL") == b"(5)(1 2)(3 4)"
    # by base subject, each thread in date order (2's Date is before 1's), threads by their first
    assert thread(client, "ORDEREDSUBJECT", "UTF-8", "ALL") == b"(5)(2 1)(3 4)"
    uids = [int(u) for u in client.uid("SEARCH", "ALL")[1][0].split()]
    want = "({})({} {})({} {})".format(*(uids[i - 1] for i in (5, 1, 2, 3, 4)))
    assert thread(client, "REFERENCES", "UTF-8", "ALL", uid=True) == want.encode()
    assert thread(client, "REFERENCES", "UTF-8", "SUBJECT", "nothing-like-it") == b""


def test_after_expunge(client: imaplib.IMAP4_SSL) -> None:
    client.store("1", "+FLAGS", "\\Deleted")
    client.expunge()
    # old 2 (now 1) has lost its parent: a dummy with one child is no thread of its own
    assert thread(client, "REFERENCES", "UTF-8", "ALL") == b"(4)(1)(2 3)"
    assert numbers(client, "(ARRIVAL)", "UTF-8", "ALL") == [4, 2, 1, 3]


def test_bad_input(client: imaplib.IMAP4_SSL) -> None:
    typ, data = client.sort("(DATE)", "ISO-8859-1", "ALL")
    assert typ == "NO" and b"[BADCHARSET" in data[0]
    typ, data = client.thread("REFERENCES", "KOI8-R", "ALL")
    assert typ == "NO" and b"[BADCHARSET" in data[0]
    for args in (("(NOSUCH)", "UTF-8", "ALL"), ("()", "UTF-8", "ALL"), ("(DATE)", "UTF-8")):
        with pytest.raises(imaplib.IMAP4.error):
            client.sort(*args)
    with pytest.raises(imaplib.IMAP4.error):
        client.thread("FANCY", "UTF-8", "ALL")
    with pytest.raises(imaplib.IMAP4.error):
        client.sort("(DATE)", "UTF-8", "NOSUCHKEY")
    assert client.noop()[0] == "OK"  # still serving


def test_not_valid_before_select(stack: Stack) -> None:
    m = login(stack)  # imaplib checks the state itself: send the lines by hand
    for line in (b"x1 SORT (DATE) UTF-8 ALL", b"x2 UID THREAD REFERENCES UTF-8 ALL"):
        m.send(line + b"\r\n")
        assert m.readline() == line[:3] + b"BAD Command not valid in this state\r\n"
    m.logout()


def test_fifty_clients_at_once(stack: Stack) -> None:
    m = login(stack)
    name = fill(m)
    m.logout()

    def one(i: int) -> bool:
        c = login(stack)
        try:
            c.select(name, readonly=True)
            if i % 3 == 0:
                typ, _ = c.sort("(DATE)", "BIG5", "ALL")
                ok = typ == "NO"
                with pytest.raises(imaplib.IMAP4.error):
                    c.thread("NOPE", "UTF-8", "ALL")
            elif i % 3 == 1:
                ok = numbers(c, "(SUBJECT)", "UTF-8", "ALL") == [3, 4, 1, 2, 5]
            else:
                ok = thread(c, "REFERENCES", "UTF-8", "ALL") == b"(5)(1 2)(3 4)"
            return ok and numbers(c, "(REVERSE ARRIVAL)", "UTF-8", "ALL") == [4, 2, 3, 1, 5]
        finally:
            c.logout()

    with ThreadPoolExecutor(50) as pool:
        assert all(pool.map(one, range(50)))


def test_modseq_key(client: imaplib.IMAP4_SSL) -> None:
    # RFC 7162 3.1.5: with a MODSEQ key the answer carries the highest MODSEQ it reports
    client.store("3", "+FLAGS", "\\Flagged")
    typ, data = client.sort("(ARRIVAL)", "UTF-8", "MODSEQ", "1")
    assert typ == "OK" and re.fullmatch(rb"5 1 3 2 4 \(MODSEQ \d+\)", data[0]), data
    typ, data = client._simple_command(
        "SORT", "RETURN", "(MIN)", "(ARRIVAL)", "UTF-8", "MODSEQ", "1"
    )
    line = client.untagged_responses.pop("ESEARCH")[0]
    assert re.fullmatch(rb'\(TAG "\w+"\) MIN 5 MODSEQ \d+', line), line


def test_kept_answers_follow_the_folder(stack: Stack) -> None:
    """A whole-folder answer is kept while the folder holds the same messages: asked again it
    is the same, and another session's APPEND or EXPUNGE makes it change."""
    m = login(stack)
    name = fill(m)
    uids = [int(u) for u in m.uid("SEARCH", "ALL")[1][0].split()]
    for _ in range(2):
        assert numbers(m, "(ARRIVAL)", "UTF-8", "ALL") == [5, 1, 3, 2, 4]
        assert numbers(m, "(ARRIVAL)", "UTF-8", "ALL", uid=True) == [
            uids[i - 1] for i in (5, 1, 3, 2, 4)
        ]
        assert thread(m, "REFERENCES", "UTF-8", "ALL") == b"(5)(1 2)(3 4)"
    other = login(stack)
    raw = b"Subject: c\r\nFrom: amy@x.test\r\nMessage-ID: <6@x>\r\nReferences: <5@x>\r\n\r\nx\r\n"
    assert other.append(name, "", '"01-Feb-2024 07:00:00 +0000"', raw)[0] == "OK"
    assert m.noop()[0] == "OK"  # the new message reaches this session
    assert numbers(m, "(ARRIVAL)", "UTF-8", "ALL") == [6, 5, 1, 3, 2, 4]
    assert thread(m, "REFERENCES", "UTF-8", "ALL") == b"(5 6)(1 2)(3 4)"
    other.select(name)
    other.store("1", "+FLAGS", "\\Deleted")
    other.expunge()
    other.logout()
    assert m.noop()[0] == "OK"  # and the expunge
    assert numbers(m, "(ARRIVAL)", "UTF-8", "ALL") == [5, 4, 2, 1, 3]
    assert thread(m, "REFERENCES", "UTF-8", "ALL") == b"(4 5)(1)(2 3)"
    m.logout()
