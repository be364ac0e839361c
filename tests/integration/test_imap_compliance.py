"""IMAP behaviours Dovecot's imaptest checks (issue 12), pinned against the running stack with
exact bytes (tests/support/imap_raw.py) and imaplib, so CI guards them without imaptest."""

from __future__ import annotations

import imaplib
import itertools
import re
import smtplib
from collections.abc import Iterator

import pytest

from tests.support.imap_raw import RawImap
from tests.support.stack import Stack

USER, PW = "tess@example.test", "tess-mailbox-pw"
OTHER, OTHER_PW = "otto@example.test", "otto-mailbox-pw"
SMALL, SMALL_PW = "small@example.test", "small-mailbox-pw"  # a 3000-byte quota
_names = itertools.count(1)
LIMIT = 100_000  # [smtp] max_message_size: the one limit for SMTP and IMAP APPEND


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(
        tmp_path_factory.mktemp("imapc"),
        imap={"allow_plaintext_loopback": True},
        smtp={"max_message_size": LIMIT},
    )
    s.provision(mailboxes={USER: PW, OTHER: OTHER_PW})
    s.cli("mailbox", "add", SMALL, "--quota", "3000", "--password-stdin", stdin=SMALL_PW + "\n")
    s.start()
    yield s
    s.stop()


def folder() -> str:
    """A folder name no other test uses."""
    return f"t{next(_names)}"


def client(stack: Stack, user: str = USER, pw: str = PW) -> RawImap:
    c = RawImap(stack.ports["imap"])
    c.login(user, pw)
    return c


def mail(subject: str, extra: str = "") -> bytes:
    return (
        f"From: a@example.org\r\nTo: {USER}\r\nSubject: {subject}\r\n{extra}"
        f"Date: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\nbody of {subject}\r\n"
    ).encode()


def untagged(lines: list[bytes], word: bytes) -> list[bytes]:
    """The untagged responses whose first word (after any number) is `word`."""
    out = []
    for line in lines:
        parts = line.split(b" ", 3)
        if parts[0] != b"*" or len(parts) < 2:
            continue
        if parts[1].upper() == word or (len(parts) > 2 and parts[2].upper() == word):
            out.append(line)
    return out


# -- 1. a folder deleted and made again is a new folder ---------------------------------------


def test_recreated_folder_has_new_uidvalidity_and_no_stale_data(stack: Stack) -> None:
    name = folder()
    c = client(stack)
    c.ok(f"CREATE {name}")
    c.append(name, mail("old subject"))
    (status,) = untagged(c.ok(f"STATUS {name} (UIDVALIDITY UIDNEXT)"), b"STATUS")
    c.ok(f"SELECT {name}")
    assert untagged(c.ok("SEARCH SUBJECT old"), b"SEARCH") == [b"* SEARCH 1"]
    assert b"old subject" in c.ok("FETCH 1 ENVELOPE")[0]  # the envelope cache is filled
    c.ok("UNSELECT")
    c.ok(f"DELETE {name}")
    c.ok(f"CREATE {name}")  # the same second, most likely
    c.append(name, mail("new subject"))
    (again,) = untagged(c.ok(f"STATUS {name} (UIDVALIDITY UIDNEXT)"), b"STATUS")
    old_validity = int(re.search(rb"UIDVALIDITY (\d+)", status)[1])  # type: ignore[index]
    new_validity = int(re.search(rb"UIDVALIDITY (\d+)", again)[1])  # type: ignore[index]
    assert new_validity > old_validity
    c.ok(f"SELECT {name}")
    assert untagged(c.ok("SEARCH SUBJECT new"), b"SEARCH") == [b"* SEARCH 1"]
    assert untagged(c.ok("SEARCH SUBJECT old"), b"SEARCH") == [b"* SEARCH"]
    (env,) = c.ok("FETCH 1 ENVELOPE")
    assert b'"new subject"' in env and b"old" not in env
    c.close()


def test_recreated_folder_with_imaplib(stack: Stack) -> None:
    name = folder()
    m = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=10)
    m.login(USER, PW)
    m.create(name)
    m.append(name, None, None, mail("first"))
    m.select(name)
    assert m.search(None, "SUBJECT", "first")[1] == [b"1"]
    m.unselect()
    m.delete(name)
    m.create(name)
    m.append(name, None, None, mail("second"))
    m.select(name)
    assert m.search(None, "SUBJECT", "first")[1] == [b""]
    assert m.search(None, "SUBJECT", "second")[1] == [b"1"]
    m.logout()


