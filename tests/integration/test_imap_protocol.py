"""IMAP against the running stack with imaplib: login rules, TLS, folders, messages, the
extensions we advertise, and bad input. One stack for the module (it starts in ~1 s)."""

from __future__ import annotations

import base64
import imaplib
import re
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import Stack

BOB, BOB_PW = "bob@example.test", "bob-mailbox-pw"
CAROL, CAROL_PW = "carol@example.test", "carol-mailbox-pw"
QUOTA, QUOTA_PW = "q@example.test", "quota-mailbox-pw"
ACCOUNT_PW = "bob-account-pw1"

MULTIPART = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: bob@example.test\r\n"
    b"Subject: multipart test\r\n"
    b"Message-ID: <m1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="XX"\r\n'
    b"\r\n"
    b"preamble\r\n"
    b"--XX\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"first part\r\n"
    b"--XX\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAw==\r\n"
    b"--XX--\r\n"
)


def simple(subject: str, body: str = "hello") -> bytes:
    return (
        f"From: a@example.org\r\nTo: {BOB}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\n{body}\r\n"
    ).encode()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("imap"), smtp={"max_message_size": 200_000})
    s.provision(mailboxes={BOB: BOB_PW, CAROL: CAROL_PW}, accounts={BOB: ACCOUNT_PW})
    s.cli("mailbox", "add", QUOTA, "--quota", "3000", "--password-stdin", stdin=QUOTA_PW + "\n")
    s.cli("mailbox", "grant", CAROL, BOB, check=True)
    s.start()
    yield s
    s.stop()


def tls(stack: Stack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.ca_file))


def login(stack: Stack, user: str = BOB, pw: str = BOB_PW) -> imaplib.IMAP4_SSL:
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls(stack), timeout=10)
    m.login(user, pw)
    return m


class Raw:
    """A line-level client for what imaplib hides."""

    def __init__(self, stack: Stack, secure: bool = False) -> None:
        port = stack.ports["imaps" if secure else "imap"]
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock: socket.socket | ssl.SSLSocket = (
            tls(stack).wrap_socket(sock, server_hostname="localhost") if secure else sock
        )
        self.buf = b""
        self.greeting = self.line()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def until(self, tag: bytes) -> list[bytes]:
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def cmd(self, text: bytes) -> list[bytes]:
        tag = text.split(b" ", 1)[0]
        self.send(text + b"\r\n")
        return self.until(tag)

    def starttls(self, stack: Stack) -> None:
        self.sock = tls(stack).wrap_socket(self.sock, server_hostname="localhost")


# -- login rules ----------------------------------------------------------------------------


def test_cleartext_port_refuses_login_and_authenticate(stack: Stack) -> None:
    r = Raw(stack)
    assert b"LOGINDISABLED" in r.greeting and b"STARTTLS" in r.greeting
    assert b"AUTH=" not in r.greeting
    assert r.cmd(b"a LOGIN bob@example.test bob-mailbox-pw")[-1].startswith(b"a NO")
    assert r.cmd(b"b AUTHENTICATE PLAIN")[-1].startswith(b"b NO")
    assert r.cmd(b"c SELECT INBOX")[-1].startswith(b"c BAD")


def test_starttls_then_login(stack: Stack) -> None:
    m = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=10)
    m.starttls(tls(stack))
    m._get_capabilities()
    assert "AUTH=PLAIN" in m.capabilities and "LOGINDISABLED" not in m.capabilities
    assert m.login(BOB, BOB_PW)[0] == "OK"
    m.logout()


def test_starttls_discards_pipelined_commands(stack: Stack) -> None:
    r = Raw(stack)
    r.send(b"a STARTTLS\r\nb NOOP\r\n")
    assert r.line().startswith(b"a OK")
    r.buf = b""
    r.starttls(stack)
    lines = r.cmd(b"c NOOP")
    assert not any(line.startswith(b"b ") for line in lines)
    assert lines[-1].startswith(b"c OK")


def test_authenticate_plain_after_tls(stack: Stack) -> None:
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls(stack), timeout=10)
    typ, _ = m.authenticate("PLAIN", lambda _: f"\0{BOB}\0{BOB_PW}".encode())
    assert typ == "OK"
    m.logout()


def test_authenticate_with_initial_response(stack: Stack) -> None:
    r = Raw(stack, secure=True)
    assert b"SASL-IR" in r.greeting and b"AUTH=PLAIN" in r.greeting
    good = base64.b64encode(f"\0{BOB}\0{BOB_PW}".encode())
    bad = base64.b64encode(f"\0{BOB}\0{ACCOUNT_PW}".encode())
    assert r.cmd(b"a AUTHENTICATE PLAIN " + bad)[-1].startswith(b"a NO")
    assert r.cmd(b"b AUTHENTICATE PLAIN !!!")[-1].startswith(b"b BAD")
    lines = r.cmd(b"c AUTHENTICATE PLAIN " + good)
    assert lines[-1].startswith(b"c OK") and b"CAPABILITY" in lines[-1]


