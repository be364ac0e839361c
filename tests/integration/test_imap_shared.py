"""Several users of one address, on IMAP, against the running stack (issue 11, section 2):
AUTHENTICATE PLAIN with an authorization identity, the shared namespace with RFC 4314 rights
(read-only or full per grant), \\Seen kept per user there, a revoked grant ending access at
the next command, and the `mailbox` verbs that manage all this. Clients: imaplib, aioimaplib.

Bob and Carol are accounts (their logins are their own addresses); info@ is shared by both
(full), news@ is read-only for Bob; each mailbox has its own password."""

from __future__ import annotations

import asyncio
import concurrent.futures
import imaplib
import json
import re
import smtplib
import ssl
from collections.abc import Iterator

import aioimaplib
import pytest

from tests.support.stack import Stack

DOMAIN = "example.test"
BOB, CAROL, INFO, NEWS, DORA = (f"{n}@{DOMAIN}" for n in ("bob", "carol", "info", "news", "dora"))
PW = {BOB: "bob-mailbox-pw", CAROL: "carol-mailbox-pw", INFO: "info-mailbox-pw"}
PW |= {NEWS: "news-mailbox-pw", DORA: "dora-mailbox-pw"}
ACCOUNT_PW = "account-password-1"
SHARED_INBOX = f'"Shared Folders/{INFO}/INBOX"'
NEWS_INBOX = f'"Shared Folders/{NEWS}/INBOX"'


def message(subject: str, to: str = INFO) -> bytes:
    return (
        f"From: a@example.org\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\nbody of {subject}\r\n"
    ).encode()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("imap-shared"))
    s.provision(mailboxes=PW, accounts={BOB: ACCOUNT_PW, CAROL: ACCOUNT_PW})
    s.cli("mailbox", "grant", INFO, BOB, check=True)
    s.cli("mailbox", "grant", INFO, CAROL, check=True)
    s.cli("mailbox", "grant", NEWS, BOB, "--read-only", check=True)
    s.start()
    with smtplib.SMTP("127.0.0.1", s.ports["smtp_mx"], timeout=10) as smtp:
        for i in range(1, 4):
            smtp.sendmail("a@example.org", [INFO], message(f"info {i}"))
        smtp.sendmail("a@example.org", [NEWS], message("news 1", NEWS))
    yield s
    s.stop()


def tls(stack: Stack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.ca_file))


def connect(stack: Stack) -> imaplib.IMAP4_SSL:
    return imaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls(stack), timeout=10)


def login(stack: Stack, user: str) -> imaplib.IMAP4_SSL:
    m = connect(stack)
    m.login(user, PW[user])
    return m


def proxy(stack: Stack, authzid: str, authcid: str, password: str) -> imaplib.IMAP4_SSL:
    m = connect(stack)
    m.authenticate("PLAIN", lambda _: f"{authzid}\0{authcid}\0{password}".encode())
    return m


def flags_of(m: imaplib.IMAP4_SSL, seq: str = "1:*") -> dict[int, set[str]]:
    typ, data = m.fetch(seq, "(FLAGS)")
    assert typ == "OK", data
    out = {}
    for item in data:
        text = item.decode() if isinstance(item, bytes) else item[0].decode()
        found = re.match(r"(\d+) \(.*FLAGS \(([^)]*)\)", text)
        assert found, text
        out[int(found[1])] = set(found[2].split())
    return out


def refused(result: tuple[str, list[object]], code: str) -> None:
    """A tagged NO carrying the response code `code` (imaplib returns NO, raises on BAD)."""
    typ, data = result
    assert typ == "NO" and isinstance(data[0], bytes) and f"[{code}]".encode() in data[0], data


def untagged(m: imaplib.IMAP4_SSL, name: str) -> list[bytes]:
    return [x for x in m.untagged_responses.pop(name, []) if isinstance(x, bytes)]


# -- SASL PLAIN with an authorization identity ------------------------------------------------