# -- 4. COPY: the copies are \Recent, and a session with the destination open is told -------


def test_copies_are_recent_and_the_destination_session_gets_exists_and_recent(
    stack: Stack,
) -> None:
    src, dest = folder(), folder()
    a, b = client(stack), client(stack)
    a.ok(f"CREATE {src}")
    a.ok(f"CREATE {dest}")
    for i in range(3):
        a.append(src, mail(f"copy {i}"))
    a.ok(f"SELECT {src}")
    a.ok("STORE 1 FLAGS (\\Seen)")
    a.ok("STORE 2 FLAGS (\\Answered \\Flagged $Work)")
    b.ok(f"SELECT {dest}")
    assert b"OK [COPYUID " in a.cmd(f"COPY 1:2 {dest}")[-1]
    lines = b.ok("NOOP")
    assert lines == [b"* 2 EXISTS", b"* 2 RECENT"], lines
    fetched = b.ok("FETCH 1:2 (FLAGS)")
    assert b"* 1 FETCH (FLAGS (\\Recent \\Seen))" in fetched, fetched
    assert b"* 2 FETCH (FLAGS ($Work \\Answered \\Flagged \\Recent))" in fetched, fetched
    a.cmd(f"COPY 3 {dest}")
    assert b.ok("NOOP") == [b"* 3 EXISTS", b"* 3 RECENT"]
    c = client(stack)  # \Recent belongs to the session that saw the copies first
    assert b"* 0 RECENT" in c.ok(f"SELECT {dest}")
    for s in (a, b, c):
        s.close()


def test_copy_into_a_folder_nobody_has_open_is_recent_at_next_select(stack: Stack) -> None:
    src, dest = folder(), folder()
    a = client(stack)
    a.ok(f"CREATE {src}")
    a.ok(f"CREATE {dest}")
    a.append(src, mail("one"), flags="(\\Seen)")
    a.ok(f"SELECT {src}")
    a.ok(f"COPY 1 {dest}")
    assert b"* 1 RECENT" in a.ok(f"SELECT {dest}")
    assert a.ok("FETCH 1 FLAGS") == [b"* 1 FETCH (FLAGS (\\Recent \\Seen))"]
    a.close()


# -- 5. MOVE into the selected folder ------------------------------------------------------


def test_move_into_the_selected_folder_expunges_and_announces_the_copy(stack: Stack) -> None:
    name = folder()
    c = client(stack)
    c.ok(f"CREATE {name}")
    for i in range(3):
        c.append(name, mail(f"move {i}"))
    (status,) = untagged(c.ok(f"STATUS {name} (UIDVALIDITY)"), b"STATUS")
    validity = re.search(rb"UIDVALIDITY (\d+)", status)[1]  # type: ignore[index]
    c.ok(f"SELECT {name}")
    lines = c.ok(f"MOVE 2 {name}")
    assert lines == [
        b"* OK [COPYUID %s 2 4] Moved" % validity,
        b"* 2 EXPUNGE",
        b"* 3 EXISTS",
        b"* 3 RECENT",  # the two left (recent since SELECT) and the copy
    ], lines
    assert c.ok("FETCH 1:* (UID)") == [
        b"* 1 FETCH (UID 1)",
        b"* 2 FETCH (UID 3)",
        b"* 3 FETCH (UID 4)",
    ]
    lines = c.ok(f"UID MOVE 1 {name}")
    assert lines[1:] == [b"* 1 EXPUNGE", b"* 3 EXISTS", b"* 3 RECENT"], lines
    c.close()


# -- 6. LSUB % and subscriptions -------------------------------------------------------------


