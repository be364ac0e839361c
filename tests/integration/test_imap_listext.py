"""LIST-EXTENDED (RFC 5258), STATUS=SIZE (RFC 8438) and IMAP4rev2 (RFC 9051) against the
running stack: exact bytes (tests/support/imap_raw.py) and imaplib."""

from __future__ import annotations

import imaplib
import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.imap_raw import RawImap
from tests.support.polling import eventually
from tests.support.stack import Stack

USER, PW = "lena@example.test", "lena-mailbox-pw"
_names = itertools.count(1)


@pytest.fixture(scope="module")
def stack(imap_stack: Stack) -> Stack:
    """The shared running stack (tests/integration/conftest.py) with this module's mailboxes."""
    imap_stack.add_mailboxes({USER: PW})
    return imap_stack


def folder() -> str:
    """A folder name no other test uses."""
    return f"x{next(_names)}"


def client(stack: Stack) -> RawImap:
    c = RawImap(stack.ports["imap"])
    c.login(USER, PW)
    return c


def mail(subject: str) -> bytes:
    return (
        f"From: a@example.org\r\nTo: {USER}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\nbody of {subject}\r\n"
    ).encode()


def make_tree(c: RawImap, top: str) -> None:
    """top/{a, b/c, d/e, d/f, gone}, with a, b/c, d/e, d/f and gone subscribed, gone deleted."""
    for name in ("a", "b/c", "d/e", "d/f", "gone"):
        c.ok(f"CREATE {top}/{name}")
    for name in ("a", "b/c", "d/e", "d/f", "gone"):
        c.ok(f"SUBSCRIBE {top}/{name}")
    c.ok(f"DELETE {top}/gone")


def test_capabilities(stack: Stack) -> None:
    c = client(stack)
    (caps,) = c.ok("CAPABILITY")
    for cap in (b"IMAP4rev1", b"LIST-EXTENDED", b"LIST-STATUS", b"STATUS=SIZE"):
        assert b" " + cap in caps, cap
    c.close()


def test_multiple_patterns(stack: Stack) -> None:
    top = folder()
    c = client(stack)
    make_tree(c, top)
    assert c.ok(f'LIST "" ("{top}/a" "{top}/d/*" inbox)') == [
        b'* LIST (\\HasNoChildren) "/" "INBOX"',
        f'* LIST (\\HasNoChildren) "/" "{top}/a"'.encode(),
        f'* LIST (\\HasNoChildren) "/" "{top}/d/e"'.encode(),
        f'* LIST (\\HasNoChildren) "/" "{top}/d/f"'.encode(),
    ]
    c.close()


def test_subscriptions_outlive_their_folder(stack: Stack) -> None:
    top = folder()
    c = client(stack)
    make_tree(c, top)
    lines = c.ok(f'LIST (SUBSCRIBED) "" "{top}/*"')
    assert f'* LIST (\\NonExistent \\Subscribed) "/" "{top}/gone"'.encode() in lines
    assert f'* LIST (\\HasNoChildren \\Subscribed) "/" "{top}/a"'.encode() in lines
    assert not [line for line in lines if f'"{top}/b"'.encode() in line]
    assert f'* LSUB () "/" "{top}/gone"'.encode() in c.ok(f'LSUB "" "{top}/*"')
    assert not [line for line in c.ok(f'LIST "" "{top}/*"') if b"gone" in line]
    c.ok(f"CREATE {top}/gone")  # made again: subscribed again, as it was
    assert c.ok(f'LIST "" "{top}/gone" RETURN (SUBSCRIBED)') == [
        f'* LIST (\\HasNoChildren \\Subscribed) "/" "{top}/gone"'.encode()
    ]
    c.ok(f"DELETE {top}/gone")
    c.ok(f"UNSUBSCRIBE {top}/gone")  # a subscription without its folder can be dropped
    assert c.ok(f'LIST (SUBSCRIBED) "" "{top}/gone"') == []
    assert c.cmd(f"UNSUBSCRIBE {top}/gone")[-1].split(b" ")[1] == b"NO"
    c.close()