def test_authenticate_plain_as_the_shared_address(stack: Stack) -> None:
    """Issue 11: Bob could not reach info@ over IMAP with any password of his. Now: his own
    mailbox's password, authorization identity info@."""
    m = proxy(stack, INFO, BOB, PW[BOB])
    typ, data = m.select("INBOX")
    assert typ == "OK" and int(data[0]) == 3
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"Subject: info 1" in data[0][1]
    typ, data = m.namespace()
    assert data == [b'(("" "/")) NIL NIL']  # the session *is* info@: no shared namespace
    m.logout()


@pytest.mark.parametrize(
    "authzid, authcid, password",
    [
        (NEWS, BOB, PW[BOB]),  # a read-only grant does not make Bob news@
        (CAROL, BOB, PW[BOB]),  # no grant
        (INFO, BOB, "wrong"),  # wrong password
        (INFO, BOB, ACCOUNT_PW),  # the account password never opens a mailbox
        (BOB, INFO, PW[INFO]),  # info@'s password stands for nobody: no owner
        (INFO, DORA, PW[DORA]),  # dora has no account at all
    ],
)
def test_authenticate_plain_authzid_refused(
    stack: Stack, authzid: str, authcid: str, password: str
) -> None:
    m = connect(stack)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.authenticate("PLAIN", lambda _: f"{authzid}\0{authcid}\0{password}".encode())
    m.logout()


# -- the shared namespace ---------------------------------------------------------------------


def test_namespace_list_and_rights(stack: Stack) -> None:
    m = login(stack, BOB)
    typ, data = m.namespace()
    assert data == [b'(("" "/")) NIL (("Shared Folders/" "/"))']
    typ, listing = m.list()
    names = b"\n".join(x for x in listing if isinstance(x, bytes))
    assert b'(\\Noselect \\HasChildren) "/" "Shared Folders"' in names
    assert f'"/" "Shared Folders/{INFO}/INBOX"'.encode() in names
    assert f'"/" "Shared Folders/{INFO}/Sent"'.encode() in names
    assert f'"/" "Shared Folders/{NEWS}/INBOX"'.encode() in names
    assert b"Shared Folders/carol" not in names
    typ, top = m.list('""', "%")
    assert any(b'"Shared Folders"' in x for x in top if isinstance(x, bytes))
    typ, subscribed = m.lsub('""', '"Shared Folders/*"')
    shared_lines = [x for x in listing if isinstance(x, bytes) and b'"Shared Folders/' in x]
    assert sorted(x for x in subscribed if x) == sorted(shared_lines)  # all count as subscribed
    assert m.myrights(SHARED_INBOX)[1] == [f'"Shared Folders/{INFO}/INBOX" lrswite'.encode()]
    assert m.myrights(NEWS_INBOX)[1] == [f'"Shared Folders/{NEWS}/INBOX" lrs'.encode()]
    assert m.myrights("INBOX")[1] == [b'"INBOX" lrswipkxtecda']
    refused(m.getacl(SHARED_INBOX), "NOPERM")
    refused(m.myrights(f'"Shared Folders/{CAROL}/INBOX"'), "NONEXISTENT")
    refused(m.setacl("INBOX", CAROL, "lr"), "CANNOT")
    typ, data = m.status(SHARED_INBOX, "(MESSAGES UNSEEN)")
    assert data == [f'"Shared Folders/{INFO}/INBOX" (MESSAGES 3 UNSEEN 3)'.encode()]
    refused(m.create(f'"Shared Folders/{INFO}/New"'), "NOPERM")
    refused(m.delete(f'"Shared Folders/{INFO}/Sent"'), "NOPERM")
    refused(m.rename(f'"Shared Folders/{INFO}/Sent"', "Mine"), "NOPERM")
    refused(m.rename("Drafts", '"Shared Folders/x"'), "NOPERM")
    m.logout()
    # the address itself sees who else uses it (GETACL needs the administer right)
    m = login(stack, INFO)
    typ, data = m.getacl("INBOX")
    acl = f'"INBOX" "{INFO}" lrswipkxtecda "{BOB}" lrswite "{CAROL}" lrswite'
    assert data == [acl.encode()]
    imaplib.Commands.setdefault("LISTRIGHTS", ("AUTH", "SELECTED"))  # imaplib lacks it
    typ, data = m._simple_command("LISTRIGHTS", "INBOX", BOB)
    assert typ == "OK" and untagged(m, "LISTRIGHTS") == [f'"INBOX" "{BOB}" "" lrs wite'.encode()]
    m.logout()


