"""COMPRESS=DEFLATE (RFC 4978) against the running stack, with a client that wraps its socket in
raw deflate (no Debian client speaks COMPRESS: isync 1.4 does not): plaintext loopback,
STARTTLS and implicit TLS; every response arrives without the client sending more (IDLE
included); a second COMPRESS is NO [COMPRESSIONACTIVE]; a decompression bomb closes that
connection without growing the server's memory, and the other clients are still served."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.imap_raw import RawImap
from tests.support.stack import Stack

USER, PW = "zippy@example.test", "zippy-mailbox-pw"


@pytest.fixture(scope="module")
def stack(imap_stack: Stack) -> Stack:
    """The shared running stack (tests/integration/conftest.py) with this module's mailboxes."""
    imap_stack.add_mailboxes({USER: PW})
    return imap_stack


class ZImap(RawImap):
    """RawImap over any socket, deflating both ways once `compress()` succeeded."""

    def __init__(self, sock: socket.socket) -> None:  # not RawImap's: it connects itself
        self.sock = sock
        self.buf = b""
        self._n = 0
        self._out: zlib._Compress | None = None
        self._in: zlib._Decompress | None = None
        self.greeting = self.line()

    def compress(self) -> None:
        self.ok("COMPRESS DEFLATE")
        self._out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self._in = zlib.decompressobj(-15)

    def send(self, data: bytes) -> None:
        if self._out is not None:
            data = self._out.compress(data) + self._out.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(self.buf)
        self.buf += self._in.decompress(chunk) if self._in is not None else chunk


def tls_context(stack: Stack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.ca_file))


def plain(stack: Stack) -> ZImap:
    return ZImap(socket.create_connection(("127.0.0.1", stack.ports["imap"]), timeout=10))


def starttls(stack: Stack) -> ZImap:
    c = plain(stack)
    c.ok("STARTTLS")
    c.sock = tls_context(stack).wrap_socket(c.sock, server_hostname="127.0.0.1")
    return c


def implicit_tls(stack: Stack) -> ZImap:
    sock = socket.create_connection(("127.0.0.1", stack.ports["imaps"]), timeout=10)
    return ZImap(tls_context(stack).wrap_socket(sock, server_hostname="127.0.0.1"))


def message(n: int) -> bytes:
    return (f"From: a@example.org\r\nSubject: zipped {n}\r\n\r\n" + f"line {n}\r\n" * 200).encode()


@pytest.mark.parametrize("connect", [plain, starttls, implicit_tls])
def test_commands_and_responses_go_deflated(stack: Stack, connect: object) -> None:
    c = connect(stack)  # type: ignore[operator]
    assert b"COMPRESS=DEFLATE" not in b"".join(c.ok("CAPABILITY"))  # only once logged in
    c.login(USER, PW)
    assert b"COMPRESS=DEFLATE" in b"".join(c.ok("CAPABILITY"))
    c.compress()
    (caps,) = c.ok("CAPABILITY")
    assert b"COMPRESS=DEFLATE" not in caps and b"IMAP4rev1" in caps
    lines = c.cmd("COMPRESS DEFLATE")
    assert lines[-1].split(b" ")[1:3] == [b"NO", b"[COMPRESSIONACTIVE]"]
    name = f"z{connect.__name__}"  # type: ignore[attr-defined]
    c.ok(f"CREATE {name}")
    tag = c.tag()  # a synchronizing literal: the continuation must arrive deflated too
    body = message(0)
    c.send(tag + f" APPEND {name} {{{len(body)}}}\r\n".encode())
    assert c.line().startswith(b"+ ")
    c.send(body + b"\r\n")
    assert c.until(tag)[-1].split(b" ")[1] == b"OK"
    for n in range(1, 25):
        c.append(name, message(n))
    c.ok(f"SELECT {name}")
    fetched = c.ok("FETCH 1:* (BODY.PEEK[])")  # over 20 bodies: the streaming path
    assert [line.split(b"}\r\n", 1)[1][:-1] for line in fetched] == [message(n) for n in range(25)]
    c.ok("LOGOUT")
    c.close()