def test_recursivematch_childinfo(stack: Stack) -> None:
    top = folder()
    c = client(stack)
    make_tree(c, top)
    assert c.ok(f'LIST (SUBSCRIBED RECURSIVEMATCH) "" "{top}/%" RETURN (CHILDREN)') == [
        f'* LIST (\\HasNoChildren \\Subscribed) "/" "{top}/a"'.encode(),
        f'* LIST (\\HasChildren) "/" "{top}/b" ("CHILDINFO" ("SUBSCRIBED"))'.encode(),
        f'* LIST (\\HasChildren) "/" "{top}/d" ("CHILDINFO" ("SUBSCRIBED"))'.encode(),
        f'* LIST (\\NonExistent \\Subscribed) "/" "{top}/gone"'.encode(),
    ]
    c.close()


def test_special_use_selection_and_status_return(stack: Stack) -> None:
    c = client(stack)
    c.append("Sent", mail("sent one"))
    lines = c.ok('LIST (SPECIAL-USE) "" "*" RETURN (STATUS (MESSAGES SIZE))')
    names = [line for line in lines if line.startswith(b"* LIST")]
    assert sorted(n.split(b'"/" ')[1] for n in names) == [
        b'"Archive"',
        b'"Drafts"',
        b'"Junk"',
        b'"Sent"',
        b'"Trash"',
    ]
    sent = lines.index(b'* LIST (\\HasNoChildren \\Sent) "/" "Sent"')
    assert lines[sent + 1] == b'* STATUS "Sent" (MESSAGES 1 SIZE %d)' % len(mail("sent one"))
    c.close()


@pytest.mark.parametrize(
    "args",
    [
        '(imaptest) "" ""',
        '(RECURSIVEMATCH) "" "*"',
        '(RECURSIVEMATCH REMOTE) "" "*"',
        '"" "*" RETURN (imaptest)',
        '"" ()',
    ],
)
def test_unknown_options_are_bad_and_the_session_goes_on(stack: Stack, args: str) -> None:
    c = client(stack)
    assert c.cmd(f"LIST {args}")[-1].split(b" ")[1] == b"BAD"
    assert c.ok('LIST (REMOTE) "" INBOX') == [b'* LIST (\\HasNoChildren) "/" "INBOX"']
    c.close()


def test_status_size_is_the_sum_of_message_sizes(stack: Stack) -> None:
    top = folder()
    c = client(stack)
    c.ok(f"CREATE {top}")
    one, two = mail("size 1"), mail("size two")
    c.append(top, one)
    c.append(top, two, flags="(\\Deleted)")
    assert c.ok(f"STATUS {top} (MESSAGES SIZE DELETED)") == [
        f'* STATUS "{top}" (MESSAGES 2 SIZE {len(one) + len(two)} DELETED 1)'.encode()
    ]
    c.close()


def test_imaplib_lists_with_extended_syntax(stack: Stack) -> None:
    top = folder()
    m = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=10)
    m.login(USER, PW)
    m.create(f"{top}/k")
    m.subscribe(f"{top}/k")
    typ, data = m.list('""', f'("{top}" "{top}/*") RETURN (SUBSCRIBED)')
    assert typ == "OK"
    assert data == [
        f'(\\HasChildren) "/" "{top}"'.encode(),
        f'(\\HasNoChildren \\Subscribed) "/" "{top}/k"'.encode(),
    ]
    m.logout()


# -- IMAP4rev2 (RFC 9051) after ENABLE IMAP4rev2 -------------------------------------------


def test_rev2_is_advertised_and_enabled(stack: Stack) -> None:
    c = client(stack)
    (caps,) = c.ok("CAPABILITY")
    assert b" IMAP4rev1 IMAP4rev2 " in caps
    assert c.ok("ENABLE IMAP4rev2") == [b"* ENABLED IMAP4rev2"]
    c.close()


def test_rev2_select_search_and_new_mail(stack: Stack) -> None:
    top = folder()
    c, other = client(stack), client(stack)
    c.ok(f"CREATE {top}")
    c.ok(f"SUBSCRIBE {top}")
    other.append(top, mail("rev2 one"))
    other.append(top, mail("rev2 two"), flags="(\\Seen)")
    c.ok("ENABLE IMAP4rev2")
    lines = c.ok(f"SELECT {top}")
    assert f'* LIST (\\HasNoChildren \\Subscribed) "/" "{top}"'.encode() in lines
    assert b"* 2 EXISTS" in lines
    assert not [line for line in lines if b"RECENT" in line or b"[UNSEEN" in line], lines
    tag = c.tag()
    c.send(tag + b" SEARCH UNSEEN\r\n")
    assert c.until(tag)[:-1] == [b'* ESEARCH (TAG "%s") ALL 1' % tag]
    tag = c.tag()
    c.send(tag + b" UID SEARCH NOT ALL\r\n")
    assert c.until(tag)[:-1] == [b'* ESEARCH (TAG "%s") UID' % tag]
    other.append(top, mail("rev2 three"))
    seen: list[bytes] = []

    def noop_tells_exists() -> bool:
        seen.extend(c.ok("NOOP"))
        return b"* 3 EXISTS" in seen

    eventually(noop_tells_exists, what="the new message's EXISTS")
    assert seen == [b"* 3 EXISTS"]  # no RECENT beside it
    c.close()
    other.close()