def test_mailbox_realm_only(stack: Stack) -> None:
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls(stack), timeout=10)
    with pytest.raises(imaplib.IMAP4.error):
        m.login(BOB, ACCOUNT_PW)  # the account password of the same string
    m.logout()


def test_grant_changes_nothing(stack: Stack) -> None:
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls(stack), timeout=10)
    with pytest.raises(imaplib.IMAP4.error):
        m.login(CAROL, ACCOUNT_PW)  # bob's account was granted carol's address
    m.logout()
    m = login(stack, CAROL, CAROL_PW)
    m.logout()


def test_id_and_namespace(stack: Stack) -> None:
    r = Raw(stack, secure=True)
    lines = r.cmd(b'a ID ("name" "pytest")')
    assert lines[0].startswith(b'* ID ("name" "swissbox"') and lines[-1].startswith(b"a OK")
    r.cmd(f"b LOGIN {BOB} {BOB_PW}".encode())
    # bob's account holds a grant on carol's address: her folders are a shared namespace
    assert r.cmd(b"c NAMESPACE")[0] == b'* NAMESPACE (("" "/")) NIL (("Shared Folders/" "/"))'
    r = Raw(stack, secure=True)
    r.cmd(f"b LOGIN {CAROL} {CAROL_PW}".encode())
    assert r.cmd(b"c NAMESPACE")[0] == b'* NAMESPACE (("" "/")) NIL NIL'


# -- folders --------------------------------------------------------------------------------


def test_special_use_folders_and_hierarchy(stack: Stack) -> None:
    m = login(stack)
    _, listing = m.list()
    text = b"\n".join(x for x in listing if isinstance(x, bytes))
    for name, use in [
        (b"Sent", b"\\Sent"),
        (b"Drafts", b"\\Drafts"),
        (b"Trash", b"\\Trash"),
        (b"Junk", b"\\Junk"),
        (b"Archive", b"\\Archive"),
    ]:
        assert re.search(rb"\(.*" + re.escape(use) + rb'.*\) "/" "' + name + b'"', text), text
    assert m.create("Projects/2024")[0] == "OK"
    _, listing = m.list('""', "Projects*")
    assert b'(\\HasChildren) "/" "Projects"' in listing
    assert m.rename("Projects/2024", "Projects/Old")[0] == "OK"
    assert m.subscribe("Projects/Old")[0] == "OK"
    assert m.unsubscribe("Projects")[0] == "OK"
    _, lsub = m.lsub('""', "Projects*")
    assert lsub == [b'(\\HasNoChildren) "/" "Projects/Old"']
    assert m.delete("Projects")[0] == "NO"  # has children
    assert m.delete("Projects/Old")[0] == "OK"
    assert m.delete("Projects")[0] == "OK"
    assert m.create("Entw&APw-rfe")[0] == "OK"  # modified UTF-7 for "Entwürfe"
    _, listing = m.list('""', "Entw*")
    assert listing == [b'(\\HasNoChildren) "/" "Entw&APw-rfe"']
    m.logout()


# -- messages -------------------------------------------------------------------------------


def test_append_fetch_sections(stack: Stack) -> None:
    m = login(stack)
    m.create("T1")
    typ, data = m.append("T1", r"(\Flagged)", imaplib.Time2Internaldate(1700000000), MULTIPART)
    assert typ == "OK" and re.match(rb"\[APPENDUID \d+ 1\]", data[0]), data
    m.select("T1")
    typ, data = m.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE BODYSTRUCTURE)")
    head = data[0]
    assert b"\\Flagged" in head and b"14-Nov-2023" in head
    assert b"RFC822.SIZE %d" % len(MULTIPART) in head
    assert b'("TEXT" "PLAIN" ("CHARSET" "utf-8")' in head and b'"MIXED"' in head
    _, data = m.fetch("1", "(BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[]<0.4>)")
    flat = b"".join(x[1] if isinstance(x, tuple) else b"" for x in data)
    assert b"first part" in flat and b"application/octet-stream" in flat and b"From" in flat
    _, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (Subject)])")
    assert data[0][1] == b"Subject: multipart test\r\n\r\n"
    _, data = m.fetch("1", "(BODY[]<0.10>)")  # partial, not the whole body
    assert data[0][1] == MULTIPART[:10]
    _, data = m.fetch("1", "(FLAGS)")
    assert b"\\Seen" in data[0]  # BODY[] (not PEEK) set \Seen
    _, data = m.fetch("1", "(RFC822)")
    assert data[0][1] == MULTIPART
    m.logout()


