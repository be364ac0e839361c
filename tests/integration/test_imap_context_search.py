"""CONTEXT=SEARCH (RFC 5267) against the running stack: RETURN (PARTIAL) with imaplib; a live
`SEARCH RETURN (UPDATE)` in an aioimaplib session idling while an imaplib session appends,
flags and expunges (ADDTO/REMOVEFROM arrive at once); exact bytes for this session's own
changes, CANCELUPDATE, NOUPDATE and the errors."""

from __future__ import annotations

import asyncio
import imaplib
import re
import ssl
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import aioimaplib
import pytest

from tests.support.imap_raw import RawImap
from tests.support.polling import eventually
from tests.support.stack import Stack

BOB, BOB_PW = "context@example.test", "bob-context-pw"


@pytest.fixture(scope="module")
def stack(imap_stack: Stack) -> Stack:
    """The shared running stack (tests/integration/conftest.py) with this module's mailboxes."""
    imap_stack.add_mailboxes({BOB: BOB_PW})
    return imap_stack


def ctx(stack: Stack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.ca_file))


def login(stack: Stack) -> imaplib.IMAP4_SSL:
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx(stack), timeout=20)
    m.login(BOB, BOB_PW)
    return m


def message(i: int) -> bytes:
    return f"From: a@x.test\r\nSubject: m{i}\r\n\r\nbody {i}\r\n".encode()


def fill(m: imaplib.IMAP4_SSL, n: int) -> str:
    name = "c" + uuid.uuid4().hex[:8]
    m.create(name)
    for i in range(1, n + 1):
        assert m.append(name, None, None, message(i))[0] == "OK"
    return name


def test_partial(stack: Stack) -> None:
    m = login(stack)
    assert "CONTEXT=SEARCH" in m.capabilities
    m.select(fill(m, 5))
    m.store("3", "+FLAGS", r"(\Deleted)")
    m.search(None, "RETURN", "(PARTIAL 2:3)", "UNDELETED")
    assert m.response("ESEARCH")[1][-1].endswith(b" PARTIAL (2:3 2,4)")
    m.uid("SEARCH", "RETURN", "(PARTIAL 9:6 COUNT)", "ALL")
    assert m.response("ESEARCH")[1][-1].endswith(b" UID PARTIAL (6:9 NIL) COUNT 5")
    for bad in ("(PARTIAL 1:*)", "(PARTIAL 2)", "(PARTIAL 1:2 ALL)"):
        with pytest.raises(imaplib.IMAP4.error):
            m.search(None, "RETURN", bad, "ALL")
    m.logout()


