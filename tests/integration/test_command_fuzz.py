"""Mutated SMTP and IMAP command lines against the running server: every line gets a reply,
no reply says "local error" or "internal server error", the server log shows no traceback,
and a well-behaved client still works afterwards. Plus the inputs that fuzzing found
(SEARCH dates out of range, folder names too long for the file system) as real-client tests.
"""

from __future__ import annotations

import imaplib
import re
import smtplib
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.stack import Stack

BOB, BOB_PW = "bob@example.test", "bob-Mailbox-pw1"
TIMEOUT = 10

SMTP_SEEDS = [
    b"EHLO fuzz.example",
    b"HELO fuzz.example",
    b"MAIL FROM:<a@example.org>",
    b"MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME",
    b'MAIL FROM:<"quoted local"@example.org>',
    b"MAIL FROM:<>",
    b"RCPT TO:<bob@example.test>",
    b"RCPT TO:<@route.example:bob@example.test>",
    b"RCPT TO:<bob%example.test@example.test>",
    b"DATA",
    b"RSET",
    b"NOOP",
    b"VRFY bob",
    b"EXPN list",
    b"HELP",
    b"AUTH PLAIN AGJvYgBwdw==",
    b"STARTTLS",
]
IMAP_SEEDS = [
    b"a SEARCH SINCE 1-Jan-2020",
    b"a SEARCH OR FROM alice SUBJECT (hello) NOT DELETED",
    b"a UID SEARCH 1:* SENTBEFORE 1-Feb-1994 LARGER 10",
    b"a FETCH 1:* (FLAGS ENVELOPE BODY.PEEK[HEADER.FIELDS (From)]<0.10>)",
    b"a UID FETCH 1:* (BODYSTRUCTURE RFC822.SIZE INTERNALDATE)",
    b"a STORE 1 +FLAGS (\\Seen $Junk)",
    b'a CREATE "x/y"',
    b"a RENAME x z",
    b"a DELETE z",
    b'a LIST "" *',
    b"a STATUS INBOX (MESSAGES UIDNEXT UNSEEN)",
    b"a SELECT INBOX (CONDSTORE)",
    b'a EXAMINE "Sent"',
    b"a COPY 1 Trash",
    b"a UID MOVE 1:* Archive",
    b"a EXPUNGE",
    b"a NOOP",
    b"a GETQUOTAROOT INBOX",
    b'a ID ("name" "fuzz")',
    b"a ENABLE CONDSTORE",
    b"a SUBSCRIBE Sent",
    b'a LSUB "" "*"',
    b"a NAMESPACE",
    b"a APPEND INBOX (\\Seen) {12}",
]
ALPHABET = b'<>"\\()[]{}*%:.,;@=+- 0123456789aZ\x00\x7f\xff\t'
# A fuzzing dictionary: fragments that stress parsers (open brackets, quotes, escapes, huge
# numbers, non-ASCII digits and letters, literals).
INTERESTING = [
    b"\xc3\xa9",
    b"\xc2\xb2",
    b"9" * 25,
    b"a" * 300,
    b"<",
    b'"',
    b"\\@[",
    b"<@[ ",
    b"(",
    b"{99999999}",
    b"{3}",
    b"-0",
    b"%",
    b"*",
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    line = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.integers(0, 7))
        at = draw(st.integers(0, len(line)))
        if op == 5:  # cut the line short: `MAIL FROM:<`
            del line[at:]
        elif op == 7:  # a fragment in place of what follows a separator
            cuts = [m.end() for m in re.finditer(rb"[ :=(\[-]", line)]
            if cuts:
                line[draw(st.sampled_from(cuts)) :] = draw(st.sampled_from(INTERESTING))
        elif op == 6:  # a number out of every range: years, UIDs, sizes
            digits = [m.span() for m in re.finditer(rb"\d+", line)]
            if digits:
                lo, hi = draw(st.sampled_from(digits))
                line[lo:hi] = draw(st.sampled_from([b"0", b"9" * 25, b"-1", b"4294967296"]))
        elif op == 0:
            line[at:at] = bytes([draw(st.sampled_from(ALPHABET))])
        elif op == 1:
            line[at : at + draw(st.integers(1, 8))] = b""
        elif op == 2:
            line[at:at] = draw(st.sampled_from(INTERESTING))
        elif op == 3:
            line[at:at] = line[at : at + draw(st.integers(1, 12))]
        else:
            line[at : at + 1] = line[at : at + 1].swapcase()
    return bytes(line).replace(b"\r", b"").replace(b"\n", b"")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(
        tmp_path_factory.mktemp("fuzz"),
        imap={"allow_plaintext_loopback": True},
        smtp={"max_connections_per_address": 100},
    )
    s.provision(mailboxes={BOB: BOB_PW})
    s.start()
    with smtplib.SMTP("127.0.0.1", s.ports["smtp_mx"], timeout=TIMEOUT) as c:
        c.sendmail(
            "alice@example.org",
            [BOB],
            b"From: alice@example.org\r\nSubject: hello\r\nDate: 1 Jan 99999 00:00:00 +0000\r\n\r\nhi\r\n",
        )
    yield s
    s.stop()


