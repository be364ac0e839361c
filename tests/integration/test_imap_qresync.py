"""QRESYNC (RFC 7162 3.2) against the running stack: ENABLE, VANISHED instead of EXPUNGE
(this session's EXPUNGE and MOVE, another session's expunges), SELECT with the QRESYNC
parameter (VANISHED (EARLIER) and the flags changed since), UID FETCH (CHANGEDSINCE
VANISHED), the CLOSED response code; with imaplib and with exact bytes."""

from __future__ import annotations

import imaplib
import itertools
import random
import re

import pytest

from tests.support.imap_raw import RawImap
from tests.support.stack import Stack

USER, PW = "quinn@example.test", "quinn-mailbox-pw"
_names = itertools.count(1)


@pytest.fixture(scope="module")
def stack(imap_stack: Stack) -> Stack:
    """The shared running stack (tests/integration/conftest.py) with this module's mailboxes."""
    imap_stack.add_mailboxes({USER: PW})
    return imap_stack


def client(stack: Stack) -> RawImap:
    c = RawImap(stack.ports["imap"])
    c.login(USER, PW)
    return c


def folder_with(c: RawImap, count: int) -> str:
    name = f"q{next(_names)}"
    c.ok(f"CREATE {name}")
    for n in range(count):
        c.append(name, f"Subject: m{n}\r\n\r\nbody {n}\r\n".encode())
    return name


def code(lines: list[bytes], name: bytes) -> int:
    for line in lines:
        m = re.search(rb"\[" + name + rb" (\d+)\]", line)
        if m:
            return int(m.group(1))
    raise AssertionError((name, lines))


def test_enable_and_the_capability(stack: Stack) -> None:
    c = client(stack)
    assert b" QRESYNC" in c.greeting
    assert c.ok("ENABLE QRESYNC") == [b"* ENABLED QRESYNC"]


def test_select_with_qresync_needs_it_enabled(stack: Stack) -> None:
    c = client(stack)
    name = folder_with(c, 1)
    assert c.cmd(f"SELECT {name} (QRESYNC (1 1))")[-1].split(b" ")[1] == b"BAD"
    c.ok("ENABLE QRESYNC")
    assert c.cmd(f"SELECT {name} (QRESYNC (1 1 1:*))")[-1].split(b" ")[1] == b"BAD"


def test_own_expunge_and_move_answer_vanished(stack: Stack) -> None:
    c = client(stack)
    name = folder_with(c, 6)
    c.ok("ENABLE QRESYNC")
    c.ok(f"SELECT {name}")
    c.ok("STORE 2,3,5 +FLAGS.SILENT (\\Deleted)")
    assert c.ok("EXPUNGE") == [b"* VANISHED 2:3,5"]
    lines = c.ok("UID MOVE 6 Archive")
    assert lines[-1] == b"* VANISHED 6"
    assert not [x for x in lines if x.endswith(b"EXPUNGE")]
    assert c.ok("UID EXPUNGE 1:*") == []  # nothing \Deleted left


def test_another_sessions_expunge_and_a_resync(stack: Stack) -> None:
    a, b = client(stack), client(stack)
    name = folder_with(a, 5)
    a.ok("ENABLE QRESYNC")
    selected = a.ok(f"SELECT {name}")
    validity, modseq = code(selected, b"UIDVALIDITY"), code(selected, b"HIGHESTMODSEQ")
    b.ok(f"SELECT {name}")
    b.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    assert a.ok("NOOP") == [b"* VANISHED 2,4"]  # not "* n EXPUNGE"
    b.ok("STORE 1 +FLAGS.SILENT (\\Flagged)")
    b.ok("STORE 3 +FLAGS.SILENT (\\Deleted)")  # UID 5
    b.ok("EXPUNGE")
    lines = a.ok(f"SELECT {name} (QRESYNC ({validity} {modseq}))")
    assert lines[0] == b"* OK [CLOSED] Previous mailbox closed"
    assert b"* 2 EXISTS" in lines
    vanished = lines.index(b"* VANISHED (EARLIER) 2,4:5")
    fetches = [x for x in lines if b" FETCH " in x]
    assert len(fetches) == 1 and lines.index(fetches[0]) > vanished
    assert re.fullmatch(rb"\* 1 FETCH \(UID 1 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)", fetches[0])
    # the known UIDs narrow it; another UIDVALIDITY gets a plain SELECT
    lines = a.ok(f"SELECT {name} (QRESYNC ({validity} {modseq} 3:4))")
    assert b"* VANISHED (EARLIER) 4" in lines
    assert not [x for x in lines if b" FETCH " in x]  # UID 1 is not among them
    lines = a.ok(f"SELECT {name} (QRESYNC ({validity + 1} {modseq}))")
    assert not [x for x in lines if b"VANISHED" in x or b" FETCH " in x]
    # UID FETCH ... (CHANGEDSINCE m VANISHED)
    lines = a.ok(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)")
    assert lines[0] == b"* VANISHED (EARLIER) 2,4:5"
    assert a.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")[-1].split(b" ")[1] == b"BAD"