def test_seen_is_kept_per_user_in_the_shared_namespace(stack: Stack) -> None:
    bob, carol, info = login(stack, BOB), login(stack, CAROL), login(stack, INFO)
    for m in (bob, carol):
        typ, data = m.select(SHARED_INBOX)
        assert typ == "OK" and int(data[0]) == 3
    info.select("INBOX")
    bob.fetch("1", "(BODY[TEXT])")  # sets \Seen for Bob only
    carol.store("2", "+FLAGS", "(\\Seen)")
    bob.store("3", "+FLAGS", "(\\Flagged)")  # other flags are shared
    assert {n: f & {"\\Seen", "\\Flagged"} for n, f in flags_of(bob).items()} == {
        1: {"\\Seen"},
        2: set(),
        3: {"\\Flagged"},
    }
    assert {n: f & {"\\Seen", "\\Flagged"} for n, f in flags_of(carol).items()} == {
        1: set(),
        2: {"\\Seen"},
        3: {"\\Flagged"},
    }
    # the address's own \Seen is untouched by both
    assert {n: f & {"\\Seen", "\\Flagged"} for n, f in flags_of(info).items()} == {
        1: set(),
        2: set(),
        3: {"\\Flagged"},
    }
    carol.store("2", "-FLAGS", "(\\Seen)")
    carol.store("1:3", "FLAGS", "(\\Seen)")  # FLAGS = replaces, \Flagged included
    assert flags_of(carol) == {1: {"\\Seen"}, 2: {"\\Seen"}, 3: {"\\Seen"}}
    assert flags_of(bob) == {1: {"\\Seen"}, 2: set(), 3: set()}
    typ, data = bob.search(None, "UNSEEN")
    assert data == [b"2 3"]
    typ, data = carol.status(SHARED_INBOX, "(UNSEEN)")
    assert data == [f'"Shared Folders/{INFO}/INBOX" (UNSEEN 0)'.encode()]
    bob.store("1:3", "-FLAGS", "(\\Seen)")
    carol.store("1:3", "-FLAGS", "(\\Seen)")
    for m in (bob, carol, info):
        m.logout()


def test_aioimaplib_two_users_mark_seen_independently(stack: Stack) -> None:
    async def session(user: str) -> aioimaplib.IMAP4_SSL:
        c = aioimaplib.IMAP4_SSL("127.0.0.1", stack.ports["imaps"], ssl_context=tls(stack))
        await c.wait_hello_from_server()
        assert (await c.login(user, PW[user])).result == "OK"
        assert (await c.select(SHARED_INBOX)).result == "OK"
        return c

    async def main() -> None:
        bob, carol = await session(BOB), await session(CAROL)
        assert (await bob.store("1", "+FLAGS", "(\\Seen)")).result == "OK"
        assert (await carol.store("3", "+FLAGS", "(\\Seen)")).result == "OK"
        got_bob = await bob.fetch("1:3", "(FLAGS)")
        got_carol = await carol.fetch("1:3", "(FLAGS)")
        seen_bob = [line for line in got_bob.lines if b"\\Seen" in line]
        seen_carol = [line for line in got_carol.lines if b"\\Seen" in line]
        assert [line.split()[0] for line in seen_bob] == [b"1"]
        assert [line.split()[0] for line in seen_carol] == [b"3"]
        for c, seq in ((bob, "1"), (carol, "3")):
            await c.store(seq, "-FLAGS", "(\\Seen)")
            await c.logout()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_read_only_grant(stack: Stack) -> None:
    m = login(stack, BOB)
    typ, data = m.select(NEWS_INBOX)
    assert typ == "OK"
    assert untagged(m, "PERMANENTFLAGS") == [b"(\\Seen)"]
    typ, data = m.store("1", "+FLAGS", "(\\Seen)")
    assert typ == "OK" and b"\\Seen" in data[0]
    refused(m.store("1", "+FLAGS", "(\\Flagged)"), "NOPERM")
    refused(m.expunge(), "NOPERM")
    refused(m.append(NEWS_INBOX, None, None, message("mine", NEWS)), "NOPERM")
    refused(m._simple_command("MOVE", "1", "INBOX"), "NOPERM")
    typ, data = m.copy("1", "INBOX")  # reading is allowed: a copy into Bob's own INBOX
    assert typ == "OK" and b"COPYUID" in data[0]
    m.store("1", "-FLAGS", "(\\Seen)")
    m.select("INBOX")
    typ, data = m.search(None, "SUBJECT", '"news 1"')
    assert data[0]
    m.store(data[0].decode(), "+FLAGS", "(\\Deleted)")
    m.expunge()
    m.logout()


