"""Several sessions on one mailbox see each other (imaplib and aioimaplib): new mail from SMTP
wakes IDLE within a second; flag changes and expunges reach the other sessions as untagged
responses at the moments RFC 3501 allows; idle timeouts."""

from __future__ import annotations

import asyncio
import imaplib
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator

import aioimaplib
import pytest

from tests.support.stack import Stack

BOB, BOB_PW = "bob@example.test", "bob-mailbox-pw"


def message(subject: str) -> bytes:
    return (
        f"From: a@example.org\r\nTo: {BOB}\r\nSubject: {subject}\r\n"
        "Message-ID: <x@example.org>\r\n\r\nhello\r\n"
    ).encode()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("imap-sessions"), imap={"idle_timeout": 3})
    s.provision(mailboxes={BOB: BOB_PW})
    s.start()
    yield s
    s.stop()


def ctx(stack: Stack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.ca_file))


def session(stack: Stack) -> imaplib.IMAP4_SSL:
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx(stack), timeout=10)
    m.login(BOB, BOB_PW)
    return m


def deliver(stack: Stack, subject: str) -> None:
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as smtp:
        smtp.sendmail("a@example.org", [BOB], message(subject))


async def test_idle_woken_by_smtp_delivery(stack: Stack) -> None:
    client = aioimaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx(stack))
    await client.wait_hello_from_server()
    assert (await client.login(BOB, BOB_PW)).result == "OK"
    await client.select("INBOX")
    idle = await client.idle_start(timeout=30)
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await asyncio.to_thread(deliver, stack, "wake up")
    push = await client.wait_server_push(timeout=5)
    elapsed = time.monotonic() - started
    client.idle_done()
    await asyncio.wait_for(idle, 5)
    assert any(b"EXISTS" in line for line in push), push
    assert elapsed < 1.5, elapsed
    res = await client.uid("fetch", "1:*", "(BODY.PEEK[HEADER.FIELDS (Subject)])")
    assert b"wake up" in b"".join(x for x in res.lines if isinstance(x, (bytes, bytearray)))
    await client.logout()


def test_flags_and_expunges_reach_other_sessions(stack: Stack) -> None:
    a, b = session(stack), session(stack)
    a.create("Shared")
    for i in range(3):
        a.append("Shared", None, None, message(f"s{i}"))
    a.select("Shared")
    b.select("Shared")
    a.store("2", "+FLAGS", r"(\Flagged)")
    b.noop()
    fetches = b.response("FETCH")[1]
    assert any(b"\\Flagged" in f for f in fetches if f), fetches
    a.store("1", "+FLAGS", r"(\Deleted)")
    a.expunge()
    # during FETCH, no EXPUNGE may be sent (sequence numbers would shift under the client)
    b.response("EXPUNGE")
    b.fetch("1:*", "(FLAGS)")
    assert b.response("EXPUNGE")[1] == [None]
    b.noop()
    assert b.response("EXPUNGE")[1] == [b"1"]
    _, data = b.fetch("1:*", "(UID)")
    assert [d for d in data if d] == [b"1 (UID 2)", b"2 (UID 3)"]
    # a new message appended by one session is announced to the other
    a.append("Shared", None, None, message("s3"))
    b.noop()
    assert b.response("EXISTS")[1][-1] == b"3"
    a.logout()
    b.logout()


async def test_two_aioimaplib_sessions_idle_sees_store_and_expunge(stack: Stack) -> None:
    watcher = aioimaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx(stack))
    actor = aioimaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx(stack))
    for c in (watcher, actor):
        await c.wait_hello_from_server()
        await c.login(BOB, BOB_PW)
    await actor.append(message("idle-flags"), mailbox="INBOX")
    await watcher.select("INBOX")
    await actor.select("INBOX")
    idle = await watcher.idle_start(timeout=30)
    await actor.store("1", "+FLAGS", r"(\Seen \Deleted)")
    push = await watcher.wait_server_push(timeout=5)
    assert any(b"FETCH" in line and b"\\Deleted" in line for line in push), push
    await actor.expunge()
    push = await watcher.wait_server_push(timeout=5)
    assert any(line.endswith(b"EXPUNGE") for line in push), push
    watcher.idle_done()
    await asyncio.wait_for(idle, 5)
    await watcher.logout()
    await actor.logout()


def test_idle_and_authentication_timeouts(stack: Stack) -> None:
    m = session(stack)
    unauth = socket.create_connection(("127.0.0.1", stack.ports["imap"]), timeout=10)
    assert unauth.recv(4096).startswith(b"* OK")
    time.sleep(4.5)
    data = b""
    while chunk := unauth.recv(4096):  # BYE, then the server closes
        data += chunk
    assert b"* BYE" in data
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        m.noop()
        m.noop()


def test_recent_belongs_to_one_session(stack: Stack) -> None:
    a, b = session(stack), session(stack)
    a.create("R")
    a.append("R", None, None, message("r0"))
    assert a.select("R")[0] == "OK"
    assert a.response("RECENT")[1] == [b"1"]
    _, data = a.fetch("1", "(FLAGS)")
    assert b"\\Recent" in data[0]
    assert a.search(None, "NEW")[1] == [b"1"]
    b.select("R")
    assert b.response("RECENT")[1] == [b"0"]
    _, data = b.fetch("1", "(FLAGS)")
    assert b"\\Recent" not in data[0]
    a.append("R", None, None, message("r1"))  # arrives while a has R selected
    a.noop()
    _, data = a.fetch("2", "(FLAGS)")
    assert b"\\Recent" in data[0]
    assert a.status("R", "(RECENT)")[1] == [b'"R" (RECENT 0)']
    a.logout()
    b.logout()
