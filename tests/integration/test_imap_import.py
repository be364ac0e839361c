"""`swissbox mailbox import ADDRESS MAILDIR`: folders, flags and internal dates come over, a
second run adds nothing; IMAP then serves them."""

from __future__ import annotations

import imaplib
import os
import ssl
from pathlib import Path

from tests.support.stack import Stack

BOB, BOB_PW = "bob@example.test", "bob-mailbox-pw"


def put(folder: Path, name: str, subject: str, mtime: int, sub: str = "cur") -> None:
    for d in ("cur", "new", "tmp"):
        (folder / d).mkdir(parents=True, exist_ok=True)
    path = folder / sub / name
    path.write_bytes(f"From: a@example.org\nSubject: {subject}\n\nbody {subject}\n".encode())
    os.utime(path, (mtime, mtime))


def test_import_maildir_idempotent(tmp_path: Path) -> None:
    src = tmp_path / "Maildir"
    put(src, "1600000000.1.old:2,S", "seen", 1600000000)
    put(src, "1600000001.2.old:2,FRa", "flagged", 1600000001)
    put(src, "1600000002.3.old", "fresh", 1600000002, sub="new")
    (src / "dovecot-keywords").write_text("0 $Important\n")
    put(src / ".Sent", "1600000003.4.old:2,S", "sent one", 1600000003)
    put(src / ".Archive.2024", "1600000004.5.old:2,", "archived", 1600000004)
    put(src / ".Entw&APw-rfe", "1600000005.6.old:2,D", "draft", 1600000005)
    for i in range(1200):  # more than one write batch of FETCH responses
        put(src / ".Bulk", f"1600001000.{i}.old:2,S", f"bulk {i}", 1600001000 + i)
    with Stack(tmp_path) as stack:
        stack.provision(mailboxes={BOB: BOB_PW})
        first = stack.cli("mailbox", "import", BOB, str(src), "--json")
        assert first.returncode == 0, first.stderr
        assert '"added": 1206' in first.stdout
        second = stack.cli("mailbox", "import", BOB, str(src), "--json")
        assert '"added": 0' in second.stdout and '"skipped": 1206' in second.stdout
        stack.start()
        ctx = ssl.create_default_context(cafile=str(stack.ca_file))
        m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx, timeout=10)
        m.login(BOB, BOB_PW)
        _, listing = m.list()
        names = b" ".join(listing)
        assert b'"Archive/2024"' in names and b'"Entw&APw-rfe"' in names
        m.select("INBOX")
        _, data = m.fetch("1:*", "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
        heads = [d[0] for d in data if isinstance(d, tuple)]
        bodies = [d[1] for d in data if isinstance(d, tuple)]
        assert len(heads) == 3
        assert b"\\Seen" in heads[0] and b"13-Sep-2020" in heads[0]
        assert b"\\Flagged" in heads[1] and b"\\Answered" in heads[1] and b"$Important" in heads[1]
        assert all(b"\r\n" in b and b"\n" not in b.replace(b"\r\n", b"") for b in bodies)
        m.select("Bulk")
        _, data = m.uid("FETCH", "1:*", "(FLAGS ENVELOPE)")
        assert len(data) == 1200 and b"bulk 1199" in data[-1]
        _, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")  # streamed through a producer
        bodies = [d[1] for d in data if isinstance(d, tuple)]
        assert len(bodies) == 1200 and bodies[-1].endswith(b"body bulk 1199\r\n")
        _, data = m.uid("SEARCH", "SUBJECT", '"bulk 11"')
        assert len(data[0].split()) == 111
        m.select('"Sent"')
        _, data = m.search(None, "SUBJECT", "sent")
        assert data == [b"1"]
        m.logout()
        stack.stop()
        third = stack.cli("mailbox", "import", BOB, str(src), "--json")
        assert '"added": 0' in third.stdout
