"""BINARY (RFC 3516) against the running stack: imaplib fetches BINARY/BINARY.SIZE (decoded,
partial, literal8 when NUL), a literal8 APPEND stores binary parts without loss, NUL in a plain
literal is BAD, an unknown encoding is NO [UNKNOWN-CTE]."""

from __future__ import annotations

import imaplib
import itertools

import pytest

from tests.support.imap_raw import RawImap
from tests.support.stack import Stack

USER, PW = "bina@example.test", "bina-mailbox-pw"
_names = itertools.count(1)
MESSAGE = (
    b"From: a@example.org\r\nSubject: parts\r\nMime-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"aGVsbG8gd29ybGQ=\r\n"
    b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"caf=C3=A9 =\r\nau lait\r\n"
    b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"AGFiAA==\r\n"
    b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
    b"begin 644 x\r\n"
    b"--b--\r\n"
)


@pytest.fixture(scope="module")
def stack(imap_stack: Stack) -> Stack:
    """The shared running stack (tests/integration/conftest.py) with this module's mailboxes."""
    imap_stack.add_mailboxes({USER: PW})
    return imap_stack


def folder_with(stack: Stack, message: bytes) -> tuple[imaplib.IMAP4, str]:
    name = f"bin{next(_names)}"
    m = imaplib.IMAP4("127.0.0.1", stack.ports["imap"])
    m.login(USER, PW)
    assert m.create(name)[0] == "OK"
    assert m.append(name, None, None, message)[0] == "OK"
    assert m.select(name)[0] == "OK"
    return m, name


def test_binary_capability_and_decoded_fetch(stack: Stack) -> None:
    m, _ = folder_with(stack, MESSAGE)
    assert "BINARY" in m.capabilities
    typ, data = m.fetch("1", "(BINARY.SIZE[1] BINARY.PEEK[1] BINARY.PEEK[2])")
    assert typ == "OK"
    head, first = data[0][0], data[0][1]
    assert b"BINARY.SIZE[1] 11" in head and first == b"hello world"
    assert data[1][1] == "café au lait".encode()
    typ, data = m.fetch("1", "(BINARY.PEEK[3] BINARY.SIZE[3])")
    assert data[0][0].endswith(b"BINARY[3] ~{4}")  # NUL: a literal8
    assert data[0][1] == b"\0ab\0" and b"BINARY.SIZE[3] 4" in data[1]
    typ, data = m.fetch("1", "(BINARY.PEEK[1]<6.100>)")
    assert data[0][0].endswith(b"BINARY[1]<6> {5}") and data[0][1] == b"world"
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Seen" not in data[0]  # PEEK and SIZE leave \Seen alone
    m.fetch("1", "(BINARY[1])")
    assert b"\\Seen" in m.fetch("1", "(FLAGS)")[1][0]
    m.logout()


def test_unknown_encoding_is_no_unknown_cte(stack: Stack) -> None:
    m, _ = folder_with(stack, MESSAGE)
    for items in ("(BINARY.PEEK[4])", "(BINARY.SIZE[4])"):
        typ, data = m.fetch("1", items)
        assert typ == "NO" and data[-1].startswith(b"[UNKNOWN-CTE]")
    assert m.fetch("1", "(BODY.PEEK[4])")[0] == "OK"  # BODY[] is not decoded: still fine
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        m.fetch("1", "(BINARY.PEEK[1.MIME])")  # section-binary is part numbers only
    assert m.noop()[0] == "OK"
    m.logout()


def test_literal8_append_keeps_binary_bytes(stack: Stack) -> None:
    payload = bytes(range(256)) + b"\0\r\n\n\r"
    message = (
        b"From: a@example.org\r\nSubject: bin\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n" + payload
    )
    c = RawImap(stack.ports["imap"])
    c.login(USER, PW)
    name = f"bin{next(_names)}"
    c.ok(f"CREATE {name}")
    tag = c.tag()
    c.send(tag + f" APPEND {name} ~{{{len(message)}}}\r\n".encode())
    assert c.line().startswith(b"+ ")
    c.send(message + b"\r\n")
    assert b"OK [APPENDUID" in c.until(tag)[-1]
    tag = c.tag()  # LITERAL+ form of literal8
    c.send(tag + f" APPEND {name} ~{{{len(message)}+}}\r\n".encode() + message + b"\r\n")
    assert b"OK [APPENDUID" in c.until(tag)[-1]
    c.ok(f"SELECT {name}")
    for seq in (1, 2):
        body = c.ok(f"FETCH {seq} (BODY.PEEK[1])")[0]
        assert b"\0" not in body  # BODY[] is a valid IMAP string: base64 now
        (line,) = c.ok(f"FETCH {seq} (BINARY.PEEK[1] BINARY.SIZE[1])")
        assert b"BINARY[1] ~{%d}\r\n" % len(payload) + payload in line
        assert line.endswith(b"BINARY.SIZE[1] %d)" % len(payload))
        (structure,) = c.ok(f"FETCH {seq} (BODYSTRUCTURE)")
        assert b'"BASE64"' in structure.upper()
    c.close()


def test_nul_in_a_plain_literal_is_bad_and_binary_headers_are_unknown_cte(stack: Stack) -> None:
    c = RawImap(stack.ports["imap"])
    c.login(USER, PW)
    name = f"bin{next(_names)}"
    c.ok(f"CREATE {name}")
    message = b"Subject: x\r\n\r\nnul \0 here\r\n"
    lines = c.cmd(f"APPEND {name} {{{len(message)}+}}\r\n".encode() + message)
    assert lines[-1].split(b" ")[1] == b"BAD" and b"literal8" in lines[-1]
    message = b"Subject: x\0y\r\n\r\nbody\r\n"
    lines = c.cmd(f"APPEND {name} ~{{{len(message)}+}}\r\n".encode() + message)
    assert lines[-1].split(b" ")[1:3] == [b"NO", b"[UNKNOWN-CTE]"]
    lines = c.cmd(b"SEARCH TEXT ~{3+}\r\nabc")  # literal8 only in APPEND
    assert lines[-1].split(b" ")[1] == b"BAD"
    (status,) = c.ok(f"STATUS {name} (MESSAGES)")
    assert status.endswith(b"(MESSAGES 0)")  # nothing refused was stored
    c.ok("NOOP")
    c.close()


def test_literal8_without_binary_data_is_stored_as_sent(stack: Stack) -> None:
    c = RawImap(stack.ports["imap"])
    c.login(USER, PW)
    name = f"bin{next(_names)}"
    c.ok(f"CREATE {name}")
    message = "Subject: plain\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ncafé\r\n".encode()
    lines = c.cmd(f"APPEND {name} ~{{{len(message)}+}}\r\n".encode() + message)
    assert lines[-1].split(b" ")[1] == b"OK", lines
    c.ok(f"EXAMINE {name}")
    (line,) = c.ok("FETCH 1 (BODY.PEEK[])")
    assert line.endswith(b"{%d}\r\n" % len(message) + message + b")")  # not re-encoded
    c.close()