def assert_clean_log(stack: Stack) -> None:
    log = stack.log()
    assert "Traceback" not in log, log[log.index("Traceback") - 300 :][:3000]


class Lines:
    """A socket read line by line."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()


def smtp_reply(conn: Lines) -> bytes:
    while True:
        line = conn.line()
        assert re.match(rb"[2345]\d\d[ -]", line), line
        if line[3:4] == b" ":
            return line


def good_clients_still_work(stack: Stack, n: int) -> None:
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=TIMEOUT) as c:
        c.sendmail("a@example.org", [BOB], f"Subject: after fuzz {n}\r\n\r\nok\r\n".encode())
    m = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=TIMEOUT)
    m.login(BOB, BOB_PW)
    typ, data = m.select("INBOX")
    assert typ == "OK"
    typ, data = m.search(None, "SUBJECT", f'"after fuzz {n}"')
    assert typ == "OK" and data[0], data
    m.logout()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(mutated(SMTP_SEEDS), min_size=1, max_size=6))
@example([b"MAIL FROM:<", b'MAIL FROM:"', b"RCPT TO:<@[ ", b"MAIL FROM:<a@b> SIZE=\xc2\xb2"])
@example([b"FOO"] * 12)  # unknown commands past aiosmtpd's own limit: each still answered
def test_smtp_mutated_commands(stack: Stack, lines: list[bytes]) -> None:
    conn = Lines(stack.ports["smtp_mx"])
    try:
        assert smtp_reply(conn).startswith(b"220")
        smtp_reply_to(conn, b"EHLO fuzz.example")
        for line in lines:
            reply = smtp_reply_to(conn, line)
            assert not reply.startswith(b"451"), (line, reply)
            if reply.startswith(b"354"):
                reply = smtp_reply_to(conn, b"Subject: fuzz\r\n\r\nbody\r\n.")
                assert not reply.startswith(b"451"), reply
            if reply.startswith((b"421", b"221")) or line.upper().startswith(b"STARTTLS"):
                break  # the session ended (or wants a TLS handshake we do not fuzz here)
    finally:
        conn.close()
    assert_clean_log(stack)


def smtp_reply_to(conn: Lines, line: bytes) -> bytes:
    conn.send(line + b"\r\n")
    return smtp_reply(conn)


def imap_response(conn: Lines) -> bytes:
    """One response line, with the bytes of any literals in it skipped."""
    line = conn.line()
    while (literal := re.search(rb"\{(\d+)\}$", line)) is not None:
        need = int(literal.group(1))
        while len(conn.buf) < need:
            chunk = conn.sock.recv(65536)
            if not chunk:
                raise EOFError(conn.buf)
            conn.buf += chunk
        conn.buf = conn.buf[need:]
        line = line[: literal.start()] + b"<literal>" + conn.line()
    return line


def imap_answer(conn: Lines, tag: bytes) -> bytes:
    """The tagged answer (or a continuation request) to the command tagged `tag`."""
    while True:
        line = imap_response(conn)
        if line.startswith(tag + b" ") or line.startswith(b"+"):
            return line
        assert line.startswith(b"* "), line


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(mutated(IMAP_SEEDS), min_size=1, max_size=6))
@example([b"a SEARCH SINCE 1-Jan-" + b"9" * 25, b"a SEARCH SENTSINCE 1-Jan-2000"])
@example([b"a CREATE " + b"a" * 300, b"a RENAME INBOX " + b"\xc3\xa9" * 100])
def test_imap_mutated_commands(stack: Stack, lines: list[bytes]) -> None:
    conn = Lines(stack.ports["imap"])
    try:
        assert conn.line().startswith(b"* OK")
        conn.send(b"l LOGIN " + BOB.encode() + b" " + BOB_PW.encode() + b"\r\n")
        assert imap_answer(conn, b"l").startswith(b"l OK")
        conn.send(b"s SELECT INBOX\r\n")
        assert imap_answer(conn, b"s").startswith(b"s OK")
        for i, line in enumerate(lines):
            tag = b"t%d" % i
            conn.send(tag + b" " + line.split(b" ", 1)[-1] + b"\r\n")
            answer = imap_answer(conn, tag)
            if answer.startswith(b"+"):
                literal = re.search(rb"\{(\d+)\}$", line)
                size = int(literal.group(1)) if literal else 0
                conn.send(b"x" * size + b"\r\n" if literal else b"DONE\r\n")
                answer = imap_answer(conn, tag)
            assert b"Internal server error" not in answer, (line, answer)
            assert re.match(rb"t\d+ (OK|NO|BAD)", answer), (line, answer)
    except EOFError as closed:  # a refused non-synchronizing literal ends the connection
        assert b"BYE" in closed.args[0] or b"{" in b"".join(lines), closed
    finally:
        conn.close()
    assert_clean_log(stack)


def test_good_clients_still_work_after_fuzzing(stack: Stack) -> None:
    good_clients_still_work(stack, 1)
    assert_clean_log(stack)


# -- what fuzzing found, as real-client tests (also kept above as @example seeds) --------------------------------------------------


def imap_login(stack: Stack) -> imaplib.IMAP4:
    m = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=TIMEOUT)
    m.login(BOB, BOB_PW)
    return m


@pytest.mark.parametrize(
    "date",
    ["1-Jan-99999", "1-Jan-0", "1-Jan-99999999999999999999", "99999999999999999999-Jan-2000"],
)
def test_search_dates_out_of_range_are_bad(stack: Stack, date: str) -> None:
    m = imap_login(stack)
    m.select("INBOX")
    for key in ("SINCE", "SENTBEFORE"):
        with pytest.raises(imaplib.IMAP4.error, match="bad date"):
            m.search(None, key, date)
    typ, data = m.search(None, "SENTSINCE", "1-Jan-2000")  # a stored Date: in year 99999
    assert typ == "OK"
    m.logout()
    assert_clean_log(stack)


def test_folder_names_too_long_for_disk_are_refused(stack: Stack) -> None:
    m = imap_login(stack)
    long_name = "&AOk-" * 100  # modified UTF-7: 100 x "é", 600 bytes once escaped on disk
    typ, data = m.create(long_name)
    assert typ == "NO" and data[0].startswith(b"[LIMIT]"), data
    typ, data = m.create("a" * 300)
    assert typ == "NO" and data[0].startswith(b"[LIMIT]"), data
    assert m.create("Parent/" + "c" * 200)[0] == "OK"
    typ, data = m.rename("Parent", "P" * 60)
    assert typ == "NO" and data[0].startswith(b"[LIMIT]"), data
    typ, data = m.list()
    names = b"\n".join(data)
    assert b"Parent/" + b"c" * 200 in names and b"P" * 60 not in names
    assert m.rename("Parent", "Q")[0] == "OK"
    m.logout()
    assert_clean_log(stack)
