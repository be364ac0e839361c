"""CATENATE (RFC 4469) against the running stack: imaplib and a raw client build messages from
TEXT literals and URLs of the user's own messages; BADURL for anything else (another user's
mailbox, the shared namespace, a stale UIDVALIDITY), TRYCREATE first, the size limit on the
whole result, all-or-none with MULTIAPPEND."""

from __future__ import annotations

import imaplib
import itertools
import re

import pytest

from tests.support.imap_raw import RawImap
from tests.support.stack import Stack

USER, PW = "cate@example.test", "cate-mailbox-pw"
OTHER, OTHER_PW = "otto@example.test", "otto-mailbox-pw"
_names = itertools.count(1)
FIRST = b"From: a@example.org\r\nSubject: first\r\n\r\nfirst body\r\n"


@pytest.fixture(scope="module")
def stack(imap_stack: Stack) -> Stack:
    """The shared running stack (tests/integration/conftest.py) with this module's mailboxes."""
    imap_stack.add_mailboxes({USER: PW, OTHER: OTHER_PW})
    return imap_stack


def source(stack: Stack) -> tuple[RawImap, str, int, int]:
    """A client with a new folder holding FIRST: (client, folder, uidvalidity, uid)."""
    c = RawImap(stack.ports["imap"])
    c.login(USER, PW)
    name = f"cat{next(_names)}"
    c.ok(f"CREATE {name}")
    lines = c.append(name, FIRST)
    m = re.search(rb"APPENDUID (\d+) (\d+)", lines[-1])
    assert m is not None
    return c, name, int(m.group(1)), int(m.group(2))


def bodies(c: RawImap, name: str) -> list[bytes]:
    c.ok(f"EXAMINE {name}")
    out = []
    for line in c.ok("FETCH 1:* (BODY.PEEK[])"):
        out.append(line.split(b"}\r\n", 1)[1][:-1])
    c.ok("UNSELECT")
    return out


def test_imaplib_catenates_urls(stack: Stack) -> None:
    c, name, validity, uid = source(stack)
    m = imaplib.IMAP4("127.0.0.1", stack.ports["imap"])
    m.login(USER, PW)
    assert "CATENATE" in m.capabilities
    dest = f"{name}d"
    m.create(dest)
    typ, data = m._simple_command(
        "APPEND",
        dest,
        "(\\Flagged)",
        "CATENATE",
        f'(URL "/{name};UIDVALIDITY={validity}/;UID={uid}/;SECTION=HEADER"'
        f' URL "/{name}/;UID={uid}/;SECTION=TEXT/;PARTIAL=0.5")',
    )
    assert typ == "OK", data
    assert b"APPENDUID" in data[0]
    m.select(dest)
    typ, data = m.fetch("1", "(FLAGS BODY.PEEK[])")
    assert data[0][1] == b"From: a@example.org\r\nSubject: first\r\n\r\nfirst"
    assert b"\\Flagged" in data[0][0]
    m.logout()
    c.close()


def test_text_and_url_parts_with_multiappend(stack: Stack) -> None:
    c, name, validity, uid = source(stack)
    text = b"\r\nadded text\r\n"
    wire = (
        f'APPEND {name} CATENATE (URL "/{name}/;UID={uid}/;SECTION=HEADER" TEXT {{{len(text)}+}}\r\n'.encode()
        + text
        + f") (\\Seen) {{{len(FIRST)}+}}\r\n".encode()
        + FIRST
        + f' CATENATE (URL "imap://{USER.replace("@", "%40")}@{stack.hostname}/{name}/;UID={uid}")'.encode()
    )
    lines = c.cmd(wire)
    assert lines[-1].split(b" ")[1] == b"OK", lines
    assert re.search(rb"APPENDUID %d 2:4" % validity, lines[-1])
    header = FIRST.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    assert bodies(c, name) == [FIRST, header + text, FIRST, FIRST]
    c.close()


@pytest.mark.parametrize(
    "url",
    [
        "/{name};UIDVALIDITY=1/;UID={uid}",  # stale UIDVALIDITY
        "/{name}/;UID=999",  # no such message
        "/nosuchbox/;UID=1",
        "/INBOX/;UID=1/;URLAUTH=anonymous:internal:00",  # URLAUTH is not offered
        "imap://otto%40example.test@127.0.0.1/INBOX/;UID=1",  # another user
        "imap://cate%40example.test@elsewhere.example/{name}/;UID={uid}",  # another server
        ";UID={uid}",  # relative, nothing selected
    ],
)
def test_bad_urls_are_no_badurl_and_store_nothing(stack: Stack, url: str) -> None:
    c, name, _, uid = source(stack)
    url = url.format(name=name, uid=uid)
    lines = c.cmd(f'APPEND {name} CATENATE (TEXT {{2+}}\r\nx\n URL "{url}" TEXT {{1+}}\r\ny)')
    assert lines[-1].split(b" ")[1:3] == [b"NO", b"[BADURL"], lines
    assert bodies(c, name) == [FIRST]
    c.close()


def test_another_users_mailbox_is_never_read(stack: Stack) -> None:
    other = RawImap(stack.ports["imap"])
    other.login(OTHER, OTHER_PW)
    other.append("INBOX", b"Subject: secret\r\n\r\nsecret of otto\r\n")
    other.close()
    c, name, _, _ = source(stack)
    for url in ("imap://otto%40example.test@127.0.0.1/INBOX/;UID=1", "/INBOX/;UID=1"):
        lines = c.cmd(f'APPEND {name} CATENATE (URL "{url}")')
        assert b"secret" not in b"".join(lines)
    assert bodies(c, name) == [FIRST]
    c.close()


def test_relative_url_and_trycreate_first(stack: Stack) -> None:
    c, name, _, uid = source(stack)
    c.ok(f"SELECT {name}")
    lines = c.cmd(f'APPEND {name} CATENATE (URL ";UID={uid}/;SECTION=TEXT")')
    assert lines[-1].split(b" ")[1] == b"OK", lines
    lines = c.cmd(f'APPEND {name}-missing CATENATE (URL "/{name};UIDVALIDITY=1/;UID={uid}")')
    assert lines[-1].split(b" ")[1:3] == [b"NO", b"[TRYCREATE]"]
    c.ok("UNSELECT")
    assert bodies(c, name) == [FIRST, b"first body\r\n"]
    c.close()


def test_result_over_the_size_limit_is_toobig_and_multiappend_is_all_or_none(
    stack: Stack,
) -> None:
    c, name, _, uid = source(stack)
    chunk = b"x" * (stack.settings["smtp"]["max_message_size"] // 2)
    wire = (
        f"APPEND {name} {{{len(FIRST)}+}}\r\n".encode()
        + FIRST
        + f" CATENATE (TEXT {{{len(chunk)}+}}\r\n".encode()
        + chunk
        + f' URL "/{name}/;UID={uid}" TEXT {{{len(chunk)}+}}\r\n'.encode()
        + chunk
        + b")"
    )
    lines = c.cmd(wire)
    assert lines[-1].split(b" ")[1:3] == [b"NO", b"[TOOBIG]"], lines
    assert bodies(c, name) == [FIRST]  # the first message of the APPEND was not kept either
    c.ok("NOOP")
    c.close()
