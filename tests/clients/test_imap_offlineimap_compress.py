"""offlineimap3 (imaplib2) with `usecompression = yes` against the running stack over implicit
TLS: it turns COMPRESS=DEFLATE on, downloads every message and uploads a new local one through
the compressed stream; afterwards both sides hold the same bytes."""

from __future__ import annotations

import imaplib
import re
import ssl
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.support.stack import Stack

pytestmark = pytest.mark.tools

ZED, ZED_PW = "zed@example.test", "zed-mailbox-pw"


def message(n: int) -> bytes:
    return (
        f"From: a@example.org\r\nTo: {ZED}\r\nSubject: compressed {n}\r\n"
        f"Message-ID: <z{n}@example.org>\r\nDate: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\n"
        + f"line {n} of a body that deflate shrinks\r\n"
        * 300
    ).encode()


def config(stack: Stack, tmp: Path) -> str:
    return f"""
[general]
accounts = zed
metadata = {tmp}/meta

[Account zed]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {tmp}/mail

[Repository remote]
type = IMAP
remotehost = localhost
remoteport = {stack.ports["imaps"]}
ssl = yes
sslcacertfile = {stack.ca_file}
remoteuser = {ZED}
remotepass = {ZED_PW}
usecompression = yes
folderfilter = lambda folder: folder == "INBOX"
"""


def local_bodies(mail: Path) -> dict[str, bytes]:
    """Message-ID -> bytes of the local Maildir (offlineimap stores LF line ends)."""
    out = {}
    for f in (mail / "INBOX").glob("*/*"):
        data = f.read_bytes()
        mid = re.search(rb"Message-ID: <([^>]+)>", data)
        assert mid is not None
        out[mid.group(1).decode()] = data
    return out


def test_offlineimap_syncs_over_compress_deflate(tmp_path: Path) -> None:
    offlineimap = require_tool("offlineimap")
    stack = Stack(tmp_path / "stack")
    stack.provision(mailboxes={ZED: ZED_PW})
    stack.start()
    try:
        ctx = ssl.create_default_context(cafile=str(stack.ca_file))
        m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=ctx, timeout=20)
        m.login(ZED, ZED_PW)
        for n in range(5):
            assert m.append("INBOX", None, None, message(n))[0] == "OK"
        rc = tmp_path / "offlineimaprc"
        rc.write_text(config(stack, tmp_path))

        def sync() -> str:
            result = subprocess.run(
                [offlineimap, "-c", str(rc), "-o", "-u", "basic", "-d", "imap"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            out = result.stdout + result.stderr
            assert result.returncode == 0 and "ERROR" not in out, out[-3000:]
            assert "OK DEFLATE active" in out  # the sync really ran compressed
            return out

        sync()
        assert local_bodies(tmp_path / "mail") == {
            f"z{n}@example.org": message(n).replace(b"\r\n", b"\n") for n in range(5)
        }
        new = tmp_path / "mail" / "INBOX" / "new" / "1700000000.1.local"
        new.write_bytes(message(9).replace(b"\r\n", b"\n"))
        sync()  # uploads it with APPEND, compressed
        m.select("INBOX")
        typ, data = m.search(None, "HEADER", "Message-ID", "z9@example.org")
        (seq,) = data[0].split()
        fetched = m.fetch(seq, "(BODY.PEEK[])")[1][0]
        assert isinstance(fetched, tuple)
        assert fetched[1].replace(b"\r\n", b"\n") == message(9).replace(b"\r\n", b"\n")
        m.logout()
    finally:
        stack.stop()