def test_lsub_percent_lists_an_unsubscribed_parent_of_a_subscribed_child_as_noselect(
    stack: Stack,
) -> None:
    top = folder()
    c = client(stack)
    for name in ("a", "b/", "b/x", "c/", "c/y", "d/"):
        c.ok(f"CREATE {top}/{name}")
    c.ok(f"SUBSCRIBE {top}/a")
    c.ok(f"SUBSCRIBE {top}/b/x")
    c.ok(f"SUBSCRIBE {top}/c/y")
    lines = c.ok(f'LSUB "" {top}/%')
    got = {
        line.rsplit(b" ", 1)[1].strip(b'"').decode(): line.split(b"(")[1].split(b")")[0]
        for line in lines
    }
    assert set(got) == {f"{top}/a", f"{top}/b", f"{top}/c"}, lines
    assert b"\\Noselect" not in got[f"{top}/a"]
    assert b"\\Noselect" in got[f"{top}/b"] and b"\\Noselect" in got[f"{top}/c"]
    # with * the subscribed children themselves match: no \Noselect parents
    lines = c.ok(f'LSUB "" {top}/*')
    assert sorted(line.rsplit(b" ", 1)[1].strip(b'"').decode() for line in lines) == [
        f"{top}/a",
        f"{top}/b/x",
        f"{top}/c/y",
    ]
    c.ok(f"UNSUBSCRIBE {top}/c/y")
    lines = c.ok(f'LSUB "" {top}/%')
    assert not any(f"{top}/c".encode() in line for line in lines), lines
    c.close()


def test_create_does_not_subscribe(stack: Stack) -> None:
    top = folder()
    m = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=10)
    m.login(USER, PW)
    m.create(f"{top}/child")
    assert m.lsub('""', f"{top}*") == ("OK", [None])
    m.subscribe(f"{top}/child")
    typ, data = m.lsub('""', f"{top}*")
    assert [d.rsplit(b" ", 1)[1] for d in data] == [f'"{top}/child"'.encode()]
    typ, data = m.list('""', f"{top}*")
    assert len(data) == 2  # both exist
    m.logout()


def test_default_folders_stay_subscribed(stack: Stack) -> None:
    c = client(stack, OTHER, OTHER_PW)
    names = {line.rsplit(b" ", 1)[1].strip(b'"') for line in c.ok('LSUB "" *')}
    assert {b"INBOX", b"Sent", b"Drafts", b"Trash", b"Junk", b"Archive"} <= names
    c.close()


# -- 7. atoms holding "[" --------------------------------------------------------------------


def test_atom_with_a_bracket_is_a_mailbox_name_not_a_syntax_error(stack: Stack) -> None:
    c = client(stack)
    odd = b"!#$&'+,-.0123456789:;<=>?@^_`|[}"
    answer = c.cmd(b"SELECT " + odd)[-1]
    assert answer.split(b" ")[1] == b"NO", answer
    assert c.ok(b'LIST "" ' + odd + b"%*") == []
    assert c.ok(b"CREATE x[1") == []
    assert c.ok(b'LIST "" x[*') == [b'* LIST (\\HasNoChildren) "/" "x[1"']
    assert b"* 0 EXISTS" in c.ok(b"SELECT x[1")
    c.ok("NOOP")  # the connection is still in step
    c.close()


# -- 8. a keyword is announced in FLAGS before any FETCH shows it ----------------------------


def _check_flags_announced(lines: list[bytes], known: set[bytes]) -> set[bytes]:
    """Walks responses in order like a strict client (imaptest): every keyword a FETCH shows
    must be in the last untagged FLAGS, and PERMANENTFLAGS must follow each FLAGS."""
    for i, line in enumerate(lines):
        if line.startswith(b"* FLAGS ("):
            known = set(line[len(b"* FLAGS (") : line.rindex(b")")].split())
            assert lines[i + 1].startswith(b"* OK [PERMANENTFLAGS ("), lines
        m = re.search(rb"FETCH \(.*FLAGS \(([^)]*)\)", line)
        if m and line.startswith(b"* "):
            for flag in m[1].split():
                assert flag.startswith(b"\\") or flag in known, (flag, lines)
    return known


def _select(c: RawImap, name: str) -> set[bytes]:
    lines = c.ok(f"SELECT {name}")
    return _check_flags_announced(lines, set())


