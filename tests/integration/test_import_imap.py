"""`swissbox mailbox import-imap ADDRESS --from imap://user@127.0.0.1:PORT` against a real
Dovecot: every folder (nested, non-ASCII, special-use under other names) with its flags,
keywords and internal dates; a run cut short by --limit goes on where it stopped, a run
after a complete one copies nothing; works while `serve` runs. Compared by FETCH from both
servers with imaplib."""

from __future__ import annotations

import hashlib
import imaplib
import json
import smtplib
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from swissbox.imap.source import parse_fetch
from tests.conftest import require_tool
from tests.support.dovecot import Dovecot
from tests.support.stack import Stack

BOB, BOB_PW = "bob@example.test", "bob-mailbox-pw"
SRC_USER, SRC_PW = "bob", "sourcé-pw"  # not ASCII: AUTHENTICATE PLAIN, not LOGIN
ITEMS = "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"

# source folder (Dovecot's name, "." separated) -> swissbox folder
FOLDERS = {
    "INBOX": "INBOX",
    "Sent Messages": "Sent",  # \Sent
    "Work.Projects.2024": "Work/Projects/2024",
    "Work.Entw&APw-rfe": "Work/Entwürfe",
}
COUNTS = {"INBOX": 25, "Sent Messages": 15, "Work.Projects.2024": 12, "Work.Entw&APw-rfe": 8}
FLAG_SETS = [
    "()",
    "(\\Seen)",
    "(\\Seen \\Answered $Label1)",
    "(\\Flagged Custom)",
    "(\\Draft)",
    "(\\Seen \\Deleted $Forwarded)",
]
DATES = [
    '"02-Jan-1980 10:00:00 +1345"',
    '"31-Dec-2037 23:59:59 -1200"',
    '"29-Feb-2024 12:30:00 +0000"',
    '" 1-Jan-1990 00:00:01 -0330"',
    '"15-Jun-2010 08:00:00 +0200"',
]


@pytest.fixture
def dovecots() -> Iterator[Callable[..., Dovecot]]:
    """Starts Dovecots (`tls=(cert, key)` for STARTTLS and IMAPS); removes them afterwards."""
    binary = require_tool("dovecot")
    started: list[Dovecot] = []

    def start(**kwargs: Any) -> Dovecot:
        started.append(Dovecot({SRC_USER: SRC_PW}, binary=binary, **kwargs))
        return started[-1].start()

    try:
        yield start
    finally:
        for server in started:
            server.remove()


def login(m: imaplib.IMAP4) -> None:
    m.authenticate("PLAIN", lambda _: f"\0{SRC_USER}\0{SRC_PW}".encode())


def fill(port: int) -> int:
    """60 messages over 4 folders; returns how many."""
    m = imaplib.IMAP4("127.0.0.1", port, timeout=10)  # loopback: no STARTTLS needed
    login(m)
    n = 0
    for folder, count in COUNTS.items():
        if folder not in ("INBOX", "Sent Messages"):
            assert m.create(f'"{folder}"')[0] == "OK"
        for i in range(count):
            mid = "" if i == 3 else f"Message-ID: <{folder}.{i % 7}@source.test>\r\n"
            body = (
                f"From: a{i}@source.test\r\nTo: bob@example.test\r\nSubject: {folder} {i}\r\n"
                f"{mid}\r\nbody {i}\r\n" + "line\r\n" * (i * 37)
            ).encode()
            typ, _ = m.append(
                f'"{folder}"', FLAG_SETS[i % len(FLAG_SETS)], DATES[i % len(DATES)], body
            )
            assert typ == "OK"
            n += 1
    m.logout()
    return n


def deliver_until(port: int, done: threading.Event) -> int:
    """Sends mail to BOB over SMTP until `done` (1 to 50 messages); returns how many."""
    sent = 0
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        while (not done.is_set() or sent == 0) and sent < 50:
            client.sendmail("peer@outside.test", [BOB], f"Subject: smtp {sent}\r\n\r\nhi\r\n")
            sent += 1
    return sent