async def pushed(client: aioimaplib.IMAP4_SSL, pattern: bytes, timeout: float = 10) -> bytes:
    """The first line pushed during IDLE that matches `pattern` (regex), with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"nothing matched {pattern!r}"
        for line in await client.wait_server_push(timeout=left):
            if isinstance(line, bytes) and re.search(pattern, line):
                return line


async def test_live_search_sees_another_session(stack: Stack) -> None:
    actor = login(stack)
    name = fill(actor, 3)
    actor.select(name)
    actor.store("1", "+FLAGS", r"(\Seen)")
    watcher = aioimaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx(stack))
    await watcher.wait_hello_from_server()
    await watcher.login(BOB, BOB_PW)
    await watcher.select(name)
    # aioimaplib files an untagged ESEARCH under no command (it is not "SEARCH"): the initial
    # answer is checked with exact bytes below, the updates here by their shape
    res = await watcher.search("RETURN", "(UPDATE ALL)", "UNSEEN", charset=None)
    assert res.result == "OK"
    head = rb'ESEARCH \(TAG "[^"]+"\)'
    idle = await watcher.idle_start(timeout=60)
    # an unseen arrival is added, after its EXISTS
    await asyncio.to_thread(actor.append, name, None, None, message(4))
    assert await pushed(watcher, head + rb" ADDTO \(0 4\)")
    # flags: 2 read leaves the result, 1 unread joins it
    await asyncio.to_thread(actor.store, "2", "+FLAGS", r"(\Seen)")
    assert await pushed(watcher, head + rb" REMOVEFROM \(0 2\)")
    await asyncio.to_thread(actor.store, "1", "-FLAGS", r"(\Seen)")
    assert await pushed(watcher, head + rb" ADDTO \(0 1\)")
    # an expunged match leaves the result under its number before the EXPUNGE
    await asyncio.to_thread(actor.store, "3", "+FLAGS", r"(\Deleted)")
    await asyncio.to_thread(actor.expunge)
    assert await pushed(watcher, head + rb" REMOVEFROM \(0 3\)")
    watcher.idle_done()
    await asyncio.wait_for(idle, 10)
    await watcher.logout()
    actor.logout()


def test_own_changes_cancel_and_limits(stack: Stack) -> None:
    setup = login(stack)
    name = fill(setup, 4)
    other = fill(setup, 1)
    setup.logout()
    c = RawImap(stack.ports["imap"])
    c.login(BOB, BOB_PW)
    c.ok(f"SELECT {name}")
    c.send(b"u1 UID SEARCH RETURN (UPDATE) FLAGGED\r\n")
    assert c.until(b"u1") == [b'* ESEARCH (TAG "u1") UID', b"u1 OK SEARCH completed"]
    lines = c.ok("STORE 2:3 +FLAGS.SILENT (\\Flagged)")
    assert lines == [b'* ESEARCH (TAG "u1") UID ADDTO (0 2:3)']  # UIDs 2 and 3
    c.send(b"u1 SEARCH RETURN (UPDATE) ALL\r\n")
    assert c.until(b"u1")[-1].startswith(b"u1 BAD")  # its tag is taken
    assert c.cmd('CANCELUPDATE "nope"')[-1].split(b" ")[1] == b"NO"
    assert c.cmd("CANCELUPDATE u1")[-1].split(b" ")[1] == b"BAD"  # not quoted
    assert c.ok('CANCELUPDATE "u1"') == []
    assert c.ok("STORE 1 +FLAGS.SILENT (\\Flagged)") == []  # no longer told
    for i in range(10):
        c.send(b"v%d SEARCH RETURN (UPDATE) DELETED\r\n" % i)
        assert c.until(b"v%d" % i)[-1].startswith(b"v%d OK" % i)
    c.send(b"v10 SEARCH RETURN (UPDATE COUNT) DELETED\r\n")
    assert c.until(b"v10") == [
        b'* ESEARCH (TAG "v10") COUNT 0',
        b'* NO [NOUPDATE "v10"] Too many live searches',
        b"v10 OK SEARCH completed",
    ]
    c.ok(f"SELECT {other}")  # a new folder ends the live searches
    assert c.cmd('CANCELUPDATE "v0"')[-1].split(b" ")[1] == b"NO"
    c.close()


def test_fifty_sessions_with_live_searches_and_bad_input(stack: Stack) -> None:
    """Fifty sessions on one folder at once, half with a live search, half sending malformed
    or refused CONTEXT/SEARCHRES commands; one flag change reaches every live search."""
    setup = login(stack)
    name = fill(setup, 3)
    setup.select(name)

    def start(i: int) -> RawImap:
        c = RawImap(stack.ports["imap"])
        c.login(BOB, BOB_PW)
        c.ok(f"SELECT {name}")
        if i % 2 == 0:
            c.send(b"live SEARCH RETURN (UPDATE) FLAGGED\r\n")
            assert c.until(b"live") == [b'* ESEARCH (TAG "live")', b"live OK SEARCH completed"]
        else:
            for bad, status in [
                ("SEARCH RETURN (PARTIAL 0:1) ALL", b"BAD"),
                ("SEARCH RETURN (UPDATE UPDATE) ALL", b"BAD"),
                ("FETCH $,1 (UID)", b"BAD"),
                ('CANCELUPDATE "live"', b"NO"),
                ("SEARCH OLDER 0", b"BAD"),
            ]:
                assert c.cmd(bad)[-1].split(b" ")[1] == status, bad
            c.ok("SEARCH RETURN (SAVE) ALL")
            assert len(c.ok("FETCH $ (UID)")) == 3
        return c

    def told(c: RawImap) -> bool:
        return b'* ESEARCH (TAG "live") ADDTO (0 2)' in c.ok("NOOP")

    with ThreadPoolExecutor(50) as pool:
        clients = list(pool.map(start, range(50)))
        setup.store("2", "+FLAGS", r"(\Flagged)")
        seen = list(pool.map(lambda c: eventually(lambda: told(c), 20, "ADDTO"), clients[::2]))
        assert all(seen)
        assert all(pool.map(lambda c: c.ok("NOOP") is not None, clients[1::2]))
    for c in clients:
        c.close()
    setup.logout()


def test_live_search_on_a_folder_deleted_meanwhile(stack: Stack) -> None:
    """Another session deletes the folder: the live search ends, the session keeps working."""
    setup = login(stack)
    name = fill(setup, 1)
    c = RawImap(stack.ports["imap"])
    c.login(BOB, BOB_PW)
    c.ok(f"SELECT {name}")
    c.ok("SEARCH RETURN (UPDATE) UNSEEN")
    setup.delete(name)
    assert c.ok("NOOP") == []
    assert c.ok("SELECT INBOX")[0].startswith(b"* ")
    c.close()
    setup.logout()