def test_keywords_from_other_sessions_are_announced_before_fetch(stack: Stack) -> None:
    name = folder()
    a, b = client(stack), client(stack)
    a.ok(f"CREATE {name}")
    a.append(name, mail("k1"))
    known_a = _select(a, name)
    known_b = _select(b, name)
    # another session stores a new keyword: b hears of it before the FETCH that shows it
    a_lines = a.ok("STORE 1 +FLAGS ($Label1)")
    known_a = _check_flags_announced(a_lines, known_a)
    lines = b.ok("NOOP")
    assert any(line.startswith(b"* FLAGS (") for line in lines), lines
    known_b = _check_flags_announced(lines, known_b)
    # a message appended with a keyword by another session, then fetched
    b.append(name, mail("k2"), flags="($Label2 \\Flagged)")
    lines = a.ok("NOOP") + a.ok("FETCH 1:* (FLAGS)")
    known_a = _check_flags_announced(lines, known_a)
    assert b"$Label2" in known_a
    # copied in with a keyword, seen through IDLE-less NOOP then FETCH
    other = folder()
    a.ok(f"CREATE {other}")
    a.append(other, mail("k3"), flags="($Label3)")
    a.ok(f"SELECT {other}")
    a.ok(f"COPY 1 {name}")
    lines = b.ok("NOOP") + b.ok("FETCH 1:* (FLAGS)")
    _check_flags_announced(lines, known_b)
    a.close()
    b.close()


def test_own_store_of_several_new_keywords_announces_them_once(stack: Stack) -> None:
    name = folder()
    c = client(stack)
    c.ok(f"CREATE {name}")
    c.append(name, mail("k"))
    known = _select(c, name)
    lines = c.ok("STORE 1 +FLAGS ($A $B)")
    flags_lines = [line for line in lines if line.startswith(b"* FLAGS")]
    assert len(flags_lines) == 1 and b"$A $B" in flags_lines[0], lines
    _check_flags_announced(lines, known)
    c.close()


# -- 9. one message size limit for SMTP and APPEND -------------------------------------------


def test_append_limit_is_smtp_max_message_size_and_refused_before_sending(stack: Stack) -> None:
    c = client(stack)
    (caps,) = c.ok("CAPABILITY")
    assert b" APPENDLIMIT=%d" % LIMIT in caps, caps
    c.ok(f"CREATE {(name := folder())}")
    # a synchronizing literal over the limit: refused at once, no "+", the data never sent
    c.send(b"big APPEND %s {%d}\r\n" % (name.encode(), LIMIT + 1))
    answer = c.line()
    assert answer.startswith(b"big NO [TOOBIG]"), answer
    c.ok("NOOP")  # still in step
    body = mail("at the limit")
    exact = body + b"x" * (LIMIT - len(body))
    c.append(name, exact)
    (status,) = untagged(c.ok(f"STATUS {name} (MESSAGES)"), b"STATUS")
    assert status.endswith(b"(MESSAGES 1)")
    c.close()
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.esmtp_features["size"] == str(LIMIT)
        code, _ = smtp.docmd(f"MAIL FROM:<a@example.org> SIZE={LIMIT + 1}")
        assert code == 552


# -- extensions: ESEARCH (RFC 4731) ----------------------------------------------------------


def esearch(c: RawImap, command: str) -> bytes:
    """The ESEARCH line of `command` after its `(TAG "...")`, checking the tag is the command's."""
    lines = c.cmd(command)
    tag = lines[-1].split(b" ")[0]
    assert lines[-1].startswith(tag + b" OK"), lines
    (line,) = lines[:-1]
    head = b'* ESEARCH (TAG "' + tag + b'")'
    assert line.startswith(head), lines
    return line[len(head) :].strip()


def test_esearch(stack: Stack) -> None:
    name = folder()
    c = client(stack)
    (caps,) = c.ok("CAPABILITY")
    assert b" ESEARCH" in caps
    c.ok(f"CREATE {name}")
    for i in range(6):
        c.append(name, mail(f"es {i}"))
    c.ok(f"SELECT {name}")
    c.ok("STORE 4 +FLAGS (\\Deleted)")
    c.ok("EXPUNGE")  # UIDs 1 2 3 5 6 at sequence numbers 1..5
    c.ok("STORE 2,4 +FLAGS (\\Seen)")
    assert esearch(c, "SEARCH RETURN () ALL") == b"ALL 1:5"
    assert esearch(c, "UID SEARCH RETURN (MIN MAX COUNT ALL) ALL") == (
        b"UID MIN 1 MAX 6 ALL 1:3,5:6 COUNT 5"
    )
    assert esearch(c, "UID SEARCH RETURN (ALL) SEEN") == b"UID ALL 2,5"
    assert esearch(c, "SEARCH RETURN (MIN) SEEN") == b"MIN 2"
    assert esearch(c, "SEARCH RETURN (MIN COUNT) CHARSET UTF-8 SUBJECT nothing-like") == (
        b"COUNT 0"
    )
    assert esearch(c, "UID SEARCH RETURN (MAX) 1000") == b"UID"
    # an option no extension offered here defines (RELEVANCY is SEARCH=FUZZY): BAD
    assert c.cmd("SEARCH RETURN (RELEVANCY) ALL")[-1].split(b" ")[1] == b"BAD"
    assert c.ok("SEARCH SEEN") == [b"* SEARCH 2 4"]  # plain SEARCH unchanged
    c.close()


