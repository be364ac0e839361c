"""`swissbox mailbox restore` after what people do with imaplib: move, then delete. Each
expunged message comes back once, and nothing that still exists in a folder comes back."""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Iterator

import pytest

from tests.support.stack import Stack

BOX, BOX_PW = "dora@example.test", "dora-mailbox-pw"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("restore"))
    s.provision(mailboxes={BOX: BOX_PW})
    s.start()
    yield s
    s.stop()


def login(stack: Stack) -> imaplib.IMAP4_SSL:
    tls = ssl.create_default_context(cafile=str(stack.ca_file))
    m = imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls, timeout=10)
    m.login(BOX, BOX_PW)
    return m


def message(subject: str) -> bytes:
    return (
        f"From: a@example.org\r\nTo: {BOX}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject}@example.org>\r\n"
        f"Date: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\nbody of {subject}\r\n"
    ).encode()


def delete_all(m: imaplib.IMAP4_SSL, folder: str) -> None:
    assert m.select(folder)[0] == "OK"
    assert m.store("1:*", "+FLAGS", r"(\Deleted)")[0] == "OK"
    assert m.expunge()[0] == "OK"


def subjects(m: imaplib.IMAP4_SSL, folder: str) -> list[str]:
    typ, _ = m.select(folder)
    assert typ == "OK"
    _, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    found = []
    for item in data:
        if isinstance(item, tuple):
            found.append(item[1].decode().split(":", 1)[1].strip())
    return sorted(found)


def test_move_then_delete_restores_each_message_once(stack: Stack) -> None:
    m = login(stack)
    for name in ("Projects", "Manual", "Keep"):
        assert m.create(name)[0] == "OK"
    for subject in ("moved", "copied-away", "still-here"):
        assert m.append("INBOX", None, None, message(subject))[0] == "OK"
    m.select("INBOX")
    # 1. MOVE (RFC 6851) to Projects, then delete it there.
    assert m.uid("MOVE", "1", "Projects")[0] == "OK"
    # 2. The move of a client without MOVE: COPY, \Deleted, EXPUNGE; then delete in the target.
    m.select("INBOX")
    assert m.uid("COPY", "2", "Manual")[0] == "OK"
    assert m.uid("STORE", "2", "+FLAGS", r"(\Deleted)")[0] == "OK"
    assert m.expunge()[0] == "OK"
    # 3. Moved the same way to Keep, but never deleted there: it still exists.
    assert m.uid("COPY", "3", "Keep")[0] == "OK"
    assert m.uid("STORE", "3", "+FLAGS", r"(\Deleted)")[0] == "OK"
    assert m.expunge()[0] == "OK"
    delete_all(m, "Projects")
    delete_all(m, "Manual")
    m.logout()

    result = stack.cli("mailbox", "restore", BOX, check=True)
    assert "restored 2 messages" in result.stdout, result.stdout

    m = login(stack)
    assert subjects(m, "Restored") == ["copied-away", "moved"]
    assert subjects(m, "Keep") == ["still-here"]
    m.logout()
    # Restoring again brings nothing: each expunged message came back once.
    again = stack.cli("mailbox", "restore", BOX, check=True)
    assert "restored 0 messages" in again.stdout, again.stdout