def test_append_copy_and_move_across_addresses(stack: Stack) -> None:
    bob, info = login(stack, BOB), login(stack, INFO)
    typ, data = bob.append(SHARED_INBOX, "(\\Seen)", None, message("appended by bob"))
    assert typ == "OK" and b"APPENDUID" in data[0]
    info.select("INBOX")
    typ, found = info.search(None, "SUBJECT", '"appended by bob"')
    assert found[0]
    assert "\\Seen" not in flags_of(info, found[0].decode())[int(found[0])]  # Bob's own \Seen
    bob.select("INBOX")
    bob.append("INBOX", None, None, message("bob's own", BOB))
    typ, data = bob.search(None, "SUBJECT", '"bob\'s own"')
    typ, data = bob.copy(data[0].decode(), f'"Shared Folders/{INFO}/Archive"')
    assert typ == "OK" and b"COPYUID" in data[0]
    bob.select(SHARED_INBOX)
    typ, data = bob.search(None, "SUBJECT", '"appended by bob"')
    seq = data[0].decode()
    assert "\\Seen" in flags_of(bob, seq)[int(seq)]
    typ, data = bob._simple_command("MOVE", seq, "Archive")
    assert typ == "OK"
    assert b"COPYUID" in b" ".join(x for x in untagged(bob, "OK") if isinstance(x, bytes))
    assert bob.select(SHARED_INBOX)[1] == [b"3"]
    info.noop()
    info.select("Archive")
    typ, data = info.search(None, "SUBJECT", '"bob\'s own"')
    assert data[0]
    bob.select("Archive")
    typ, data = bob.search(None, "SUBJECT", '"appended by bob"')
    assert data[0]
    for m in (bob, info):
        m.logout()


def test_fifty_sessions_at_once_keep_their_own_seen(stack: Stack) -> None:
    """Fifty clients at once on one shared folder and its index: Bob and Carol marking
    messages seen and unseen, wrong authorization identities mixed in; afterwards each has
    exactly their own state and nothing else moved."""

    def work(i: int) -> str:
        if i % 5 == 4:  # a refused proxy login
            m = connect(stack)
            try:
                m.authenticate("PLAIN", lambda _: f"{NEWS}\0{BOB}\0{PW[BOB]}".encode())
            except imaplib.IMAP4.error:
                return "refused"
            finally:
                m.shutdown()
            return "accepted?!"
        user = BOB if i % 2 else CAROL
        m = login(stack, user)
        m.select(SHARED_INBOX)
        seq = "1" if user == BOB else "2"
        for _ in range(3):
            m.store(seq, "+FLAGS", "(\\Seen)")
            m.store(seq, "-FLAGS", "(\\Seen)")
        m.store(seq, "+FLAGS", "(\\Seen)")
        m.logout()
        return "done"

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(work, range(50)))
    assert results.count("refused") == 10 and results.count("done") == 40
    bob, carol, info = login(stack, BOB), login(stack, CAROL), login(stack, INFO)
    bob.select(SHARED_INBOX)
    carol.select(SHARED_INBOX)
    info.select("INBOX")
    assert {n for n, f in flags_of(bob).items() if "\\Seen" in f} == {1}
    assert {n for n, f in flags_of(carol).items() if "\\Seen" in f} == {2}
    assert not any("\\Seen" in f for f in flags_of(info).values())
    bob.store("1", "-FLAGS", "(\\Seen)")
    carol.store("2", "-FLAGS", "(\\Seen)")
    for m in (bob, carol, info):
        m.logout()


