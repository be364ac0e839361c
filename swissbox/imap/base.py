"""The session core shared by the command mixins: connection, input path (sans-I/O
assembler, dispatch, replies), capabilities, and the untagged updates from other sessions
(sent only at the moments RFC 3501 7.4.1 allows)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from twisted.internet import defer, interfaces
from twisted.internet.tcp import Connection as tcp_connection
from twisted.mail.imap4 import IMAP4Server
from twisted.python.failure import Failure

from swissbox import __version__, metrics
from swissbox.imap import render
from swissbox.imap.account import MailAccount
from swissbox.imap.mailbox import FolderMailbox
from swissbox.imap.parser import (
    Assembler,
    Atom,
    CommandReady,
    NeedContinuation,
    ParseError,
    Refused,
    Token,
    is_nil,
    tokenize,
)
from swissbox.mailstore import (
    MailStoreError,
    query,
    recent,
)

log = logging.getLogger("swissbox.imap")

BASE_CAPS = [
    b"IMAP4rev1",
    b"IMAP4rev2",
    b"LITERAL+",
    b"ID",
    b"ENABLE",
    b"IDLE",
    b"NAMESPACE",
    b"UIDPLUS",
    b"MOVE",
    b"UNSELECT",
    b"CHILDREN",
    b"SPECIAL-USE",
    b"CONDSTORE",
    b"QRESYNC",
    b"NOTIFY",
    b"ESEARCH",
    b"SORT",
    b"SORT=DISPLAY",
    b"ESORT",
    b"THREAD=ORDEREDSUBJECT",
    b"THREAD=REFERENCES",
    b"LIST-STATUS",
    b"LIST-EXTENDED",
    b"STATUS=SIZE",
    b"MULTIAPPEND",
    b"ACL",
    b"RIGHTS=texk",
    b"SEARCHRES",
    b"WITHIN",
    b"CONTEXT=SEARCH",
    b"BINARY",
    b"CATENATE",
]
MAX_AUTH_FAILURES = 3
MAX_PIPELINED = 1 << 20  # bytes read ahead while a command is still running
NO_EXPUNGE_DURING = {b"FETCH", b"STORE", b"SEARCH", b"SORT", b"THREAD"}
STATES = ("unauth", "auth", "select")
MAILBOX_DELETED = "[UNAVAILABLE] The mailbox {address} was deleted"


class Reply(Exception):
    """Ends a command early with a tagged status (NO/BAD) and text."""

    def __init__(self, status: bytes, text: str | bytes) -> None:
        self.status = status
        self.text = text.encode() if isinstance(text, str) else text
        super().__init__(self.text)


def no(text: str | bytes) -> Reply:
    return Reply(b"NO", text)


def bad(text: str | bytes) -> Reply:
    return Reply(b"BAD", text)


def compact_set(numbers: list[int]) -> bytes:
    """Compact sequence set of sorted numbers: 1:3,7."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return b",".join(b"%d" % a if a == b else b"%d:%d" % (a, b) for a, b in runs)