def test_imaplib_resyncs_after_another_client_expunged(stack: Stack) -> None:
    a = imaplib.IMAP4("127.0.0.1", stack.ports["imap"])
    b = imaplib.IMAP4("127.0.0.1", stack.ports["imap"])
    try:
        a.login(USER, PW)
        b.login(USER, PW)
        name = f"q{next(_names)}"
        a.create(name)
        for n in range(4):
            a.append(name, None, None, f"Subject: i{n}\r\n\r\nx\r\n".encode())
        assert a._simple_command("ENABLE", "QRESYNC")[0] == "OK"
        a.select(name)
        validity = int(a.response("UIDVALIDITY")[1][0])
        modseq = int(a.response("HIGHESTMODSEQ")[1][0])
        a.close()
        b.select(name)
        b.store("1", "+FLAGS", "\\Deleted")
        b.expunge()
        b.store("2", "+FLAGS", "\\Seen")  # UID 3 now
        typ, _ = a._simple_command("SELECT", name, f"(QRESYNC ({validity} {modseq}))")
        assert typ == "OK"
        assert a.untagged_responses["VANISHED"] == [b"(EARLIER) 1"]
        assert a.untagged_responses["FETCH"][-1].startswith(b"2 (UID 3 FLAGS (\\Seen) MODSEQ")
    finally:
        a.logout()
        b.logout()


def test_enabling_in_a_selected_folder_tells_its_highestmodseq(stack: Stack) -> None:
    c = client(stack)
    name = folder_with(c, 1)
    c.ok(f"SELECT {name}")
    lines = c.ok("ENABLE QRESYNC")
    assert re.fullmatch(rb"\* OK \[HIGHESTMODSEQ \d+\] Highest", lines[0])
    assert lines[1] == b"* ENABLED QRESYNC"


def test_flag_changes_wait_with_an_expunge_that_must_wait(stack: Stack) -> None:
    # after FETCH (no expunge may be told then) a client keeping the highest MODSEQ it saw
    # must not see the later flag change before the earlier expunge
    a, b = client(stack), client(stack)
    name = folder_with(a, 3)
    a.ok("ENABLE QRESYNC")
    a.ok(f"SELECT {name}")
    b.ok(f"SELECT {name}")
    b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    b.ok("STORE 1 +FLAGS.SILENT (\\Flagged)")
    lines = a.ok("FETCH 3 (UID)")
    assert lines[0] == b"* 3 FETCH (UID 3)"
    assert not [x for x in lines if b"VANISHED" in x or b"UID 1 " in x]
    lines = a.ok("NOOP")
    assert lines[0] == b"* VANISHED 2"
    assert re.fullmatch(
        rb"\* 1 FETCH \(UID 1 FLAGS \(\\Flagged \\Recent\) MODSEQ \(\d+\)\)", lines[1]
    )


def _apply(model: dict[int, frozenset[bytes]], lines: list[bytes]) -> None:
    """A QRESYNC client's cache (UID -> flags) updated from untagged responses."""
    for line in lines:
        m = re.match(rb"\* VANISHED (?:\(EARLIER\) )?([\d:,]+)$", line)
        if m:
            for part in m.group(1).split(b","):
                lo, _, hi = part.partition(b":")
                for uid in range(int(lo), int(hi or lo) + 1):
                    model.pop(uid, None)
            continue
        m = re.match(rb"\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\)", line)
        if m:
            flags = frozenset(m.group(2).split()) - {b"\\Recent"}
            model[int(m.group(1))] = flags


def _truth(stack: Stack, name: str) -> dict[int, frozenset[bytes]]:
    c = client(stack)
    c.ok(f"EXAMINE {name}")
    model: dict[int, frozenset[bytes]] = {}
    _apply(model, c.ok("UID FETCH 1:* (FLAGS)"))
    c.close()
    return model


