"""APPEND literals in flight: a large one waits on disk and is stored byte for byte; a user
announcing more than their share gets NO [LIMIT] before sending it (others are unaffected),
and a connection lost mid-literal returns its share."""

from __future__ import annotations

import imaplib
import re
import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.stack import Stack

MAX_LITERAL = 1_000_000  # the share of one user is two literals of this size
ANN, ANN_PW = "ann@example.test", "Ann-mailbox-pw1"
BEN, BEN_PW = "ben@example.test", "Ben-mailbox-pw1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(
        tmp_path_factory.mktemp("append"),
        imap={"allow_plaintext_loopback": True},
        smtp={"max_message_size": MAX_LITERAL},  # APPEND follows the message size limit
    )
    s.provision(mailboxes={ANN: ANN_PW, BEN: BEN_PW})
    s.start()
    yield s
    s.stop()


def message(subject: str, size: int) -> bytes:
    line = b"abcdefghijklmnopqrstuvwxyz0123456789" * 2 + b"\r\n"
    head = f"From: a@example.org\r\nSubject: {subject}\r\n\r\n".encode()
    body = line * ((size - len(head)) // len(line))
    return head + body + b"z" * (size - len(head) - len(body) - 2) + b"\r\n"  # exactly `size`


class Session:
    def __init__(self, stack: Stack, user: str, password: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", stack.ports["imap"]), timeout=10)
        self.buf = b""
        self.line()
        assert self.cmd(f"l LOGIN {user} {password}".encode()).startswith(b"l OK")

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def answer(self, tag: bytes) -> bytes:
        while not (line := self.line()).startswith((tag + b" ", b"+")):
            pass
        return line

    def cmd(self, text: bytes) -> bytes:
        self.sock.sendall(text + b"\r\n")
        return self.answer(text.split(b" ", 1)[0])

    def start_append(self, tag: bytes, size: int) -> bytes:
        """Announces a synchronizing literal; the server's answer ("+ ..." or a refusal)."""
        self.sock.sendall(tag + b" APPEND INBOX {%d}\r\n" % size)
        return self.answer(tag)

    def close(self) -> None:
        self.sock.close()


def log_ok(stack: Stack) -> None:
    log = stack.log()
    assert "Traceback" not in log, log[log.index("Traceback") - 300 :][:2000]


def test_a_large_append_is_stored_byte_for_byte(stack: Stack) -> None:
    raw = message("large", MAX_LITERAL - 100)
    assert len(raw) == MAX_LITERAL - 100
    m = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=10)
    m.login(BEN, BEN_PW)
    typ, data = m.append("INBOX", None, None, raw)
    assert typ == "OK", data
    uid = re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1)  # type: ignore[union-attr]
    m.select("INBOX")
    typ, got = m.uid("FETCH", uid, "(RFC822.SIZE BODYSTRUCTURE BODY.PEEK[])")
    assert typ == "OK"
    assert got[0][1] == raw  # type: ignore[index]
    meta = got[0][0]  # type: ignore[index]
    assert b"RFC822.SIZE %d" % len(raw) in meta
    body = raw[raw.index(b"\r\n\r\n") + 4 :]
    assert b" %d %d" % (len(body), body.count(b"\n")) in meta  # body size and lines
    m.logout()
    log_ok(stack)


def test_one_users_share_is_refused_before_upload(stack: Stack) -> None:
    size = MAX_LITERAL - 10
    first, second, third = (Session(stack, ANN, ANN_PW) for _ in range(3))
    other = Session(stack, BEN, BEN_PW)
    try:
        assert first.start_append(b"a", size).startswith(b"+")
        first.sock.sendall(message("first", size)[: size // 2])  # then stalls
        assert second.start_append(b"b", size).startswith(b"+")
        refused = third.start_append(b"c", size)
        assert refused.startswith(b"c NO [LIMIT]"), refused
        assert other.start_append(b"d", size).startswith(b"+")  # another user: not affected
        other.sock.sendall(message("other", size)[:size] + b"\r\n")
        assert other.answer(b"d").startswith(b"d OK")
        first.sock.sendall(message("first", size)[size // 2 : size] + b"\r\n")
        assert first.answer(b"a").startswith(b"a OK")
        assert third.start_append(b"e", size).startswith(b"+")  # a share came back
        third.sock.sendall(message("third", size)[:size] + b"\r\n")
        assert third.answer(b"e").startswith(b"e OK")
        second.sock.sendall(message("second", size)[:size] + b"\r\n")
        assert second.answer(b"b").startswith(b"b OK")
        assert third.cmd(b"f NOOP").startswith(b"f OK")  # the refused session goes on
    finally:
        for s in (first, second, third, other):
            s.close()
    log_ok(stack)


def test_a_connection_lost_mid_literal_returns_its_share(stack: Stack) -> None:
    size = MAX_LITERAL - 10
    for _ in range(2):
        gone = Session(stack, ANN, ANN_PW)
        assert gone.start_append(b"a", size).startswith(b"+")
        gone.sock.sendall(b"x" * 1000)
        gone.close()
    deadline = time.monotonic() + 10
    while True:  # both shares come back once the server saw the connections go
        sessions = [Session(stack, ANN, ANN_PW) for _ in range(2)]
        answers = [s.start_append(b"t", size) for s in sessions]
        for s in sessions:
            s.close()
        if all(a.startswith(b"+") for a in answers):
            break
        assert time.monotonic() < deadline, answers
    log_ok(stack)
