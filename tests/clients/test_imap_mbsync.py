"""mbsync (isync) against the running stack: a full two-way sync of a mailbox with several
folders, flag changes both ways, a move and a delete; afterwards the local Maildir and the
server agree (folders, messages by Message-ID, flags)."""

from __future__ import annotations

import imaplib
import os
import re
import ssl
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.support.stack import Stack

pytestmark = pytest.mark.tools

BOB, BOB_PW = "bob@example.test", "bob-mailbox-pw"
LETTERS = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered", "T": "\\Deleted", "D": "\\Draft"}


def message(n: str) -> bytes:
    return (
        f"From: a@example.org\r\nTo: {BOB}\r\nSubject: message {n}\r\n"
        f"Message-ID: <{n}@example.org>\r\nDate: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\n"
        f"body of {n}\r\n"
    ).encode()


def config(stack: Stack, local: Path) -> str:
    return f"""
IMAPAccount remote
Host localhost
Port {stack.ports["imaps"]}
User {BOB}
Pass {BOB_PW}
SSLType IMAPS
CertificateFile {stack.ca_file}
PipelineDepth 4

IMAPStore remote
Account remote

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Remove Both
Expunge Both
SyncState *
"""


def run_mbsync(mbsync: str, rc: Path) -> str:
    result = subprocess.run(
        [mbsync, "-c", str(rc), "-a"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def local_state(local: Path) -> dict[str, dict[str, frozenset[str]]]:
    """folder -> {message id: flags} of the local Maildir."""
    out: dict[str, dict[str, frozenset[str]]] = {}
    for cur in local.rglob("cur"):
        folder = cur.parent.relative_to(local).as_posix()
        msgs = {}
        for sub in ("cur", "new"):
            for f in (cur.parent / sub).iterdir():
                mid = re.search(rb"Message-ID: <([^>]+)>", f.read_bytes())
                assert mid is not None
                info = f.name.partition(":2,")[2]
                flags = frozenset(LETTERS[c] for c in info if c in LETTERS)
                msgs[mid.group(1).decode()] = flags
        out[folder] = msgs
    return out


def server_state(m: imaplib.IMAP4_SSL) -> dict[str, dict[str, frozenset[str]]]:
    out: dict[str, dict[str, frozenset[str]]] = {}
    _, listing = m.list()
    for line in listing:
        name = re.search(rb'"/" "(.*)"$', line).group(1).decode()  # type: ignore[union-attr]
        m.select(f'"{name}"', readonly=True)
        _, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (Message-ID)])")
        msgs = {}
        for item in data:
            if isinstance(item, tuple):
                mid = re.search(rb"<([^>]+)>", item[1]).group(1).decode()  # type: ignore[union-attr]
                flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()  # type: ignore[union-attr]
                msgs[mid] = frozenset(f for f in flags if f != "\\Recent")
        out[name] = msgs
    return out


def test_mbsync_two_way(tmp_path: Path) -> None:
    mbsync = require_tool("mbsync")
    with Stack(tmp_path) as stack:
        stack.provision(mailboxes={BOB: BOB_PW})
        stack.start()
        ctx = ssl.create_default_context(cafile=str(stack.ca_file))
        m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx, timeout=10)
        m.login(BOB, BOB_PW)
        m.create("Projects")
        m.create("Projects/Alpha")
        for i in range(3):
            m.append("INBOX", r"(\Seen)" if i == 0 else None, None, message(f"in{i}"))
        m.append("Projects/Alpha", r"(\Flagged)", None, message("alpha0"))
        m.append("Archive", None, None, message("arch0"))

        local = tmp_path / "local"
        local.mkdir()
        rc = tmp_path / "mbsyncrc"
        rc.write_text(config(stack, local))
        run_mbsync(mbsync, rc)
        first = local_state(local)
        assert first["INBOX"] == {
            "in0@example.org": frozenset({"\\Seen"}),
            "in1@example.org": frozenset(),
            "in2@example.org": frozenset(),
        }
        assert first["Projects/Alpha"] == {"alpha0@example.org": frozenset({"\\Flagged"})}
        assert "Sent" in first and "Trash" in first

        # server side: a flag change, a move, a new message
        m.select("INBOX")
        m.store("2", "+FLAGS", r"(\Flagged)")
        m.uid("MOVE", "3", "Archive")
        m.append("Projects", None, None, message("proj0"))
        # local side: a flag change, a delete, a new message in a new folder
        inbox_cur = local / "INBOX" / "cur"
        for f in list(inbox_cur.iterdir()) + list((local / "INBOX" / "new").iterdir()):
            data = f.read_bytes()
            base, _, info = f.name.partition(":2,")
            if b"<in0@" in data:
                f.rename(inbox_cur / f"{base}:2,{''.join(sorted(info + 'R'))}")
        alpha = local / "Projects" / "Alpha"
        for sub in ("cur", "new"):
            for f in (alpha / sub).iterdir():
                base, _, info = f.name.partition(":2,")
                f.rename(alpha / "cur" / f"{base}:2,{info}T")  # marked deleted: expunged
        newdir = local / "Notes"
        for sub in ("cur", "new", "tmp"):
            (newdir / sub).mkdir(parents=True)
        (newdir / "new" / "1700000000.1.host").write_bytes(message("note0").replace(b"\r\n", b"\n"))
        os.utime(newdir / "new" / "1700000000.1.host", (1700000000, 1700000000))

        run_mbsync(mbsync, rc)
        run_mbsync(mbsync, rc)  # a second run changes nothing and must still agree
        m.logout()
        m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx, timeout=10)
        m.login(BOB, BOB_PW)
        remote = server_state(m)
        m.logout()
        local_now = local_state(local)
        assert remote == local_now
        assert remote["INBOX"] == {
            "in0@example.org": frozenset({"\\Seen", "\\Answered"}),
            "in1@example.org": frozenset({"\\Flagged"}),
        }
        assert "in2@example.org" in remote["Archive"]
        assert remote["Projects/Alpha"] == {}
        assert remote["Projects"] == {"proj0@example.org": frozenset()}
        assert remote["Notes"] == {"note0@example.org": frozenset()}

        # the STARTTLS port works for mbsync too (list the far side's folders)
        starttls = (
            rc.read_text()
            .replace(f"Port {stack.ports['imaps']}\nUser", f"Port {stack.ports['imap']}\nUser")
            .replace("SSLType IMAPS", "SSLType STARTTLS")
        )
        rc2 = tmp_path / "mbsyncrc-starttls"
        rc2.write_text(starttls)
        listed = subprocess.run(
            [mbsync, "-c", str(rc2), "-l", "sync"], capture_output=True, text=True, timeout=60
        )
        assert listed.returncode == 0, listed.stderr
        assert "Projects/Alpha" in listed.stdout and "Notes" in listed.stdout
        stack.stop()