def test_esearch_with_modseq_and_the_first_condstore_command(stack: Stack) -> None:
    name = folder()
    c = client(stack)
    c.ok(f"CREATE {name}")
    for i in range(3):
        c.append(name, mail(f"em {i}"))
    c.ok(f"SELECT {name}")
    first = c.ok("FETCH 1 (MODSEQ)")  # CONDSTORE-enabling: HIGHESTMODSEQ comes with it
    assert first[0].startswith(b"* OK [HIGHESTMODSEQ "), first
    assert c.ok("FETCH 1 (MODSEQ)")[0].startswith(b"* 1 FETCH")  # only the first time
    modseq = {}
    for seq in (1, 3, 2):
        (line,) = c.ok(f"STORE {seq} +FLAGS (\\Seen)")
        modseq[seq] = int(re.search(rb"MODSEQ \((\d+)\)", line)[1])  # type: ignore[index]
    query = '1:3 MODSEQ "/flags/\\\\seen" all 1'
    assert esearch(c, f"SEARCH RETURN (MIN) {query}") == b"MIN 1 MODSEQ %d" % modseq[1]
    assert esearch(c, f"SEARCH RETURN (MAX) {query}") == b"MAX 3 MODSEQ %d" % modseq[3]
    assert esearch(c, f"SEARCH RETURN (ALL) {query}") == b"ALL 1:3 MODSEQ %d" % modseq[2]
    c.close()


# -- extensions: LIST-STATUS (RFC 5819) ------------------------------------------------------


def test_list_return_status(stack: Stack) -> None:
    top = folder()
    c = client(stack)
    (caps,) = c.ok("CAPABILITY")
    assert b" LIST-STATUS" in caps
    c.ok(f"CREATE {top}/a")
    c.append(f"{top}/a", mail("ls 1"))
    c.append(f"{top}/a", mail("ls 2"), flags="(\\Seen)")
    c.ok(f"SUBSCRIBE {top}/a")
    lines = c.ok(f'LIST "" "{top}*" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT) SUBSCRIBED)')
    assert lines == [
        f'* LIST (\\HasChildren) "/" "{top}"'.encode(),
        f'* STATUS "{top}" (MESSAGES 0 UNSEEN 0 UIDNEXT 1)'.encode(),
        f'* LIST (\\HasNoChildren \\Subscribed) "/" "{top}/a"'.encode(),
        f'* STATUS "{top}/a" (MESSAGES 2 UNSEEN 1 UIDNEXT 3)'.encode(),
    ], lines
    assert c.ok(f'LIST "" "{top}" RETURN (CHILDREN)') == [
        f'* LIST (\\HasChildren) "/" "{top}"'.encode()
    ]
    for bad in ("RETURN (STATUS (BOGUS))", "RETURN (NOPE)", "RETURN STATUS"):
        answer = c.cmd(f'LIST "" "{top}" {bad}')[-1]
        assert answer.split(b" ")[1] == b"BAD", (bad, answer)
    c.close()


def test_list_status_with_imaplib(stack: Stack) -> None:
    top = folder()
    m = imaplib.IMAP4("127.0.0.1", stack.ports["imap"], timeout=10)
    m.login(USER, PW)
    m.create(top)
    m.append(top, None, None, mail("via imaplib"))
    typ, data = m._simple_command("LIST", '""', top, "RETURN", "(STATUS (MESSAGES))")
    assert typ == "OK"
    assert m.untagged_responses["STATUS"] == [f'"{top}" (MESSAGES 1)'.encode()]
    m.logout()


# -- fifty sessions at once on one mailbox index -------------------------------------------