# -- revoking -----------------------------------------------------------------------------------


def test_revoke_ends_access_at_the_next_command(stack: Stack) -> None:
    selected = login(stack, CAROL)
    selected.select(SHARED_INBOX)
    acting = proxy(stack, INFO, CAROL, PW[CAROL])
    acting.select("INBOX")
    result = stack.cli("mailbox", "revoke", INFO, CAROL, check=True)
    assert f"{CAROL} may no longer use {INFO}" in result.stdout
    typ, data = selected.fetch("1", "(FLAGS)")
    assert typ == "NO" and data == [f"[NOPERM] Access to {INFO} was revoked".encode()]
    with pytest.raises(imaplib.IMAP4.error, match="not valid in this state"):
        selected.fetch("1", "(FLAGS)")  # the folder was closed: authenticated state
    typ, listing = selected.list()
    assert INFO.encode() not in b"\n".join(x for x in listing if isinstance(x, bytes))
    with pytest.raises(imaplib.IMAP4.abort, match="revoked"):
        acting.noop()
    selected.logout()
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        proxy(stack, INFO, CAROL, PW[CAROL])
    stack.cli("mailbox", "grant", INFO, CAROL, check=True)
    proxy(stack, INFO, CAROL, PW[CAROL]).logout()


DORA_OWNER = "dora@home.example"


def test_mailbox_list_shows_each_address_users(stack: Stack) -> None:
    stack.cli(
        "account", "add", DORA_OWNER, "--org", "acme", "--password-stdin",
        stdin=ACCOUNT_PW + "\n", check=True,
    )  # fmt: skip
    result = stack.cli("mailbox", "grant", DORA, DORA_OWNER, "--owner", check=True)
    assert "own address" in result.stdout
    rows = json.loads(stack.cli("mailbox", "list", "--json", check=True).stdout)
    users = {r["address"]: [(u["login"], u["access"]) for u in r["users"]] for r in rows}
    assert users[INFO] == [(BOB, "full"), (CAROL, "full")]
    assert users[NEWS] == [(BOB, "read")]
    assert users[BOB] == [(BOB, "own")]
    assert users[DORA] == [(DORA_OWNER, "own")]
    text = stack.cli("mailbox", "list", check=True).stdout
    assert f"{INFO}\t{BOB} (full), {CAROL} (full)" in text
    refused = stack.cli("mailbox", "revoke", BOB, BOB)
    assert refused.returncode == 1 and "own address" in refused.stderr
    refused = stack.cli("mailbox", "grant", DORA, BOB, "--owner")
    assert refused.returncode == 1 and "already the own address" in refused.stderr
    # dora@'s password now stands for its owner: it may act as what the owner holds
    stack.cli("mailbox", "grant", NEWS, DORA_OWNER, check=True)
    m = proxy(stack, NEWS, DORA, PW[DORA])
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    stack.cli("mailbox", "revoke", NEWS, DORA_OWNER, check=True)


def test_new_mail_in_a_shared_folder_stays_recent_for_the_address(stack: Stack) -> None:
    """A shared-namespace session sees the new message (EXISTS) but does not claim \\Recent,
    which belongs to the address's own sessions."""
    info, bob = login(stack, INFO), login(stack, BOB)
    info.select("INBOX")  # claims whatever is recent now
    total = int(bob.select(SHARED_INBOX)[1][0])
    with smtplib.SMTP("127.0.0.1", stack.ports["smtp_mx"], timeout=10) as smtp:
        smtp.sendmail("a@example.org", [INFO], message("fresh"))
    bob.noop()
    assert untagged(bob, "EXISTS")[-1] == b"%d" % (total + 1)
    info.noop()
    new = str(total + 1)
    assert "\\Recent" in flags_of(info, new)[total + 1]
    assert "\\Recent" not in flags_of(bob, new)[total + 1]
    info.store(new, "+FLAGS", "(\\Deleted)")
    info.expunge()
    for m in (bob, info):
        m.logout()


