"""SEARCHRES (RFC 5182) against the running stack with imaplib: `SEARCH RETURN (SAVE)` and the
`$` result in FETCH, STORE, COPY, MOVE, SEARCH and their UID forms; `$` is empty after SELECT,
loses expunged messages, is emptied by a failing SAVE; `$` mixed into a set is BAD."""

from __future__ import annotations

import imaplib
import ssl
import uuid

import pytest

from tests.support.imap_raw import RawImap
from tests.support.stack import Stack

BOB, BOB_PW = "searchres@example.test", "bob-searchres-pw"


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


def fill(m: imaplib.IMAP4_SSL, n: int = 6) -> str:
    """A new folder of `n` messages, 2, 4 and 6 \\Flagged, selected."""
    name = "r" + uuid.uuid4().hex[:8]
    m.create(name)
    for i in range(1, n + 1):
        flags = r"(\Flagged)" if i % 2 == 0 else None
        msg = f"From: a@x.test\r\nSubject: m{i}\r\n\r\nbody {i}\r\n".encode()
        assert m.append(name, flags, None, msg)[0] == "OK"
    m.select(name)
    return name


def ids(data: list[bytes | None]) -> list[bytes]:
    return (data[0] or b"").split()


def seqs(m: imaplib.IMAP4_SSL, data: list[object]) -> list[bytes]:
    return [d.split(b" ", 1)[0] for d in data if isinstance(d, bytes)]


def test_capability(stack: Stack) -> None:
    m = login(stack)
    assert "SEARCHRES" in m.capabilities
    m.logout()


def test_saved_result_in_every_command(stack: Stack) -> None:
    m = login(stack)
    name = fill(m)
    assert m.search(None, "RETURN", "(SAVE)", "FLAGGED") == ("OK", [None])  # SAVE alone: no answer
    typ, data = m.fetch("$", "(UID)")
    assert typ == "OK" and seqs(m, data) == [b"2", b"4", b"6"]
    assert seqs(m, m.uid("FETCH", "$", "(FLAGS)")[1]) == [b"2", b"4", b"6"]
    assert ids(m.search(None, "$")[1]) == [b"2", b"4", b"6"]
    assert ids(m.search(None, "UID", "$", "NOT", "6")[1]) == [b"2", b"4"]
    assert ids(m.uid("SEARCH", "OR", "$", "1")[1]) == [b"1", b"2", b"4", b"6"]
    # `$` in a SEARCH that saves is the result before it: 2 4 6 and not 3, kept 2 4 6
    assert m.search(None, "RETURN", "(SAVE)", "$", "NOT", "3")[0] == "OK"
    assert ids(m.search(None, "$")[1]) == [b"2", b"4", b"6"]
    m.store("$", "+FLAGS", r"(\Seen)")
    assert ids(m.search(None, "SEEN")[1]) == [b"2", b"4", b"6"]
    m.create(name + "c")
    assert m.copy("$", name + "c")[0] == "OK"
    assert m.status(name + "c", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 3)")
    # the result is kept as messages: a UID SEARCH saves UIDs, a plain FETCH $ finds them
    assert m.uid("SEARCH", "RETURN", "(SAVE MIN)", "SEEN")[0] == "OK"
    assert seqs(m, m.fetch("$", "(UID)")[1]) == [b"2"]
    m.create(name + "m")
    assert m.uid("MOVE", "$", name + "m")[0] == "OK"
    assert ids(m.search(None, "ALL")[1]) == [b"1", b"2", b"3", b"4", b"5"]
    assert m.fetch("$", "(UID)")[1] == [None]  # moved away: $ is empty now
    m.logout()


def test_lifetime_select_expunge_and_failure(stack: Stack) -> None:
    m = login(stack)
    name = fill(m)
    m.search(None, "RETURN", "(SAVE)", "ALL")
    m.store("1:2", "+FLAGS", r"(\Deleted)")
    m.expunge()
    assert seqs(m, m.fetch("$", "(UID)")[1]) == [b"1", b"2", b"3", b"4"]  # the four left
    m.select(name)
    assert m.fetch("$", "(UID)")[1] == [None]  # SELECT empties $
    m.search(None, "RETURN", "(SAVE)", "ALL")
    assert m._simple_command("SEARCH", "RETURN", "(SAVE)", "CHARSET", "KOI8-R", "ALL")[0] == "NO"
    assert m.fetch("$", "(UID)")[1] == [None]  # the failed SAVE left $ empty
    for bad in ("$,1", "1:$", "$:*"):
        with pytest.raises(imaplib.IMAP4.error, match="sequence"):
            m.fetch(bad, "(UID)")
    m.logout()


def test_pipelined_save_then_use(stack: Stack) -> None:
    """RFC 5182 2.1's example: SAVE and the commands using `$` sent in one write."""
    setup = login(stack)
    name = fill(setup)
    setup.logout()
    c = RawImap(stack.ports["imap"])
    c.login(BOB, BOB_PW)
    c.ok(f"SELECT {name}")
    c.send(
        b"p1 SEARCH RETURN (SAVE) FLAGGED\r\np2 FETCH $ (UID)\r\n"
        b"p3 UID STORE $ +FLAGS.SILENT (\\Answered)\r\np4 SEARCH ANSWERED\r\n"
    )
    lines = c.until(b"p4")
    assert lines[0] == b"p1 OK SEARCH completed"
    assert [x.split(b" ")[1] for x in lines if x.startswith(b"* ") and b" FETCH " in x] == [
        b"2",
        b"4",
        b"6",
    ]
    assert b"* SEARCH 2 4 6" in lines
    c.close()