class SessionBase(IMAP4Server):
    """One client connection (the parts every command uses)."""

    IDENT = b"swissbox IMAP4rev1 ready"
    # (state, command name) -> handler, filled in server.py (the only dispatch table: Twisted's
    # `<state>_<COMMAND>` attributes are never consulted, its input path is replaced)
    handlers: ClassVar[dict[tuple[str, bytes], Callable[..., Any]]] = {}
    transport: Any  # Twisted's ITCPTransport (with startTLS, pause/resumeProducing)
    account: Any
    tags: Any
    command_started = 0.0  # metrics.now() when the running command arrived

    def __init__(self, service: Any, implicit_tls: bool) -> None:
        super().__init__(chal={}, contextFactory=None if implicit_tls else service.tls_options)
        self.service = service
        self.settings = service.settings
        self.implicit_tls = implicit_tls
        self.assembler = Assembler(max_literal=service.max_message_size)
        self.mode = "command"  # command | idle | authenticate | closed
        self.busy = False
        self.account = None
        self.selected: FolderMailbox | None = None
        self.condstore = False
        self.rev2 = False  # ENABLE IMAP4rev2 (RFC 9051): no RECENT, SEARCH answered as ESEARCH
        self.qresync = False  # RFC 7162: VANISHED instead of EXPUNGE once enabled
        self.auth_failures = 0
        self.pending_new: set[int] = set()
        self.pending_flags: set[int] = set()
        self.pending_expunged: set[int] = set()
        self.recent: set[int] = set()  # \Recent for this session (see mailstore/recent.py)
        # flag lists whose keywords this session was told of, for the selected folder
        self._checked_box: FolderMailbox | None = None
        self._checked_flags: set[str] = set()
        self._idle_tag: bytes | None = None
        self._auth_tag: bytes | None = None
        self._out: list[bytes] = []
        self.timeOut = min(self.settings.login_timeout, self.settings.idle_timeout)  # before login

    @property
    def secure(self) -> bool:
        return (
            self.implicit_tls
            or self.startedTLS
            or interfaces.ISSLTransport(self.transport, None) is not None
        )

    @property
    def client_ip(self) -> str | None:
        peer = self.transport.getPeer() if self.transport else None
        return getattr(peer, "host", None)

    @property
    def plaintext_ok(self) -> bool:
        if self.secure:
            return True
        ip = self.client_ip or ""
        loopback = ip.startswith("127.") or ip == "::1"
        return bool(self.settings.allow_plaintext_loopback and loopback)

    def connectionMade(self) -> None:  # noqa: N802
        self.tags = {}
        self.canStartTLS = not self.implicit_tls and self.ctx is not None
        with contextlib.suppress(Exception):  # replies are whole; do not wait for ACKs
            tcp = getattr(self.transport, "transport", self.transport)
            tcp.setTcpNoDelay(True)
        self.setTimeout(self.timeOut)
        self.service.sessions.add(self)
        metrics.opened("imap")
        caps = b" ".join(self.capability_list())
        self.write_line(b"* OK [CAPABILITY " + caps + b"] " + self.IDENT)

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802
        if self in self.service.sessions:
            metrics.closed("imap")
        self.mode = "closed"
        self.setTimeout(None)
        self.service.hub.leave(self)
        self.service.sessions.discard(self)
        self.selected = None
        self.account = None

    def timeoutConnection(self) -> None:  # noqa: N802
        self.write_line(b"* BYE Autologout; connection idle too long")
        self.mode = "closed"
        self.transport.loseConnection()

    def write_line(self, line: bytes) -> None:
        self.transport.write(line + b"\r\n")

    def untagged(self, line: bytes) -> None:
        self._out.append(b"* " + line + b"\r\n")

    def flush_out(self) -> None:
        if self._out:
            data = b"".join(self._out)
            self._out.clear()  # in place: fetch() holds a reference to this list
            self._write(data)

    def _write(self, data: bytes) -> None:
        """Sends `data` straight to the socket when it is plain TCP with nothing queued (no
        writability registration and no reactor turn per reply); what the socket does not
        take, and every other transport (TLS, COMPRESS, tests), goes through write()."""
        tcp = self.transport
        if (
            isinstance(tcp, tcp_connection)
            and not tcp.TLS
            and tcp.connected
            and not tcp.disconnecting
            and not tcp._writeDisconnected
            and tcp.producer is None
            and not tcp._tempDataBuffer
            and len(tcp.dataBuffer) == tcp.offset
        ):
            sent = tcp.writeSomeData(data)
            if isinstance(sent, int) and sent >= 0:
                data = data[sent:]
        if data:
            tcp.write(data)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self.mode == "closed":
            return
        self.resetTimeout()
        self.assembler.feed(data)
        if self.busy:
            if len(self.assembler.buffer) > MAX_PIPELINED:
                self.transport.pauseProducing()  # resumed when the command finishes
            return
        self.process()

    def process(self) -> None:
        while not self.busy and self.mode != "closed":
            if self.mode in ("idle", "authenticate"):
                try:
                    line = self.assembler.next_line()
                except ParseError:
                    self.write_line(b"* BYE line too long")
                    self.close()
                    return
                if line is None:
                    return
                if self.mode == "idle":
                    self.idle_line(line)
                else:
                    self.auth_line(line)
                continue
            event = self.assembler.next_event()
            if event is None:
                return
            if isinstance(event, NeedContinuation):
                self.write_line(b"+ Ready for literal data")
            elif isinstance(event, Refused):
                self.write_line(event.tag + b" " + event.status + b" " + event.text)
                if event.close:
                    self.write_line(b"* BYE closing connection")
                    self.close()
                    return
            elif isinstance(event, CommandReady):
                self.run_command(event)

    def idle_line(self, line: bytes) -> None:
        """The line that ends IDLE (mailboxes.MailboxCommands)."""
        raise NotImplementedError

    def auth_line(self, line: bytes) -> None:
        """An AUTHENTICATE response line (login.LoginCommands)."""
        raise NotImplementedError

    def check_access(self, tag: bytes) -> bool:
        """Before each command after login: True when a revoked grant answered it
        (shared.SharedCommands)."""
        return False

    def end_if_deleted(self) -> bool:
        """True, after a BYE, when the session's mailbox was deleted since it logged in
        (`MailboxStore.still_here`): nothing of it is read any more."""
        account = self.account
        if account is None or account.box.still_here():
            return False
        self.untagged(b"BYE " + MAILBOX_DELETED.format(address=account.address).encode())
        self.flush_out()
        self.close()
        return True

    def close(self) -> None:
        self.mode = "closed"
        self.transport.loseConnection()

    def run_command(self, event: CommandReady) -> None:
        try:
            tokens = tokenize(event.segments)
        except ParseError as exc:
            tag = event.head.split(b" ", 1)[0][:64] or b"*"
            self.write_line(tag + b" BAD " + str(exc).encode())
            return
        if not tokens or not isinstance(tokens[0], Atom) or b"+" in tokens[0]:
            self.write_line(b"* BAD Invalid tag")
            return
        tag = bytes(tokens[0])
        if len(tokens) < 2 or not isinstance(tokens[1], Atom):
            self.write_line(tag + b" BAD Missing command")
            return
        name = tokens[1].upper()
        args = tokens[2:]
        uid = False
        if name == b"UID":
            if not args or not isinstance(args[0], Atom):
                self.write_line(tag + b" BAD UID needs a command")
                return
            name, args, uid = args[0].upper(), args[1:], True
            if name not in (
                b"FETCH",
                b"STORE",
                b"SEARCH",
                b"COPY",
                b"MOVE",
                b"EXPUNGE",
                b"SORT",
                b"THREAD",
            ):
                self.write_line(tag + b" BAD Unknown UID command")
                return
        handler = self.handlers.get((self.state, name))
        if handler is None:
            if any((state, name) in self.handlers for state in STATES):
                self.write_line(tag + b" BAD Command not valid in this state")
            else:
                self.write_line(tag + b" BAD Unknown command")
            return
        if self.state != "unauth" and self.check_access(tag):
            return
        self.command_started = metrics.now()
        try:
            result = handler(self, tag, args, uid) if uid else handler(self, tag, args)
        except Exception as exc:
            self.answer_error(tag, exc, name)
            return
        if isinstance(result, defer.Deferred):
            self.wait_for(tag, name, result)
        elif result is not None:
            self.finish(tag, b"OK", result, name)

    def wait_for(self, tag: bytes, name: bytes, d: defer.Deferred[Any]) -> None:
        """Answers `tag` when `d` fires; input waits meanwhile (`busy`), then resumes."""
        self.busy = True

        def done(value: Any) -> None:
            self.busy = False
            if self.mode == "closed":
                return  # the client went away meanwhile: nothing to answer
            if isinstance(value, Failure):
                self.answer_error(tag, value.value, name, value)
            elif value is not None:
                self.finish(tag, b"OK", value, name)
            if self.mode != "closed":
                self.transport.resumeProducing()
                self.process()

        d.addBoth(done)

    def answer_error(
        self, tag: bytes, exc: BaseException, name: bytes, failure: Failure | None = None
    ) -> None:
        """The tagged answer to a command that raised: its Reply, BAD for malformed input,
        NO with the reason for a mail store refusal, else NO and a logged traceback."""
        if isinstance(exc, Reply):
            self.finish(tag, exc.status, exc.text, name)
        elif isinstance(exc, ParseError):
            self.finish(tag, b"BAD", str(exc).encode(), name)
        elif isinstance(exc, (MailStoreError, ValueError)):
            self.finish(tag, b"NO", str(exc).encode("utf-8", "replace")[:200], name)
        else:
            what = name.decode("ascii", "replace")
            if failure is not None:
                log.error("IMAP command %s failed: %s", what, failure.getTraceback())
            else:
                log.error("IMAP command %s failed", what, exc_info=exc)
            self.finish(tag, b"NO", b"Internal server error", name)

    def finish(self, tag: bytes, status: bytes, text: bytes, name: bytes = b"") -> None:
        if self.mode == "closed":
            return
        self.sync(allow_expunge=name not in NO_EXPUNGE_DURING)
        self._out.append(tag + b" " + status + b" " + text + b"\r\n")
        self.flush_out()
        self.send_now()
        if name:
            metrics.imap_command(name, self.command_started)

    def send_now(self) -> None:
        """Writes the buffered response to the socket now rather than at the next reactor
        turn (one event-loop cycle less per command; clients wait for the tagged line)."""
        transport = self.transport
        if not hasattr(transport, "doWrite"):
            transport = getattr(transport, "transport", None)  # the TCP under TLS
        if transport is None or not getattr(transport, "connected", False):
            return
        if getattr(transport, "disconnecting", False) or not hasattr(transport, "doWrite"):
            return
        if not transport._tempDataBuffer and len(transport.dataBuffer) == transport.offset:
            return  # nothing queued (sent by _write)
        try:
            if transport.doWrite() is not None:
                return  # an error: the reactor sees it at its next turn
        except Exception:  # never let an early flush break the session
            log.debug("early flush failed", exc_info=True)

    def capability_list(self) -> list[bytes]:
        caps = list(BASE_CAPS)
        caps.append(b"APPENDLIMIT=%d" % self.service.max_message_size)  # RFC 7889
        if self.state == "unauth":
            if self.canStartTLS and not self.startedTLS:
                caps.append(b"STARTTLS")
            if self.plaintext_ok:
                caps += [b"AUTH=PLAIN", b"SASL-IR"]
            else:
                caps.append(b"LOGINDISABLED")
        elif self.account is not None and self.account.quota_bytes is not None:
            caps.append(b"QUOTA")
        return caps

    def notice_new(self, uids: list[int]) -> None:
        self.pending_new.update(uids)
        self.push()

    def notice_flags(self, uids: list[int]) -> None:
        self.pending_flags.update(uids)
        self.push()

    def notice_expunged(self, uids: list[int]) -> None:
        self.pending_expunged.update(uids)
        self.push()

    def push(self) -> None:
        if self.mode == "idle" and not self.busy:
            if self.end_if_deleted():
                return
            self.sync(allow_expunge=True)
            self.flush_out()

    def enable_condstore(self) -> None:
        """A CONDSTORE-enabling command (RFC 7162 3.1): the first one in a selected folder
        also gets the folder's HIGHESTMODSEQ in an untagged OK."""
        if self.condstore:
            return
        self.condstore = True
        box = self.selected
        if box is not None:
            highest = query.folder(box.box, box.name).highestmodseq
            self.untagged(b"OK [HIGHESTMODSEQ %d] Highest" % highest)

    def flag_lines(self, box: FolderMailbox) -> None:
        """Untagged FLAGS and OK [PERMANENTFLAGS] of the selected folder (SELECT, and again
        whenever a keyword is new to this session)."""
        flags = " ".join(box.getFlags()).encode("utf-8", "replace")
        self.untagged(b"FLAGS (" + flags + b")")
        perm = b""
        if box.readwrite:
            perm = " ".join(box.permanent_flags()).encode("utf-8", "replace")
            perm += b" \\*" if box.may("w") else b""
        self.untagged(b"OK [PERMANENTFLAGS (" + perm + b")] Flags permitted")

    def announce_keywords(self, flag_lists: Iterable[str]) -> None:
        """RFC 3501 7.2.6: a keyword reaches a client in FLAGS before any FETCH shows it,
        whoever set it (this session, another one, a copy or an APPEND)."""
        box = self.selected
        if box is None:
            return
        if self._checked_box is not box:
            self._checked_box, self._checked_flags = box, set()
        new: set[str] = set()
        for flags in flag_lists:
            if flags not in self._checked_flags:
                if len(self._checked_flags) < 4096:
                    self._checked_flags.add(flags)
                new.update(f for f in flags.split() if f[:1] != "\\")
        new -= box.keywords
        if new:
            box.keywords |= new
            self.flag_lines(box)

    def flags_of(self, uid: int, flags: str) -> bytes:
        """The FLAGS list of a message as this session sees it (with \\Recent); an unknown
        keyword is announced first (before the response that carries this list)."""
        box = self.selected
        if box is not None and (self._checked_box is not box or flags not in self._checked_flags):
            self.announce_keywords([flags])
        names = (box.view(uid, flags) if box is not None else flags).split()
        if uid in self.recent:
            names.append("\\Recent")
        return render.flags(names)

    def sync(self, allow_expunge: bool) -> None:
        """Sends what other sessions and deliveries changed, at a moment that allows it."""
        box = self.selected
        if box is None:
            self.pending_new.clear()
            self.pending_flags.clear()
            self.pending_expunged.clear()
            return
        if allow_expunge and self.pending_expunged:
            gone = list(self.pending_expunged)
            self.pending_expunged.clear()
            self.pending_flags.difference_update(gone)
            self._send_expunges(box, gone)
        if self.pending_new:
            last = box.uids[-1] if box.uids else 0
            new = sorted(u for u in self.pending_new if u > last)
            self.pending_new.clear()
            if new:
                rows = query.rows(box.box, box.info.id, ["uid"], new)
                present = [r[0] for r in rows]
                if present:
                    box.add_uids(present)
                    self.untagged(b"%d EXISTS" % len(box.uids))
                    if box.readwrite and box.seen_user is None:
                        # \Recent for this session (never in the shared namespace: it is the
                        # mailbox's own)
                        self.recent.update(recent.claim_recent(box.box, box.name, present))
                    # RFC 3501 7.3.2: RECENT goes with every change of the mailbox's size
                    # (written with EXISTS in one piece, so IDLE readers get both at once)
                    if not self.rev2:  # IMAP4rev2 has no RECENT response
                        self.untagged(b"%d RECENT" % len(self.recent))
        # QRESYNC: a flag change's MODSEQ is higher than that of an expunge not yet told (it
        # waits for a command that allows it): a client keeping the highest MODSEQ it saw
        # would skip that expunge when it resynchronises, so the flags wait with it
        held = self.qresync and bool(self.pending_expunged) and not allow_expunge
        if held:
            # RFC 5162 erratum 1810: MODSEQs this command sent may be above the delayed
            # expunges'; a HIGHESTMODSEQ below them tells where a resync must start
            low = box.box.index.expunge_modseq(box.info.id, self.pending_expunged)
            if low is not None:
                self.untagged(b"OK [HIGHESTMODSEQ %d] Highest" % (low - 1))
        if self.pending_flags and not held:
            uids = sorted(self.pending_flags)
            self.pending_flags.clear()
            box.reload_seen()  # another session of this user may have changed its \Seen
            self.flag_fetches(box, uids)

    def flag_fetches(
        self, box: FolderMailbox, uids: list[int], changedsince: int | None = None
    ) -> None:
        """`* n FETCH (UID FLAGS [MODSEQ])` of the sorted `uids` still in the session's view
        (only those changed after `changedsince` when given)."""
        cols = ["uid", "flags", "modseq"]
        for uid, flags, modseq in query.rows(box.box, box.info.id, cols, uids, changedsince):
            seq = box.seq_of(uid)
            if seq is None:
                continue
            extra = b" MODSEQ (%d)" % modseq if self.condstore else b""
            self.untagged(
                b"%d FETCH (UID %d FLAGS %s%s)" % (seq, uid, self.flags_of(uid, flags), extra)
            )

    def cmd_capability(self, tag: bytes, args: list[Token]) -> bytes:
        self._noargs(args)
        self.untagged(b"CAPABILITY " + b" ".join(self.capability_list()))
        return b"CAPABILITY completed"

    def cmd_noop(self, tag: bytes, args: list[Token]) -> bytes:
        self._noargs(args)
        return b"NOOP completed"

    def cmd_logout(self, tag: bytes, args: list[Token]) -> None:
        self._noargs(args)
        self.untagged(b"BYE swissbox logging out")
        self._out.append(tag + b" OK LOGOUT completed\r\n")
        self.flush_out()
        self.service.hub.leave(self)
        self.close()

    def cmd_id(self, tag: bytes, args: list[Token]) -> bytes:
        if len(args) != 1 or not (is_nil(args[0]) or isinstance(args[0], list)):
            raise bad("ID takes a list or NIL")
        self.untagged(b'ID ("name" "swissbox" "version" %s)' % render.string(__version__))
        return b"ID completed"

    def deselect(self) -> None:
        """Leaves the selected folder (back to the authenticated state)."""
        self.service.hub.leave(self)
        self.selected = None
        self.state = "auth"

    def _noargs(self, args: list[Token]) -> None:
        if args:
            raise bad("unexpected arguments")

    def _account(self) -> MailAccount:
        assert self.account is not None
        return self.account

    def _box(self) -> FolderMailbox:
        assert self.selected is not None
        return self.selected

    def _writable(self) -> FolderMailbox:
        box = self._box()
        if not box.readwrite:
            raise no("[READ-ONLY] Mailbox is read-only")
        return box

    def _send_expunges(self, box: FolderMailbox, uids: list[int]) -> None:
        """EXPUNGE per message, or once QRESYNC is enabled one `VANISHED uid-set` (RFC 7162
        3.2.10)."""
        vanished = []
        for uid in sorted(uids, reverse=True):
            seq = box.seq_of(uid)
            if seq is not None:
                box.remove_seq(seq)
                self.recent.discard(uid)
                if self.qresync:
                    vanished.append(uid)
                else:
                    self.untagged(b"%d EXPUNGE" % seq)
        if vanished:
            self.untagged(b"VANISHED " + compact_set(sorted(vanished)))