def test_seen_follows_moves_and_copies_inside_the_shared_address(stack: Stack) -> None:
    """Per-user \\Seen goes with a message moved inside the address (by anyone), and with a
    copy made inside it by the user who copies."""
    bob, info = login(stack, BOB), login(stack, INFO)
    info.append("INBOX", None, None, message("to be filed"))
    bob.select(SHARED_INBOX)
    typ, data = bob.search(None, "SUBJECT", '"to be filed"')
    seq = data[0].decode()
    bob.store(seq, "+FLAGS", "(\\Seen)")
    typ, data = bob.copy(seq, f'"Shared Folders/{INFO}/Drafts"')  # inside info@
    assert typ == "OK"
    info.select("INBOX")
    typ, data = info.search(None, "SUBJECT", '"to be filed"')
    assert info._simple_command("MOVE", data[0].decode(), "Archive")[0] == "OK"
    for folder in ("Archive", "Drafts"):
        bob.select(f'"Shared Folders/{INFO}/{folder}"')
        typ, data = bob.search(None, "SUBJECT", '"to be filed"')
        n = int(data[0].split()[-1])
        assert "\\Seen" in flags_of(bob, str(n))[n], folder
        info.select(folder)
        typ, data = info.search(None, "SUBJECT", '"to be filed"')
        n = int(data[0].split()[-1])
        assert "\\Seen" not in flags_of(info, str(n))[n], folder  # the address's own state
        info.store(str(n), "+FLAGS", "(\\Deleted)")
        info.expunge()
    for m in (bob, info):
        m.logout()


def test_a_grant_given_during_the_session_shows_at_once(stack: Stack) -> None:
    eve = f"eve@{DOMAIN}"
    stack.cli("mailbox", "add", eve, "--password-stdin", stdin="eve-mailbox-pw\n", check=True)
    stack.cli(
        "account", "add", eve, "--org", "acme", "--password-stdin",
        stdin=ACCOUNT_PW + "\n", check=True,
    )  # fmt: skip
    m = connect(stack)
    m.login(eve, "eve-mailbox-pw")
    assert m.namespace()[1] == [b'(("" "/")) NIL NIL']
    stack.cli("mailbox", "grant", NEWS, eve, "--read-only", check=True)
    assert m.namespace()[1] == [b'(("" "/")) NIL (("Shared Folders/" "/"))']
    assert m.select(NEWS_INBOX)[0] == "OK"
    stack.cli("mailbox", "revoke", NEWS, eve, check=True)
    refused(m.fetch("1", "(FLAGS)"), "NOPERM")
    assert m.namespace()[1] == [b'(("" "/")) NIL NIL']
    m.logout()


def test_list_status_covers_shared_folders(stack: Stack) -> None:
    """LIST-STATUS (RFC 5819): a STATUS line follows each selectable shared folder too, the
    same as the STATUS command gives (\\Noselect levels get none)."""
    m = login(stack, BOB)
    typ, _ = m._simple_command(
        "LIST", '""', '"Shared Folders/*"', "RETURN", "(STATUS (MESSAGES UNSEEN))"
    )
    assert typ == "OK"
    listed = m.untagged_responses.pop("STATUS", [])
    assert any(line.startswith(SHARED_INBOX.encode()) for line in listed), listed
    assert not any(line.startswith(b'"Shared Folders" ') for line in listed)
    for line in listed:
        name = line.rsplit(b" (", 2)[0].decode()
        typ, data = m.status(name, "(MESSAGES UNSEEN)")
        assert data == [line], (line, data)
    m.logout()
