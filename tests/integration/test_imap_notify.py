"""NOTIFY (RFC 5465) against the running stack: STATUS for events in other folders and LIST
for folders made, renamed, (un)subscribed by another session, sent without a command; the
selected folder's changes at once (SELECTED, with MessageNew's FETCH attributes) or at the
next command (SELECTED-DELAYED); BADEVENT and BAD; fifty watching clients at once."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest

from tests.support.imap_raw import RawImap
from tests.support.stack import Stack

USER, PW = "nora@example.test", "nora-mailbox-pw"
_names = itertools.count(1)
EVENTS = "(MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)"


@pytest.fixture(scope="module")
def stack(imap_stack: Stack) -> Stack:
    """The shared running stack (tests/integration/conftest.py) with this module's mailboxes."""
    imap_stack.add_mailboxes({USER: PW})
    return imap_stack


def client(stack: Stack) -> RawImap:
    c = RawImap(stack.ports["imap"])
    c.login(USER, PW)
    return c


def name() -> str:
    return f"n{next(_names)}"


def unsolicited(c: RawImap, wanted: Callable[[bytes], bool], within: float = 10.0) -> list[bytes]:
    """Lines the server sends on its own, read until one is `wanted` (or the deadline)."""
    seen: list[bytes] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        c.sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            line = c.line()
        except TimeoutError:
            break
        seen.append(line)
        if wanted(line):
            c.sock.settimeout(10.0)
            return seen
    raise AssertionError(f"not sent: {seen}")


def status(c: RawImap, cmd: str) -> list[bytes]:
    lines = c.cmd(cmd)
    return [lines[-1].split(b" ", 2)[1], *lines[:-1]]


def test_refusals(stack: Stack) -> None:
    c = client(stack)
    no = c.cmd("NOTIFY SET (PERSONAL (MessageNew MessageExpunge AnnotationChange))")
    assert no[-1].endswith(
        b" NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]"
        b" Unsupported NOTIFY events"
    )
    assert c.cmd("NOTIFY SET (SELECTED (MessageNew))")[-1].split(b" ")[1] == b"BAD"
    assert c.cmd("NOTIFY SET (SELECTED (FlagChange))")[-1].split(b" ")[1] == b"BAD"
    assert c.cmd("NOTIFY SET")[-1].split(b" ")[1] == b"BAD"
    assert c.cmd("NOTIFY NONE")[-1].split(b" ")[1] == b"OK"
    assert b"NOTIFY" in c.ok("CAPABILITY")[0].split()


def test_status_now_and_on_events_elsewhere(stack: Stack) -> None:
    a, b = client(stack), client(stack)
    box = name()
    b.ok(f"CREATE {box}")
    b.append(box, b"Subject: one\r\n\r\nx\r\n")
    lines = a.ok(f"NOTIFY SET STATUS (MAILBOXES {box} (MessageNew MessageExpunge))")
    assert len(lines) == 1 and lines[0].startswith(
        f'* STATUS "{box}" (MESSAGES 1 UIDNEXT 2 '.encode()
    )
    assert a.ok(f"NOTIFY SET (MAILBOXES {box} (MessageNew MessageExpunge))") == []
    b.append(box, b"Subject: two\r\n\r\nx\r\n")
    got = unsolicited(a, lambda x: x.startswith(b"* STATUS"))
    assert got[-1] == f'* STATUS "{box}" (MESSAGES 2 UIDNEXT 3 UNSEEN 2)'.encode()
    b.ok(f"SELECT {box}")
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    got = unsolicited(a, lambda x: x.startswith(b"* STATUS"))
    assert got[-1] == f'* STATUS "{box}" (MESSAGES 1 UIDNEXT 3 UNSEEN 1)'.encode()
    b.ok("STORE 1 +FLAGS.SILENT (\\Seen)")
    assert a.ok("NOOP") == []  # FlagChange was not asked for (would come before the OK)
    a.ok("NOTIFY NONE")
    b.append(box, b"Subject: three\r\n\r\nx\r\n")
    assert a.ok("NOOP") == []