def test_large_append_under_and_over_the_limit(stack: Stack) -> None:
    m = login(stack)
    big = simple("big", "y" * 150_000)
    typ, _ = m.append("INBOX", None, None, big)
    assert typ == "OK"
    m.select("INBOX")
    _, data = m.uid("SEARCH", "SUBJECT", "big")
    uid = data[0].split()[-1]
    _, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
    assert data[0][1] == big
    typ, data = m.append("INBOX", None, None, simple("huge", "z" * 250_000))
    assert typ == "NO" and b"TOOBIG" in data[0]
    assert m.noop()[0] == "OK"
    m.logout()


def test_search(stack: Stack) -> None:
    m = login(stack)
    m.create("S")
    for i in range(5):
        m.append("S", r"(\Seen)" if i % 2 else None, None, simple(f"topic-{i}", f"word{i}"))
    m.select("S")
    assert m.uid("SEARCH", "HEADER", "Subject", "topic-3")[1] == [b"4"]
    assert m.search(None, "SUBJECT", "TOPIC-1")[1] == [b"2"]
    assert m.search(None, "UNSEEN")[1] == [b"1 3 5"]
    assert m.search(None, "NOT", "SEEN", "BODY", "word4")[1] == [b"5"]
    assert m.search(None, "OR", "FROM", "nobody", "TO", "bob")[1] == [b"1 2 3 4 5"]
    assert m.search(None, "SUBJECT", "absent")[1] == [b""]  # an empty `* SEARCH` is sent
    assert m.search(None, "SENTON", "2-Jan-2023", "UID", "2:3")[1] == [b"2 3"]
    assert m.search(None, "KEYWORD", "$Junk")[1] == [b""]
    m.store("1", "+FLAGS", "($Junk)")
    assert m.search(None, "KEYWORD", "$Junk")[1] == [b"1"]
    m.logout()


def test_copy_move_expunge_uidplus(stack: Stack) -> None:
    m = login(stack)
    m.create("M1")
    m.create("M2")
    for i in range(4):
        m.append("M1", None, None, simple(f"m{i}"))
    m.select("M1")
    typ, data = m.uid("COPY", "1:2", "M2")
    assert typ == "OK" and re.fullmatch(rb"\d+ 1:2 1,2", m.response("COPYUID")[1][0])
    typ, data = m.uid("MOVE", "3", "M2")
    assert typ == "OK"
    assert m.response("EXPUNGE")[1] == [b"3"]
    m.uid("STORE", "1,4", "+FLAGS.SILENT", r"(\Deleted)")
    typ, data = m.uid("EXPUNGE", "4")
    assert typ == "OK" and m.response("EXPUNGE")[1] == [b"3"]  # only UID 4 (seq 3) goes
    typ, data = m.status("M2", "(MESSAGES UIDNEXT)")
    assert b"MESSAGES 3 UIDNEXT 4" in data[0]
    assert m.copy("1", "Nope")[0] == "NO"
    assert b"TRYCREATE" in m.copy("1", "Nope")[1][0]
    m.unselect()
    m.select("M1")
    _, data = m.fetch("1:*", "(UID FLAGS)")
    assert len(data) == 2 and b"\\Deleted" in data[0]  # UNSELECT did not expunge
    m.close()  # CLOSE does
    m.select("M1")
    _, data = m.fetch("1:*", "(UID)")
    assert data == [b"1 (UID 2)"]
    m.logout()