def test_rev1_sessions_keep_recent_and_search(stack: Stack) -> None:
    top = folder()
    c = client(stack)
    c.ok(f"CREATE {top}")
    c.append(top, mail("rev1"))
    lines = c.ok(f"SELECT {top}")
    assert b"* 1 RECENT" in lines
    assert not [line for line in lines if line.startswith(b"* LIST")]
    assert c.ok("SEARCH ALL") == [b"* SEARCH 1"]
    c.close()


def test_rev2_rename_tells_the_old_name(stack: Stack) -> None:
    top = folder()
    c = client(stack)
    c.ok(f"CREATE {top}/old")
    c.ok("ENABLE IMAP4rev2")
    assert c.ok(f"RENAME {top}/old {top}/new") == [
        f'* LIST (\\HasNoChildren) "/" "{top}/new" ("OLDNAME" ("{top}/old"))'.encode()
    ]
    for code, command in (
        (b"[ALREADYEXISTS]", f"CREATE {top}/new"),
        (b"[NONEXISTENT]", f"SELECT {top}/old"),
        (b"[NONEXISTENT]", f"STATUS {top}/old (MESSAGES)"),
        (b"[CANNOT]", f"RENAME {top} {top}/new/inside"),
    ):
        answer = c.cmd(command)[-1]
        assert answer.split(b" ")[1:3] == [b"NO", code], (command, answer)
    c.close()


def test_fifty_clients_list_and_subscribe_at_once(stack: Stack) -> None:
    """Fifty sessions at once: each makes, subscribes and deletes its own folder (the kept
    subscriptions share one table) and mixes LIST-EXTENDED with malformed LISTs."""
    top = folder()
    setup = client(stack)
    setup.ok(f"CREATE {top}")
    setup.close()

    def one(n: int) -> list[bytes]:
        c = client(stack)
        name = f"{top}/c{n}"
        c.ok(f"CREATE {name}")
        c.ok(f"SUBSCRIBE {name}")
        bad = c.cmd(f'LIST (RECURSIVEMATCH) "" "{name}"' if n % 2 else f'LIST "" ("{name}"')
        c.ok(f"DELETE {name}")
        got = c.ok(f'LIST (SUBSCRIBED) "" ("{name}" "{name}/*")')
        if n % 3 == 0:
            c.ok(f"UNSUBSCRIBE {name}")
        c.close()
        return [bad[-1].split(b" ")[1], *got]

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, range(50)))
    for n, (status, *lines) in enumerate(results):
        assert status == b"BAD", (n, status)
        assert lines == [f'* LIST (\\NonExistent \\Subscribed) "/" "{top}/c{n}"'.encode()]
    c = client(stack)
    kept = c.ok(f'LSUB "" "{top}/*"')
    assert sorted(kept) == sorted(
        f'* LSUB () "/" "{top}/c{n}"'.encode() for n in range(50) if n % 3
    )
    c.close()


def test_folder_imported_under_a_kept_name_is_listed_once(stack: Stack, tmp_path: Path) -> None:
    top = folder()
    c = client(stack)
    c.ok(f"CREATE {top}/back")
    c.ok(f"SUBSCRIBE {top}/back")
    c.ok(f"DELETE {top}/back")
    maildir = tmp_path / "maildir"
    for sub in ("cur", "new", "tmp", f".{top}.back/cur", f".{top}.back/new", f".{top}.back/tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / f".{top}.back" / "cur" / "1700000000.1.host:2,S").write_bytes(mail("back"))
    stack.cli("mailbox", "import", USER, str(maildir), check=True)
    assert c.ok(f'LSUB "" "{top}/*"') == [f'* LSUB (\\HasNoChildren) "/" "{top}/back"'.encode()]
    assert c.ok(f'LIST (SUBSCRIBED) "" "{top}/*"') == [
        f'* LIST (\\HasNoChildren \\Subscribed) "/" "{top}/back"'.encode()
    ]
    c.close()