def test_fifty_sessions_recreating_folders_never_share_a_uidvalidity(stack: Stack) -> None:
    """Each session deletes and creates its own folder again and again on the same mailbox
    index, with wrong input in between; every incarnation of every folder gets its own
    UIDVALIDITY, larger than the one before, and nobody sees another's message."""
    import threading

    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            c = client(stack)
            name = f"race{n}"
            seen: list[int] = []
            for round_ in range(3):
                c.cmd(f"DELETE {name}")
                c.ok(f"CREATE {name}")
                lines = c.append(name, mail(f"race {n} {round_}"))
                seen.append(int(re.search(rb"APPENDUID (\d+) 1\]", lines[-1])[1]))  # type: ignore[index]
                assert c.cmd(b"SELECT x[" + b"(" * 20)[-1].split(b" ")[1] == b"BAD"
                c.send(b"big APPEND %s {%d}\r\n" % (name.encode(), LIMIT + 1))
                assert c.line().startswith(b"big NO [TOOBIG]")
                c.ok(f"SELECT {name}")
                assert untagged(c.ok("SEARCH SUBJECT race"), b"SEARCH") == [b"* SEARCH 1"]
                (env,) = c.ok("FETCH 1 ENVELOPE")
                assert f'"race {n} {round_}"'.encode() in env, env
                c.ok("UNSELECT")
            results[n] = seen
            c.close()
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    assert len(results) == 50
    every = [v for seen in results.values() for v in seen]
    assert len(set(every)) == len(every)  # no UIDVALIDITY given twice
    for seen in results.values():
        assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert "Traceback" not in stack.log()


# -- extensions: MULTIAPPEND (RFC 3502) ------------------------------------------------------


def test_multiappend_stores_every_message_in_order(stack: Stack) -> None:
    name = folder()
    c = client(stack)
    (caps,) = c.ok("CAPABILITY")
    assert b" MULTIAPPEND" in caps
    c.ok(f"CREATE {name}")
    m1, m2, m3 = mail("multi 1"), mail("multi 2"), mail("multi 3")
    c.send(b"ma APPEND %s {%d}\r\n" % (name.encode(), len(m1)))
    assert c.line().startswith(b"+ ")
    c.send(m1 + b' (\\Seen $Multi) "05-Feb-2021 10:20:30 +0000" {%d}\r\n' % len(m2))
    assert c.line().startswith(b"+ ")  # a synchronizing literal each time
    c.send(m2 + b" {%d+}\r\n" % len(m3) + m3 + b"\r\n")
    (tagged,) = c.until(b"ma")
    (status,) = untagged(c.ok(f"STATUS {name} (UIDVALIDITY)"), b"STATUS")
    validity = re.search(rb"UIDVALIDITY (\d+)", status)[1]  # type: ignore[index]
    assert tagged == b"ma OK [APPENDUID %s 1:3] APPEND completed" % validity
    c.ok(f"SELECT {name}")
    lines = c.ok("FETCH 1:3 (FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert [b"multi %d" % i in line for i, line in enumerate(lines, 1)] == [True] * 3, lines
    assert b"FLAGS ($Multi \\Seen)" in lines[1]
    assert b'INTERNALDATE "05-Feb-2021 10:20:30 +0000"' in lines[1]
    c.close()


def test_multiappend_is_all_or_nothing(stack: Stack) -> None:
    c = client(stack, SMALL, SMALL_PW)
    watcher = client(stack, SMALL, SMALL_PW)
    watcher.ok("SELECT INBOX")
    small, big = mail("fits"), mail("too big", extra="X-Pad: " + "p" * 3000 + "\r\n")
    # the second is over quota: the first, stored already, goes again
    c.send(b"q1 APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s\r\n" % (len(small), small, len(big), big))
    (answer,) = c.until(b"q1")
    assert answer.startswith(b"q1 NO [OVERQUOTA]"), answer
    # a bad date-time in the second: refused before anything is stored
    c.send(b'q2 APPEND INBOX {%d+}\r\n%s "bogus" {%d+}\r\n%s\r\n' % (len(small), small, 2, b"m2"))
    (answer,) = c.until(b"q2")
    assert answer.startswith(b"q2 BAD"), answer
    assert untagged(c.ok("STATUS INBOX (MESSAGES)"), b"STATUS") == [
        b'* STATUS "INBOX" (MESSAGES 0)'
    ]
    lines = watcher.ok("NOOP")  # it may have seen the first arrive and go; it ends with none
    assert watcher.ok("SEARCH ALL") == [b"* SEARCH"], lines
    # and the quota is whole again: one small message in two goes in
    c.send(b"q3 APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s\r\n" % (len(small), small, len(small), small))
    assert c.until(b"q3")[-1].startswith(b"q3 OK [APPENDUID ")
    c.close()
    watcher.close()