def test_condstore(stack: Stack) -> None:
    r = Raw(stack, secure=True)
    r.cmd(f"a LOGIN {BOB} {BOB_PW}".encode())
    r.cmd(b"b CREATE C")
    for i in range(3):
        msg = simple(f"c{i}")
        r.send(b"c APPEND C {%d+}\r\n" % len(msg) + msg + b"\r\n")
        assert r.until(b"c")[-1].startswith(b"c OK")
    assert r.cmd(b"d ENABLE CONDSTORE")[0] == b"* ENABLED CONDSTORE"
    lines = r.cmd(b"e SELECT C")
    highest = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"\n".join(lines)).group(1))
    lines = r.cmd(b"f STORE 2 +FLAGS (\\Seen)")
    modseq = int(re.search(rb"MODSEQ \((\d+)\)", lines[0]).group(1))
    assert modseq > highest
    lines = r.cmd(b"g FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % highest)
    assert len(lines) == 2 and lines[0].startswith(b"* 2 FETCH") and b"MODSEQ" in lines[0]
    lines = r.cmd(b"h STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % highest)
    assert lines[-1].startswith(b"h OK [MODIFIED 2]")
    lines = r.cmd(b"i UID SEARCH MODSEQ %d" % (modseq + 1))
    assert re.match(rb"\* SEARCH 1 3 \(MODSEQ \d+\)", lines[0])
    lines = r.cmd(b"j STATUS C (HIGHESTMODSEQ)")
    assert b"HIGHESTMODSEQ" in lines[0]


def test_quota(stack: Stack) -> None:
    m = login(stack, QUOTA, QUOTA_PW)
    typ, data = m.capability()
    assert b"QUOTA" in data[0]
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK"
    assert m.append("INBOX", None, None, simple("small"))[0] == "OK"
    typ, data = m.append("INBOX", None, None, simple("big", "x" * 4000))
    assert typ == "NO" and b"OVERQUOTA" in data[0]
    m.logout()
    m = login(stack)
    assert b"QUOTA" not in m.capability()[1][0]
    m.logout()


# -- bad input ------------------------------------------------------------------------------


def test_bad_input_answered_and_server_keeps_serving(stack: Stack) -> None:
    r = Raw(stack, secure=True)
    r.cmd(f"a LOGIN {BOB} {BOB_PW}".encode())
    # a literal over the limit: NO, and no continuation (nothing is read)
    r.send(b"b APPEND INBOX {100000000}\r\n")
    line = r.line()
    assert line.startswith(b"b NO [TOOBIG]")
    assert r.cmd(b"c NOOP")[-1].startswith(b"c OK")
    assert r.cmd(b"d FETCH 1 (FLAGS)")[-1].startswith(b"d BAD")  # not selected
    assert r.cmd(b"e FROBNICATE")[-1].startswith(b"e BAD")
    assert r.cmd(b'f LIST "unterminated')[-1].startswith(b"f BAD")
    r.cmd(b"g SELECT INBOX")
    assert r.cmd(b"h SEARCH " + b"(" * 200 + b"ALL" + b")" * 200)[-1].startswith(b"h BAD")
    assert r.cmd(b"i FETCH 1:* (BOGUS)")[-1].startswith(b"i BAD")
    assert r.cmd(b"j STORE 1 +FLAGS (\\Bogus)")[-1].startswith(b"j BAD")
    assert r.cmd(b"k LOGIN x y")[-1].startswith(b"k BAD")  # wrong state
    # a command line that never ends: the connection is closed, memory stays bounded
    r2 = Raw(stack, secure=True)
    lines = []
    with pytest.raises((EOFError, ConnectionError, ssl.SSLError)):
        for _ in range(100):
            r2.send(b"x" * 10000)
        while True:
            lines.append(r2.line())
    assert any(b"BAD" in line for line in lines)
    # LITERAL+ over the limit: the data is on its way, so the connection ends
    r3 = Raw(stack, secure=True)
    r3.cmd(f"a LOGIN {BOB} {BOB_PW}".encode())
    r3.send(b"b APPEND INBOX {100000000+}\r\n" + b"x" * 1000)
    assert r3.line().startswith(b"b BAD [TOOBIG]")
    # IDLE ends with DONE only; anything else is BAD and ends it too
    r.cmd(b"m SELECT INBOX")
    r.send(b"n IDLE\r\n")
    assert r.line().startswith(b"+ ")
    r.send(b"o NOOP\r\n")
    assert r.until(b"n")[-1].startswith(b"n BAD")
    # the first session still works
    assert r.cmd(b"l NOOP")[-1].startswith(b"l OK")


def test_failed_logins_are_limited(stack: Stack) -> None:
    r = Raw(stack, secure=True)
    started = time.monotonic()
    for tag in (b"a", b"b"):
        assert r.cmd(tag + b" LOGIN nobody@example.test wrong")[-1].startswith(tag + b" NO")
    lines = r.cmd(b"c LOGIN nobody@example.test wrong")
    assert any(line.startswith(b"* BYE") for line in lines)
    assert time.monotonic() - started > 0.5  # each failure is delayed


def test_restore_expunged(stack: Stack, tmp_path: Path) -> None:
    m = login(stack, CAROL, CAROL_PW)
    m.append("Trash", None, None, simple("precious"))
    m.select("Trash")
    m.store("1:*", "+FLAGS", r"(\Deleted)")
    m.expunge()
    m.logout()
    result = stack.cli("mailbox", "restore", CAROL, "--since", "2020-01-01")
    assert result.returncode == 0 and "restored 1" in result.stdout, result.stderr
    m = login(stack, CAROL, CAROL_PW)
    typ, _ = m.select("Restored")
    assert typ == "OK"
    _, data = m.search(None, "SUBJECT", "precious")
    assert data == [b"1"]
    assert m.store("1", "+FLAGS", r"(\Flagged)")[0] == "OK"  # a folder made by the CLI
    m.logout()