def test_idle_updates_arrive_without_client_input(stack: Stack) -> None:
    c = plain(stack)
    c.login(USER, PW)
    c.compress()
    c.ok("CREATE zidle")
    c.ok("SELECT zidle")
    c.send(b"i1 IDLE\r\n")
    assert c.line().startswith(b"+ ")
    other = RawImap(stack.ports["imap"])
    other.login(USER, PW)
    other.append("zidle", message(1))
    assert c.line() == b"* 1 EXISTS"  # flushed at once, not held in the compressor
    c.send(b"DONE\r\n")
    assert c.until(b"i1")[-1].startswith(b"i1 OK")
    other.close()
    c.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_decompression_bomb_closes_the_connection_not_the_server(stack: Stack) -> None:
    assert stack.proc is not None
    bystander = RawImap(stack.ports["imap"])
    bystander.login(USER, PW)
    c = plain(stack)
    c.login(USER, PW)
    c.compress()
    before = rss_kib(stack.proc.pid)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = bytearray(deflate.compress(b"b1 NOOP "))
    zeros = b"A" * (1 << 20)
    for _ in range(64):  # 64 MiB of one line, about 64 KiB on the wire
        bomb += deflate.compress(zeros)
    bomb += deflate.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 1 << 17
    with contextlib.suppress(OSError):  # the server may close before it read everything
        c.sock.sendall(bomb)
    lines = []
    with pytest.raises((EOFError, OSError)):
        while True:
            lines.append(c.line())
    assert lines[:2] == [b"b1 BAD Command line too long", b"* BYE closing connection"]
    assert rss_kib(stack.proc.pid) - before < 64 * 1024
    bystander.ok("NOOP")  # everyone else is still served
    bystander.close()


def test_corrupt_stream_ends_the_session_cleanly(stack: Stack) -> None:
    c = plain(stack)
    c.login(USER, PW)
    c.ok("COMPRESS DEFLATE")
    c.sock.sendall(b"\xff\xff\xff\xff not deflate at all")
    data = b""
    while chunk := c.sock.recv(65536):
        data += chunk
    assert zlib.decompressobj(-15).decompress(data) == b"* BYE corrupt DEFLATE stream\r\n"
    c.close()


def client_round(stack: Stack, n: int) -> tuple[int, int]:
    """One client of fifty: literal8, CATENATE (good and bad URL), NUL in a plain literal,
    BINARY back; every other one compressed. Returns the two UIDs it stored."""
    c = plain(stack)
    c.login(USER, PW)
    if n % 2:
        c.compress()
    blob = bytes([n]) + b"\0" + bytes(range(256))
    msg = (
        f"Subject: client {n}\r\nContent-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: binary\r\n\r\n"
    ).encode() + blob
    lines = c.cmd(f"APPEND z50 ~{{{len(msg)}+}}\r\n".encode() + msg)
    m = re.search(rb"APPENDUID (\d+) (\d+)", lines[-1])
    assert m is not None, lines
    uid = int(m.group(2))
    bad = c.cmd(f'APPEND z50 CATENATE (URL "/z50;UIDVALIDITY=1/;UID={uid}")')
    assert bad[-1].split(b" ")[1:3] == [b"NO", b"[BADURL"]
    nul = b"Subject: x\r\n\r\n\0\r\n"
    assert c.cmd(f"APPEND z50 {{{len(nul)}+}}\r\n".encode() + nul)[-1].split(b" ")[1] == b"BAD"
    text = f"\r\nfrom client {n}\r\n".encode()
    lines = c.cmd(
        f'APPEND z50 CATENATE (URL "/z50/;UID={uid}/;SECTION=HEADER" TEXT {{{len(text)}+}}\r\n'.encode()
        + text
        + b")"
    )
    m2 = re.search(rb"APPENDUID (\d+) (\d+)", lines[-1])
    assert m2 is not None, lines
    c.ok("EXAMINE z50")
    lines = c.ok(f"UID FETCH {uid} (BINARY.PEEK[1])")  # others' EXISTS may come along
    (line,) = [x for x in lines if b" FETCH (" in x]
    assert line.endswith(b"~{%d}\r\n" % len(blob) + blob + b")")
    c.ok("LOGOUT")
    c.close()
    return uid, int(m2.group(2))


def test_fifty_clients_at_once(stack: Stack) -> None:
    first = plain(stack)
    first.login(USER, PW)
    first.ok("CREATE z50")
    with ThreadPoolExecutor(max_workers=50) as pool:
        uids = list(pool.map(lambda n: client_round(stack, n), range(50)))
    stored = {u for pair in uids for u in pair}
    assert len(stored) == 100
    (status,) = first.ok("STATUS z50 (MESSAGES)")
    assert status.endswith(b"(MESSAGES 100)")  # nothing refused was stored, nothing lost
    first.close()