def _modseq_seen(highest: int, lines: list[bytes]) -> int:
    """A client's HIGHESTMODSEQ after a command (as imaptest keeps it): an untagged
    HIGHESTMODSEQ code resets it, then the highest MODSEQ of later FETCH responses."""
    seen = 0
    for line in lines:
        m = re.search(rb"\[HIGHESTMODSEQ (\d+)\]", line)
        if m:
            highest, seen = int(m.group(1)), 0
        m = re.search(rb" MODSEQ \((\d+)\)", line)
        if m:
            seen = max(seen, int(m.group(1)))
    return max(highest, seen)


@pytest.mark.parametrize("by_seq", [False, True])
def test_several_clients_resynchronise_to_the_truth(stack: Stack, by_seq: bool) -> None:
    """Seeded random STORE/EXPUNGE/MOVE by five sessions; each keeps a cache and the
    HIGHESTMODSEQ it saw from its responses, leaves and comes back with QRESYNC from it:
    every cache then equals the folder (by UID commands, or by sequence numbers, which
    delay other sessions' expunges)."""
    rnd = random.Random(7162)
    owner = client(stack)
    name = folder_with(owner, 40)
    sessions = []
    for _ in range(5):
        c = client(stack)
        c.ok("ENABLE QRESYNC")
        lines = c.ok(f"SELECT {name}")
        model: dict[int, frozenset[bytes]] = {}
        _apply(model, c.ok("UID FETCH 1:* (FLAGS)"))
        sessions.append([c, model, code(lines, b"UIDVALIDITY"), code(lines, b"HIGHESTMODSEQ")])
    for _ in range(80):
        session = rnd.choice(sessions)
        c, model = session[0], session[1]
        uids = sorted(model)
        if not uids:
            break
        chosen = sorted(rnd.sample(range(len(uids)), min(3, len(uids))))
        if by_seq:
            pick, verb = ",".join(str(i + 1) for i in chosen), ""
        else:
            pick, verb = ",".join(str(uids[i]) for i in chosen), "UID "
        action = rnd.choice(["flag", "flag", "delete", "expunge", "move", "noop", "fetch"])
        if action == "flag":
            flag = rnd.choice(["\\Seen", "\\Flagged", "$Work"])
            lines = c.ok(f"{verb}STORE {pick} {rnd.choice('+-')}FLAGS ({flag})")
        elif action == "delete":
            lines = c.ok(f"{verb}STORE {pick} +FLAGS (\\Deleted)")
        elif action == "expunge":
            lines = c.ok("EXPUNGE")
        elif action == "move":
            lines = c.ok(f"{verb}MOVE {pick} Archive")
        elif action == "fetch":
            lines = c.ok(f"{verb}FETCH {pick} (UID FLAGS MODSEQ)")
        else:
            lines = c.ok("NOOP")
        _apply(model, lines)
        session[3] = _modseq_seen(session[3], lines)
    truth = _truth(stack, name)
    for c, model, validity, modseq in sessions:
        c.ok("UNSELECT")  # what it was not told yet is forgotten: QRESYNC brings it back
        _apply(model, c.ok(f"SELECT {name} (QRESYNC ({validity} {modseq}))"))
        assert model == truth
        c.close()


def test_a_store_while_an_expunge_waits_tells_a_lower_highestmodseq(stack: Stack) -> None:
    # RFC 5162 erratum 1810: the STORE's own MODSEQ is above the expunge it may not tell yet
    a, b = client(stack), client(stack)
    name = folder_with(a, 3)
    a.ok("ENABLE QRESYNC")
    validity = code(a.ok(f"SELECT {name}"), b"UIDVALIDITY")
    b.ok(f"SELECT {name}")
    b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    b.ok("EXPUNGE")
    lines = a.ok("STORE 3 +FLAGS (\\Seen)")
    m = re.fullmatch(rb"\* 3 FETCH \(UID 3 FLAGS \(\\Recent \\Seen\) MODSEQ \((\d+)\)\)", lines[0])
    assert m, lines
    highest = code(lines[1:], b"HIGHESTMODSEQ")
    assert highest < int(m.group(1))
    a.ok("UNSELECT")  # the expunge was never told: resynchronising from `highest` tells it
    lines = a.ok(f"SELECT {name} (QRESYNC ({validity} {highest}))")
    assert b"* VANISHED (EARLIER) 2" in lines