def snapshot(m: imaplib.IMAP4, folder: str) -> Counter[tuple[frozenset[str], float, int, str]]:
    """(flags, internal date, size, body digest) of every message of a folder."""
    typ, _ = m.select(folder, readonly=True)
    assert typ == "OK", folder
    typ, data = m.uid("FETCH", "1:*", ITEMS)
    assert typ == "OK"
    return Counter(
        (f.flags, f.internaldate, f.size, hashlib.sha256(f.body or b"").hexdigest())
        for f in parse_fetch(data)
    )


def test_import_imap_from_dovecot(tmp_path: Path, dovecots: Callable[..., Dovecot]) -> None:
    secret = tmp_path / "source-password"
    secret.write_text(SRC_PW + "\n")
    with Stack(tmp_path) as stack:
        stack.provision(mailboxes={BOB: BOB_PW})
        tls = stack.data / "tls"
        dovecot = dovecots(tls=(tls / "server.pem", tls / "server.key"))
        total = fill(dovecot.port)
        stack.start()  # the import runs beside the server, as the other offline verbs do
        url = f"imap://{SRC_USER}@127.0.0.1:{dovecot.port}"  # STARTTLS, offered
        args = (
            "mailbox",
            "import-imap",
            BOB,
            "--from",
            url,
            "--json",
            "--ca-file",
            str(stack.ca_file),
        )

        wrong = stack.cli(*args, "--password-stdin", stdin="nope\n")
        assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
        assert "127.0.0.1" in wrong.stderr and "AUTHENTICATIONFAILED" in wrong.stderr
        inline = f"imaps://{SRC_USER}:{SRC_PW}@127.0.0.1"
        refused = stack.cli(*args[:4], inline, "--password-stdin", stdin="x\n")
        assert refused.returncode == 1 and "password in the URL" in refused.stderr

        cut = stack.cli(*args, "--password-file", str(secret), "--limit", "22")
        assert cut.returncode == 0, cut.stderr
        first = json.loads(cut.stdout)
        assert first["added"] == 22 and first["complete"] is False
        assert "INBOX: " in cut.stderr  # progress

        done = threading.Event()
        with ThreadPoolExecutor(max_workers=8) as pool:  # SMTP delivering into INBOX meanwhile
            sending = [pool.submit(deliver_until, stack.ports["smtp_mx"], done) for _ in range(8)]
            rest = stack.cli(*args, "--password-stdin", stdin=SRC_PW + "\n")
            done.set()
            delivered = sum(f.result() for f in sending)
        assert rest.returncode == 0, rest.stderr
        second = json.loads(rest.stdout)
        assert second["added"] == total - 22 and second["complete"] is True
        by_folder = {r["folder"]: r for r in second["folders"]}
        assert set(by_folder) >= set(FOLDERS.values())
        assert by_folder["INBOX"]["skipped"] == 22

        untrusted = stack.cli(*args[:-2], "--password-file", str(secret))
        assert untrusted.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
        implicit = f"imaps://{SRC_USER}@127.0.0.1:{dovecot.tls_port}"
        again = stack.cli(
            *args[:4], implicit, "--ca-file", str(stack.ca_file), "--password-file", str(secret),
            "--exclude", "Work/Projects",
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert f"imported 0 messages into {BOB}" in again.stdout
        assert "Work/Entwürfe: 0 new, 8 already there" in again.stdout
        assert "Work/Projects/2024" not in again.stdout + again.stderr

        src = imaplib.IMAP4("127.0.0.1", dovecot.port, timeout=10)
        login(src)
        ctx = ssl.create_default_context(cafile=str(stack.ca_file))
        dst = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx, timeout=10)
        dst.login(BOB, BOB_PW)
        for source, target in FOLDERS.items():
            theirs = snapshot(src, f'"{source}"')
            ours = snapshot(dst, '"' + target.replace("ü", "&APw-") + '"')
            assert sum(theirs.values()) == COUNTS[source]
            if target == "INBOX":  # also the SMTP deliveries, each once
                assert theirs - ours == Counter()  # every source message is here
                assert sum(ours.values()) == COUNTS[source] + delivered
            else:
                assert ours == theirs, source
        _, listing = dst.list()
        assert b'"Sent Messages"' not in b" ".join(x for x in listing if isinstance(x, bytes))
        src.logout()
        dst.logout()
        stack.stop()
