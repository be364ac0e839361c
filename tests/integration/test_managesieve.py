"""ManageSieve (RFC 5804) with real clients: sieve-connect uploads and activates a script over
STARTTLS and the script then files `user+news@` mail into `news`; a raw client walks every
command; fifty clients at once, right and wrong input mixed."""

from __future__ import annotations

import base64
import imaplib
import os
import smtplib
import socket
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.support.polling import eventually
from tests.support.stack import Stack

PW = "Mailbox-pw-123"
NEWS = 'require ["envelope", "subaddress", "fileinto", "mailbox"];\nif envelope :detail "to" "news" { fileinto :create "news"; }\n'


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("managesieve"), hostname="mx.example.test")
    s.settings["managesieve"]["max_connections_per_address"] = 100  # fifty clients at once
    s.provision(mailboxes={"ann@example.test": PW, "bob@example.test": PW, "cyd@example.test": PW})
    s.start()
    yield s
    s.stop()


class Client:
    """A minimal ManageSieve client over a socket (STARTTLS, AUTHENTICATE PLAIN)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection(
            ("127.0.0.1", stack.ports["managesieve"]), timeout=10
        )
        self.file = self.sock.makefile("rb")
        self.greeting = self.until_done()

    def until_done(self) -> list[bytes]:
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("closed")
            lines.append(line)
            if line.startswith((b"OK", b"NO", b"BYE")):
                return lines
            if line.rstrip().endswith(b"}") and line.startswith(b"{"):
                size = int(line.strip()[1:-1])
                lines.append(self.file.read(size))

    def send(self, data: bytes) -> list[bytes]:
        self.sock.sendall(data)
        return self.until_done()

    def starttls(self) -> list[bytes]:
        assert self.send(b"STARTTLS\r\n")[-1].startswith(b"OK")
        ctx = ssl.create_default_context(cafile=str(self.stack.ca_file))
        self.sock = ctx.wrap_socket(self.sock, server_hostname="mx.example.test")
        self.file = self.sock.makefile("rb")
        return self.until_done()

    def login(self, user: str, password: str = PW) -> list[bytes]:
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        return self.send(f'AUTHENTICATE "PLAIN" "{token}"\r\n'.encode())

    def close(self) -> None:
        self.sock.close()


def test_greeting_offers_starttls_and_no_plain_auth_before_it(stack: Stack) -> None:
    c = Client(stack)
    text = b"".join(c.greeting)
    assert b'"STARTTLS"' in text and b'"SIEVE"' in text and b"vacation" in text
    assert b'"SASL" ""' in text
    assert c.login("ann@example.test")[-1].startswith(b"NO (ENCRYPT-NEEDED)")
    after = b"".join(c.starttls())
    assert b'"SASL" "PLAIN"' in after and b"STARTTLS" not in after
    assert c.login("ann@example.test", "wrong")[-1].startswith(b"NO")
    assert c.login("ann@example.test")[-1].startswith(b"OK")
    c.close()


def test_every_command(stack: Stack) -> None:
    c = Client(stack)
    c.starttls()
    assert c.send(b"LISTSCRIPTS\r\n")[-1].startswith(b"NO")  # not yet authenticated
    c.login("bob@example.test")
    assert c.send(b'HAVESPACE "a" 100\r\n')[-1].startswith(b"OK")
    assert c.send(b'HAVESPACE "a" 99999999\r\n')[-1].startswith(b"NO (QUOTA/MAXSIZE)")
    assert c.send(b"CHECKSCRIPT {5+}\r\nkeep;\r\n")[-1].startswith(b"OK")
    bad = c.send(b"CHECKSCRIPT {12+}\r\nkeep;\r\nfrob;\r\n")[-1]
    assert bad.startswith(b"NO") and b"line 2" in bad
    assert c.send(b'PUTSCRIPT "one" {5+}\r\nkeep;\r\n')[-1].startswith(b"OK")
    assert c.send(b'PUTSCRIPT "bad" {5+}\r\nfrob;\r\n')[-1].startswith(b"NO")
    assert c.send(b'SETACTIVE "one"\r\n')[-1].startswith(b"OK")
    assert c.send(b'SETACTIVE "missing"\r\n')[-1].startswith(b"NO (NONEXISTENT)")
    listed = c.send(b"LISTSCRIPTS\r\n")
    assert listed[0] == b'"one" ACTIVE\r\n'
    got = c.send(b'GETSCRIPT "one"\r\n')
    assert got[0] == b"{5}\r\n" and got[1] == b"keep;"
    assert c.send(b'RENAMESCRIPT "one" "two"\r\n')[-1].startswith(b"OK")
    assert c.send(b'PUTSCRIPT "three" "discard;"\r\n')[-1].startswith(b"OK")
    assert c.send(b'RENAMESCRIPT "three" "two"\r\n')[-1].startswith(b"NO (ALREADYEXISTS)")
    assert c.send(b'DELETESCRIPT "two"\r\n')[-1].startswith(b"NO (ACTIVE)")
    assert c.send(b'DELETESCRIPT "three"\r\n')[-1].startswith(b"OK")
    assert c.send(b'NOOP "t1"\r\n')[-1] == b'OK (TAG "t1") "done"\r\n'
    assert c.send(b"FROB\r\n")[-1].startswith(b"NO")
    assert c.send(b'"garbage\r\n')[-1].startswith(b"NO")
    assert c.send(b'SETACTIVE ""\r\n')[-1].startswith(b"OK")
    assert c.send(b"LISTSCRIPTS\r\n")[0] == b'"two"\r\n'
    assert c.send(b"LOGOUT\r\n")[-1].startswith(b"OK")
    c.close()


def test_fifty_clients_at_once(stack: Stack) -> None:
    def one(i: int) -> bool:
        c = Client(stack)
        try:
            c.starttls()
            if i % 2:
                return c.login("ann@example.test", "wrong")[-1].startswith(b"NO")
            assert c.send(b"\x00\xff garbage\r\n")[-1].startswith(b"NO")
            assert c.login("ann@example.test")[-1].startswith(b"OK")
            return c.send(f'HAVESPACE "s{i}" 10\r\n'.encode())[-1].startswith(b"OK")
        finally:
            c.close()

    with ThreadPoolExecutor(50) as pool:
        assert all(pool.map(one, range(50)))


def test_sieve_connect_uploads_a_script_that_files_plus_news(stack: Stack, tmp_path: Path) -> None:
    tool = require_tool("sieve-connect")
    script = tmp_path / "news.sieve"
    script.write_text(NEWS)

    def sieve_connect(*args: str) -> str:
        read, write = os.pipe()
        os.write(write, PW.encode() + b"\n")
        os.close(write)
        try:
            done = subprocess.run(
                [
                    tool,
                    "--server",
                    "127.0.0.1",
                    "--port",
                    str(stack.ports["managesieve"]),
                    "--user",
                    "ann@example.test",
                    "--passwordfd",
                    str(read),
                    "--authmech",
                    "PLAIN",
                    "--tlscafile",
                    str(stack.ca_file),
                    "--tlshostname",
                    "mx.example.test",
                    *args,
                ],
                capture_output=True,
                text=True,
                timeout=30,
                pass_fds=(read,),
                check=False,
            )
        finally:
            os.close(read)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    sieve_connect("--localsieve", str(script), "--remotesieve", "news", "--upload")
    sieve_connect("--remotesieve", "news", "--activate")
    assert "news" in sieve_connect("--list")
    copy = tmp_path / "copy.sieve"
    sieve_connect("--localsieve", str(copy), "--remotesieve", "news", "--download")
    assert copy.read_text() == NEWS

    subject = f"deal-{uuid.uuid4().hex[:8]}"
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "shop@world.test", "ann+news@example.test", subject
    msg.set_content("deals\n")
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as s:
        s.sendmail(
            "shop@world.test", ["ann+news@example.test"], msg.as_bytes().replace(b"\n", b"\r\n")
        )

    def in_news() -> bool:
        ctx = ssl.create_default_context(cafile=str(stack.ca_file))
        m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx, timeout=10)
        try:
            m.login("ann@example.test", PW)
            typ, _ = m.select("news", readonly=True)
            if typ != "OK":
                return False
            _, found = m.search(None, "SUBJECT", subject)
            return bool(found[0])
        finally:
            m.logout()

    eventually(in_news)


def test_authenticate_with_a_continuation(stack: Stack) -> None:
    c = Client(stack)
    c.starttls()
    c.sock.sendall(b'AUTHENTICATE "PLAIN"\r\n')
    assert c.file.readline() == b'""\r\n'
    token = base64.b64encode(b"\0bob@example.test\0" + PW.encode())
    assert c.send(b'"' + token + b'"\r\n')[-1].startswith(b"OK")
    assert c.send(b"LISTSCRIPTS\r\n")[-1].startswith(b"OK")
    c.sock.sendall(b'AUTHENTICATE "PLAIN"\r\n')
    assert c.file.readline().startswith(b"NO")  # already authenticated
    c.close()
    c = Client(stack)
    c.starttls()
    c.sock.sendall(b'AUTHENTICATE "PLAIN"\r\n')
    assert c.file.readline() == b'""\r\n'
    assert c.send(b'"*"\r\n')[-1].startswith(b"NO")
    assert c.send(b"LISTSCRIPTS\r\n")[-1].startswith(b"NO")
    c.close()


def test_login_timeout_and_connections_per_address(tmp_path: Path) -> None:
    with Stack(tmp_path, hostname="mx.example.test") as s:
        s.settings["managesieve"]["login_timeout"] = 1
        s.settings["managesieve"]["max_connections_per_address"] = 2
        s.provision(mailboxes={"ann@example.test": PW})
        s.start()
        c, other = Client(s), Client(s)
        third = Client(s)  # the third from one address: BYE at once
        assert third.greeting == [b'BYE "too many connections from your address"\r\n']
        third.close()
        c.sock.settimeout(20)
        assert c.file.readline().startswith(b'BYE "idle')
        assert c.file.readline() == b""
        c.close()
        other.close()
        eventually(lambda: _greets(s))


def _greets(stack: Stack) -> bool:
    """A new connection gets the greeting (a slot was freed)."""
    c = Client(stack)
    c.close()
    return c.greeting[-1].startswith(b"OK")


def test_sievelib_client_walks_every_command(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """sievelib's ManageSieve client (what Python tools and Roundcube-style scripts use): STARTTLS
    verified against the stack's CA, AUTHENTICATE PLAIN, then every command it offers."""
    from sievelib.managesieve import Client as SievelibClient

    monkeypatch.setenv("SSL_CERT_FILE", str(stack.ca_file))  # its TLS uses the default trust
    client = SievelibClient("127.0.0.1", stack.ports["managesieve"], srvhostname="mx.example.test")
    assert client.connect("cyd@example.test", PW, starttls=True, authmech="PLAIN")
    assert client.get_implementation()
    assert "fileinto" in client.get_sieve_capabilities()
    assert client.checkscript(NEWS)
    assert not client.checkscript('require "nonsense";\nkeep')
    assert client.havespace("news", len(NEWS))
    assert client.putscript("news", NEWS)
    assert client.setactive("news")
    assert client.listscripts() == ("news", [])
    assert client.getscript("news") == NEWS.rstrip("\n")  # sievelib drops the last line end
    assert client.renamescript("news", "sorting")
    assert client.listscripts() == ("sorting", [])
    assert not client.deletescript("sorting")  # the active script cannot be deleted (RFC 5804 2.10)
    assert client.setactive("")
    assert client.deletescript("sorting")
    assert client.listscripts() == (None, [])
    client.logout()