def test_folder_names_and_subscriptions(stack: Stack) -> None:
    a, b = client(stack), client(stack)
    a.ok(f"NOTIFY SET (PERSONAL {EVENTS})")
    old, new = name(), name()
    b.ok(f"CREATE {old}")
    b.ok(f"SUBSCRIBE {old}")
    b.ok(f"RENAME {old} {new}")
    b.ok(f"UNSUBSCRIBE {new}")
    b.ok(f"DELETE {new}")
    got = unsolicited(a, lambda x: b"NonExistent" in x)
    assert got == [
        f'* LIST () "/" "{old}"'.encode(),
        f'* LIST (\\Subscribed) "/" "{old}"'.encode(),
        f'* LIST () "/" "{new}" ("OLDNAME" ("{old}"))'.encode(),
        f'* LIST () "/" "{new}"'.encode(),
        f'* LIST (\\NonExistent) "/" "{new}"'.encode(),
    ]
    assert a.ok(f"CREATE {name()}") == []  # the one who made it is not told
    assert a.ok("NOTIFY NONE") == []


def test_selected_folder_changes_come_at_once(stack: Stack) -> None:
    a, b = client(stack), client(stack)
    box = name()
    b.ok(f"CREATE {box}")
    for n in range(3):
        b.append(box, f"Subject: s{n}\r\n\r\nx\r\n".encode())
    a.ok("ENABLE QRESYNC")
    a.ok(f"SELECT {box}")
    a.ok(
        f"NOTIFY SET (SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (PERSONAL {EVENTS})"
    )
    b.append(box, b"Subject: s3\r\n\r\nx\r\n", flags="(\\Flagged)")
    got = unsolicited(a, lambda x: b" FETCH " in x)
    assert b"* 4 EXISTS" in got
    assert got[-1].startswith(b"* 4 FETCH (UID 4 FLAGS (\\Flagged")
    b.ok(f"SELECT {box}")
    b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    got = unsolicited(a, lambda x: b"VANISHED" in x)
    assert got[-1] == b"* VANISHED 2"
    assert not [x for x in got if x.startswith(b"* STATUS")]  # not for the selected folder


def test_selected_delayed_keeps_expunges_for_a_command(stack: Stack) -> None:
    a, b = client(stack), client(stack)
    box = name()
    b.ok(f"CREATE {box}")
    for n in range(2):
        b.append(box, f"Subject: d{n}\r\n\r\nx\r\n".encode())
    a.ok(f"SELECT {box}")
    a.ok("NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge))")
    b.ok(f"SELECT {box}")
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    b.append(box, b"Subject: d2\r\n\r\nx\r\n")
    got = unsolicited(a, lambda x: x.endswith(b"RECENT"))  # RECENT follows EXISTS
    assert b"* 3 EXISTS" in got
    assert not [x for x in got if x.endswith(b"EXPUNGE")]  # the new one, not the expunge
    assert a.ok("NOOP") == [b"* 1 EXPUNGE"]


def test_fifty_watchers_at_once(stack: Stack) -> None:
    box = name()
    writer = client(stack)
    writer.ok(f"CREATE {box}")
    clients = [client(stack) for _ in range(50)]
    good = []
    for i, c in enumerate(clients):
        if i % 3 == 0:  # wrong input mixed in: refused, and NOTIFY stays off
            assert status(c, f"NOTIFY SET (MAILBOXES {box} MessageNew)")[0] == b"BAD"
        elif i % 3 == 1:
            c.ok(f"NOTIFY SET (MAILBOXES {box} (MessageNew MessageExpunge))")
            good.append(c)
        else:
            assert status(c, "NOTIFY SET (PERSONAL (AnnotationChange))")[0] == b"NO"
    writer.append(box, b"Subject: all\r\n\r\nx\r\n")
    want = f'* STATUS "{box}" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)'.encode()
    for c in good:
        assert unsolicited(c, lambda x: x.startswith(b"* STATUS"))[-1] == want
    for c in clients:
        assert c.ok("NOOP") == []
        c.close()
