"""Authenticated-state commands: ENABLE, NAMESPACE, SELECT/EXAMINE (CONDSTORE, \\Recent),
CREATE/DELETE/RENAME, (UN)SUBSCRIBE, LIST/LSUB (SPECIAL-USE, CHILDREN), STATUS, APPEND
(UIDPLUS, quota), IDLE, QUOTA."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure

from swissbox.imap import listext, qresync, render
from swissbox.imap.account import MailAccount, list_matches, lsub_noselect_parents
from swissbox.imap.base import (
    bad,
    compact_set,
    no,
)
from swissbox.imap.binary import UnknownCte, needs_storable, storable
from swissbox.imap.catenate import BadUrl, Catenate, parse_url, url_data
from swissbox.imap.mailbox import FolderMailbox
from swissbox.imap.multiappend import split_messages
from swissbox.imap.parser import (
    Atom,
    SpooledLiteral,
    Str,
    Token,
    astring,
    encode_mutf7,
    flag_list,
    mailbox_name,
)
from swissbox.imap.shared import SHARED_PREFIX, Place, SharedCommands
from swissbox.mailstore import (
    SEPARATOR,
    SPECIAL_USE,
    MailStoreError,
    NoSuchFolder,
    QuotaExceeded,
    query,
    recent,
    seen,
    subscriptions,
)
from swissbox.mailstore.index import FolderInfo
from swissbox.mailstore.paths import FolderNameTooLong
from swissbox.mailstore.spool import Spool, parts_size

APPEND_IN_MEMORY = 64 * 1024  # of an APPEND literal; the rest waits on disk until stored
APPEND_OVER_BUDGET = b"[LIMIT] Too much mail being uploaded at once; try again later"
NUL_IN_LITERAL = b"NUL in a literal: send binary data as a literal8 (~{n}, BINARY)"
CATENATE_TOO_BIG = "[TOOBIG] The message would be over the size limit (%d)"
MAX_URL_SHOWN = 512  # of a URL echoed in [BADURL ...]


@dataclass(frozen=True)
class AppendTarget:
    """One APPENDed message's folder (through `place`: own or shared), flags and date."""

    place: Place
    info: FolderInfo
    flags: list[str]
    date: float | None
    seen_by_user: bool


def _payload(message: Str) -> bytes | Spool:
    return message.spool if isinstance(message, SpooledLiteral) else message


def _spools(tokens: list[Token]) -> list[Spool]:
    """The spooled literals among APPEND's arguments (CATENATE lists included)."""
    out: list[Spool] = []
    for token in tokens:
        if isinstance(token, SpooledLiteral):
            out.append(token.spool)
        elif isinstance(token, list):
            out += _spools(token)
    return out


def _whole(parts: list[bytes | Spool]) -> bytes:
    return b"".join(p.getvalue() if isinstance(p, Spool) else bytes(p) for p in parts)


def _refuse_nul(payload: bytes | Spool) -> None:
    """RFC 3501 9 (CHAR8): a literal holds no NUL; binary data comes as a literal8."""
    chunks = payload.chunks() if isinstance(payload, Spool) else [payload]
    if any(b"\0" in chunk for chunk in chunks):
        raise bad(NUL_IN_LITERAL)


def _storable(raw: bytes) -> bytes:
    """A literal8 message as it is stored (binary.storable); NO [UNKNOWN-CTE] when its
    binary data is where no encoding can hold it."""
    try:
        return storable(raw)
    except UnknownCte as exc:
        raise no(f"[UNKNOWN-CTE] Binary data cannot be stored here ({exc})") from None


class MailboxCommands(SharedCommands):
    def __init__(self, service: Any, implicit_tls: bool) -> None:
        super().__init__(service, implicit_tls)
        self.assembler.open_literal = self.open_literal

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802
        self.assembler.clear()  # a literal cut short: its spool and budget go now
        super().connectionLost(reason)

    def open_literal(self, size: int) -> Spool | tuple[bytes, bytes]:
        """Where an APPEND literal of `size` bytes goes: a spool charged to this user's
        share of the in-flight budget, or why not (refused before the client sends it)."""
        if self.account is None:
            return b"BAD", b"Command not valid in this state"
        budget = self.service.append_budget
        key = self._account().address.lower()
        if not budget.take(key, size):
            return b"NO", APPEND_OVER_BUDGET
        give = functools.partial(budget.give, key, size)
        spool: Spool = self.service.store.spool(size, give, APPEND_IN_MEMORY)
        return spool

    def cmd_enable(self, tag: bytes, args: list[Token]) -> bytes:
        if not args:
            raise bad("ENABLE needs capabilities")
        enabled = []
        for a in args:
            if isinstance(a, Atom) and a.upper() == b"CONDSTORE":
                self.condstore = True
                enabled.append(b"CONDSTORE")
            elif isinstance(a, Atom) and a.upper() == b"QRESYNC":  # implies CONDSTORE
                self.enable_condstore()  # in a selected folder: its HIGHESTMODSEQ (7162 3.1)
                self.qresync = True
                enabled.append(b"QRESYNC")
            elif isinstance(a, Atom) and a.upper() == b"IMAP4REV2":
                self.rev2 = True
                enabled.append(b"IMAP4rev2")
        self.untagged(b"ENABLED" + b"".join(b" " + e for e in enabled))
        return b"ENABLE completed"

    def cmd_namespace(self, tag: bytes, args: list[Token]) -> bytes:
        self._noargs(args)
        shared = b"NIL"
        if self.shared_now():
            shared = b'(("' + SHARED_PREFIX.encode() + b'/" "/"))'
        self.untagged(b'NAMESPACE (("" "/")) NIL ' + shared)
        return b"NAMESPACE completed"

    def cmd_select(self, tag: bytes, args: list[Token], readwrite: bool = True) -> bytes:
        if not args or len(args) > 2:
            raise bad("SELECT needs a mailbox name")
        resync: qresync.QresyncParams | None = None
        if len(args) == 2:
            params = args[1]
            if not isinstance(params, list):
                raise bad("bad SELECT parameters")
            items = iter(params)
            for p in items:
                if isinstance(p, Atom) and p.upper() == b"CONDSTORE":
                    self.condstore = True
                elif isinstance(p, Atom) and p.upper() == b"QRESYNC":
                    if not self.qresync:
                        raise bad("QRESYNC is not enabled")
                    resync = qresync.parse_params(next(items, Atom(b"")))
                else:
                    raise bad("unknown SELECT parameter")
        name = mailbox_name(args[0])
        if self.selected is not None:
            self.deselect()
            self.untagged(b"OK [CLOSED] Previous mailbox closed")
        box = self.open_folder(name, readwrite)
        if box is None:
            raise no("[NONEXISTENT] No such mailbox")
        readwrite = box.readwrite
        unseen, highest = box.load()
        if readwrite and box.seen_user is None:  # \Recent belongs to the mailbox's own login
            self.recent = set(recent.claim_recent(box.box, box.name))
            recent_count = len(self.recent)
        else:
            self.recent = set()
            recent_count = recent.count_recent(box.box, box.info.id)
        self.selected = box
        self.state = "select"
        self.pending_new.clear()
        self.pending_flags.clear()
        self.pending_expunged.clear()
        self.service.hub.join(self, box.box.address, box.name)
        self.flag_lines(box)
        self.untagged(b"%d EXISTS" % len(box.uids))
        if self.rev2:  # RFC 9051 6.3.2: a LIST response instead of RECENT and [UNSEEN]
            self.selected_list_line(name, box)
        else:
            self.untagged(b"%d RECENT" % recent_count)
            if unseen is not None:
                self.untagged(b"OK [UNSEEN %d] First unseen" % unseen)
        self.untagged(b"OK [UIDVALIDITY %d] UIDs valid" % box.info.uidvalidity)
        self.untagged(b"OK [UIDNEXT %d] Predicted next UID" % box.info.uidnext)
        self.untagged(b"OK [HIGHESTMODSEQ %d] Highest" % highest)
        if resync is not None and resync.uidvalidity == box.info.uidvalidity:
            self.resync_selected(box, resync)
        mode = b"[READ-WRITE]" if readwrite else b"[READ-ONLY]"
        return mode + (b" SELECT completed" if readwrite else b" EXAMINE completed")

    def resync_selected(self, box: FolderMailbox, resync: qresync.QresyncParams) -> None:
        """RFC 7162 3.2.5: what changed since the client's MODSEQ: `VANISHED (EARLIER)`,
        then the flags of the messages (of its known UIDs) changed since."""
        line = qresync.earlier(box, resync.modseq, resync.known_uids, resync.samples)
        if line is not None:
            self.untagged(line)
        # QRESYNC is enabled, so is CONDSTORE: the lines carry MODSEQ
        self.flag_fetches(box, qresync.within(box.uids, resync.known_uids), resync.modseq)

    def cmd_examine(self, tag: bytes, args: list[Token]) -> bytes:
        return self.cmd_select(tag, args, readwrite=False)

    def cmd_create(self, tag: bytes, args: list[Token]) -> bytes:
        if len(args) != 1:
            raise bad("CREATE needs a mailbox name")
        name = mailbox_name(args[0]).rstrip(SEPARATOR)
        if name.upper() == "INBOX":
            raise no("[ALREADYEXISTS] INBOX exists")
        if self._account().box.index.folder(name) is not None:
            raise no("[ALREADYEXISTS] Mailbox exists")
        try:
            # not subscribed: SUBSCRIBE is the client's own step (RFC 3501 6.3.6)
            self._account().box.create_folder(name, subscribed=False)
        except FolderNameTooLong as exc:
            raise no(f"[LIMIT] {exc}") from None
        except ValueError as exc:
            raise no(f"[CANNOT] {exc}") from None
        if subscriptions.forget(self._account().box, name):  # subscribed before it was deleted
            self._account().subscribe(name)
        self.service.hub.listed(self, self._account().box.address, "created", name)  # NOTIFY
        return b"CREATE completed"

    def cmd_delete(self, tag: bytes, args: list[Token]) -> bytes:
        if len(args) != 1:
            raise bad("DELETE needs a mailbox name")
        name = mailbox_name(args[0])
        if self.selected is not None and self.selected.name == name:
            self.deselect()
        try:
            self._account().delete(name)
        except (NoSuchFolder, FolderNameTooLong):
            raise no("[NONEXISTENT] No such mailbox") from None
        self.service.hub.listed(self, self._account().box.address, "deleted", name)  # NOTIFY
        return b"DELETE completed"

    def cmd_rename(self, tag: bytes, args: list[Token]) -> bytes:
        if len(args) != 2:
            raise bad("RENAME needs two mailbox names")
        old, new = mailbox_name(args[0]), mailbox_name(args[1]).rstrip(SEPARATOR)
        try:
            self._account().rename(old, new)
        except NoSuchFolder:
            raise no("[NONEXISTENT] No such mailbox") from None
        except FolderNameTooLong as exc:
            raise no(f"[LIMIT] {exc}") from None
        except (ValueError, MailStoreError) as exc:
            raise no(f"[CANNOT] {exc}") from None
        self.service.hub.listed(self, self._account().box.address, "renamed", new, old)  # NOTIFY
        if self.rev2:  # RFC 9051: the new name, with the old one as OLDNAME
            self.renamed_list_line(old, new)
        return b"RENAME completed"

    def cmd_subscribe(self, tag: bytes, args: list[Token], on: bool = True) -> bytes:
        if len(args) != 1:
            raise bad("needs a mailbox name")
        name = mailbox_name(args[0])
        if self.place(name).shared:  # shared folders are always listed as subscribed
            return b"SUBSCRIBE completed" if on else b"UNSUBSCRIBE completed"
        try:
            if on:
                self._account().subscribe(name)
            else:
                self._account().unsubscribe(name)
        except NoSuchFolder:
            raise no("[NONEXISTENT] No such mailbox") from None
        kind = "subscribed" if on else "unsubscribed"
        self.service.hub.listed(self, self._account().box.address, kind, name)  # NOTIFY
        return b"SUBSCRIBE completed" if on else b"UNSUBSCRIBE completed"

    def cmd_unsubscribe(self, tag: bytes, args: list[Token]) -> bytes:
        return self.cmd_subscribe(tag, args, on=False)

    def cmd_list(self, tag: bytes, args: list[Token]) -> bytes:
        request = listext.parse_list(args)
        if request.delimiter_only:
            self.untagged(render.list_line(b"LIST", ["\\Noselect"], ""))
            return b"LIST completed"
        for entry in listext.plan(self.list_tree(), request):
            self.untagged(
                render.list_line(b"LIST", entry.attrs, entry.name, listext.extended_data(entry))
            )
            if request.status and entry.selectable:  # LIST-STATUS (RFC 5819)
                place = self.place(entry.name)
                try:
                    info = query.folder(place.box, place.folder)
                except (NoSuchFolder, ValueError):
                    continue
                self.status_line(place, info, list(request.status))
        return b"LIST completed"

    def list_tree(self) -> list[listext.Node]:
        """Every name LIST may answer with: the user's folders, subscribed names whose folder
        is gone, and the shared namespace (its folders count as subscribed)."""
        account = self._account()
        query.refresh(account.box)
        nodes = [
            listext.Node(f.name, subscribed=f.subscribed, special_use=SPECIAL_USE.get(f.name, ""))
            for f in account.box.folders()
        ]
        nodes += [
            listext.Node(name, exists=False, subscribed=True)
            for name in subscriptions.kept(account.box)
        ]
        for name, marks in self.shared_list_entries("", "*"):
            selectable = "\\Noselect" not in marks
            nodes.append(listext.Node(name, selectable=selectable, subscribed=selectable))
        return nodes

    def selected_list_line(self, name: str, box: FolderMailbox) -> None:
        """IMAP4rev2 SELECT/EXAMINE: `* LIST (attrs) "/" name` of the selected folder."""
        shown = self.place(name).shown(box.name)
        entry = listext.describe(self.list_tree(), shown)
        self.untagged(render.list_line(b"LIST", entry.attrs if entry is not None else (), shown))

    def renamed_list_line(self, old: str, new: str) -> None:
        """IMAP4rev2 RENAME: `* LIST (attrs) "/" new ("OLDNAME" (old))`."""
        entry = listext.describe(self.list_tree(), new)
        attrs = entry.attrs if entry is not None else ()
        self.untagged(render.list_line(b"LIST", attrs, new, render.oldname(old)))

    def cmd_lsub(self, tag: bytes, args: list[Token]) -> bytes:
        if len(args) != 2:
            raise bad("LSUB needs a reference and a pattern")
        ref = mailbox_name(args[0])
        pattern = mailbox_name(args[1]) if astring(args[1]) else ""
        if pattern == "":
            self.untagged(render.list_line(b"LSUB", ["\\Noselect"], ""))
            return b"LSUB completed"
        account = self._account()
        query.refresh(account.box)
        folders = account.box.folders()
        names = {f.name for f in folders}
        for f in folders:
            if not f.subscribed or not list_matches(ref, pattern, f.name):
                continue
            has_children = any(n.startswith(f.name + SEPARATOR) for n in names)
            attrs = ["\\HasChildren" if has_children else "\\HasNoChildren"]
            use = SPECIAL_USE.get(f.name)
            if use:
                attrs.append(use)
            self.untagged(render.list_line(b"LSUB", attrs, f.name))
        # subscribed, the folder gone (RFC 3501 6.3.6); one made again by import is listed above
        kept = [n for n in subscriptions.kept(account.box) if n not in names]
        for name in kept:
            if list_matches(ref, pattern, name):
                self.untagged(render.list_line(b"LSUB", [], name))
        subscribed = [f.name for f in folders if f.subscribed] + kept
        for name in lsub_noselect_parents(subscribed, ref, pattern):
            self.untagged(render.list_line(b"LSUB", ["\\Noselect"], name))
        for shared, marks in self.shared_list_entries(ref, pattern):
            self.untagged(render.list_line(b"LSUB", [marks], shared))
        return b"LSUB completed"

    def cmd_status(self, tag: bytes, args: list[Token]) -> bytes:
        if len(args) != 2 or not isinstance(args[1], list):
            raise bad("STATUS needs a mailbox and a list of items")
        place = self.place(mailbox_name(args[0]))
        try:
            info = query.folder(place.box, place.folder)
        except NoSuchFolder:
            raise no("[NONEXISTENT] No such mailbox") from None
        keys = listext.status_items(args[1])
        self.status_line(place, info, keys)
        return b"STATUS completed"

    def status_line(self, place: Place, info: FolderInfo, keys: list[bytes]) -> None:
        """The untagged STATUS response of one folder (STATUS, LIST RETURN (STATUS))."""
        box = place.box
        values = {
            b"UIDNEXT": info.uidnext,
            b"UIDVALIDITY": info.uidvalidity,
            b"HIGHESTMODSEQ": info.highestmodseq,
        }
        if b"MESSAGES" in keys or b"UNSEEN" in keys:  # the index scans only when asked
            values[b"MESSAGES"], values[b"UNSEEN"] = self.folder_status_counts(place, info)
        if b"SIZE" in keys:  # STATUS=SIZE (RFC 8438): the sizes the index keeps
            values[b"SIZE"] = query.counts(box, info.id)[2]
        if b"DELETED" in keys:  # IMAP4rev2
            values[b"DELETED"] = query.deleted_count(box, info.id)
        if b"RECENT" in keys:
            values[b"RECENT"] = 0 if place.shared else recent.count_recent(box, info.id)
        if b"HIGHESTMODSEQ" in keys:
            self.enable_condstore()
        out = [b"%s %d" % (key, values[key]) for key in keys]
        shown = place.shown(info.name)
        self.untagged(
            b"STATUS " + render.astring(encode_mutf7(shown)) + b" (" + b" ".join(out) + b")"
        )

    def cmd_append(self, tag: bytes, args: list[Token]) -> defer.Deferred[Any]:
        if len(args) < 2:
            raise bad("APPEND needs a mailbox and a message")
        spools = _spools(args)
        try:
            # MULTIAPPEND: several messages (RFC 3502), each a literal or CATENATE (RFC 4469)
            groups = split_messages(args[1:])
            targets = [self._append_target(args[0], extras) for extras, _ in groups]
            messages = [self._message_parts(message) for _, message in groups]
            d = self._append_many(targets, messages)
        except BaseException:
            for spool in spools:
                spool.close()
            raise
        if spools:  # their budget share returns once stored (or refused)

            def release(result: Any) -> Any:
                for spool in spools:
                    spool.close()
                return result

            d.addBoth(release)
        return d

    def _message_parts(self, message: Str | Catenate) -> list[bytes | Spool]:
        """The bytes of one APPENDed message, in pieces (literals, CATENATE URL data); a
        literal8 message re-encoded so that it can be stored (binary.storable)."""
        if isinstance(message, Str):
            payload = _payload(message)
            if not getattr(message, "binary", False):
                _refuse_nul(payload)
                return [payload]
            return [_storable(_whole([payload]))] if needs_storable(payload) else [payload]
        parts: list[bytes | Spool] = []
        binary_text = False
        for kind, value in message.parts:
            if kind == "TEXT":
                payload = _payload(value)
                if getattr(value, "binary", False):
                    binary_text = True
                else:
                    _refuse_nul(payload)
                parts.append(payload)
            else:
                parts.append(self._url_data(bytes(value).decode("ascii", "replace")))
            if parts_size(parts) > self.service.max_message_size:
                raise no(CATENATE_TOO_BIG % self.service.max_message_size)
        if binary_text and any(needs_storable(p) for p in parts):
            return [_storable(_whole(parts))]
        return parts

    def _url_data(self, url: str) -> bytes:
        """What a CATENATE URL names: a message (part) in one of the user's own mailboxes."""
        try:
            parsed = parse_url(url)
            if parsed.host is not None and parsed.host not in self._server_names():
                raise BadUrl("another server")
            account = self._account()
            if parsed.user is not None and parsed.user.lower() != account.address.lower():
                raise BadUrl("another user")
            if parsed.mailbox is not None:
                place = self.place(parsed.mailbox)
                box, name, shared = place.box, place.folder, place.shared
            elif self.selected is not None:
                box, name = self.selected.box, self.selected.name
                shared = self.selected.seen_user is not None
            else:
                raise BadUrl("a relative URL needs a selected mailbox")
            if shared:
                raise BadUrl("only the user's own mailboxes")
            try:
                info = query.folder(box, name)
            except (NoSuchFolder, ValueError):
                raise BadUrl("no such mailbox") from None
            return url_data(box, info, parsed)
        except BadUrl as exc:
            shown = "".join(c for c in url[:MAX_URL_SHOWN] if 0x20 < ord(c) < 0x7F and c != "]")
            raise no(f"[BADURL {shown}] {exc}") from None

    def _server_names(self) -> set[str]:
        """The host names an imap:// URL of this server may carry."""
        names = {self.service.ctx.settings.server.hostname.lower()}
        with contextlib.suppress(Exception):
            names.add(str(self.transport.getHost().host).lower())
        return names

    def _append_many(
        self, targets: list[AppendTarget], messages: list[list[bytes | Spool]]
    ) -> defer.Deferred[Any]:
        """All the messages or none (RFC 3502): every argument is checked before anything
        is stored; they are stored in order, and if one fails those stored before go."""
        stored: list[Any] = []
        d: defer.Deferred[Any] = defer.succeed(None)
        for target, parts in zip(targets, messages, strict=True):
            d.addCallback(self._deliver_next, target, parts)
            d.addCallback(stored.append)

        def ok(_: Any) -> bytes:
            uids = compact_set([got.uid for got in stored])
            return b"[APPENDUID %d %s] APPEND completed" % (stored[0].uidvalidity, uids)

        def undo(failure: Failure) -> Failure:
            if stored:
                target = targets[0]
                uids = [got.uid for got in stored]
                target.place.box.set_flags(target.info.name, uids, ["\\Deleted"], "add")
                gone = target.place.box.expunge(target.info.name, uids)
                self.pending_new.difference_update(gone)
                self.service.hub.expunged(self, target.place.address, target.info.name, gone)
            return failure

        return d.addCallbacks(ok, undo)

    def _deliver_next(
        self, _previous: Any, target: AppendTarget, parts: list[bytes | Spool]
    ) -> defer.Deferred[Any]:
        return self._deliver(target, parts)

    def _append_target(self, mailbox: Token, extras: list[Token]) -> AppendTarget:
        """Where one APPENDed message goes and with what flags and date; BAD/NO refusals."""
        name = mailbox_name(mailbox)
        flags: list[str] = []
        date: float | None = None
        for extra in extras:
            if isinstance(extra, list):
                flags = flag_list(extra)
            elif isinstance(extra, Str):
                try:
                    date = render.parse_internaldate(bytes(extra).decode("ascii"))
                except ValueError:
                    raise bad("bad APPEND date-time") from None
            else:
                raise bad("bad APPEND argument")
        place = self.place(name)
        place.require("i", "append")
        try:
            info = self.place_info(place)
        except (NoSuchFolder, ValueError):
            raise no("[TRYCREATE] No such mailbox") from None
        seen_by_user = place.shared and "\\Seen" in flags
        if place.shared:  # \Seen is the user's own there
            flags = [f for f in flags if f != "\\Seen"]
        return AppendTarget(place, info, flags, date, seen_by_user)

    def _deliver(self, target: AppendTarget, parts: list[bytes | Spool]) -> defer.Deferred[Any]:
        """Stores one message; fires with its `Delivered` (NO [OVERQUOTA] when over quota)."""
        place, info = target.place, target.info
        delivery = self.service.store.begin()
        delivery.add_recipient(
            place.address, info.name, target.flags, target.date, quota_bytes=place.quota_bytes
        )
        for part in parts:  # bytes subclasses or spools: no extra copy of the literals
            delivery.write(part)
        d = defer.Deferred.fromFuture(self.service.ensure_future(delivery.commit()))

        def ok(delivered: Any) -> Any:
            got = delivered[0]
            if target.seen_by_user and place.seen_user is not None:
                seen.set_seen(place.box, info.id, place.seen_user, [got.uid], True)
            selected = self.selected
            if selected is not None and selected.box is place.box and selected.name == got.folder:
                self.pending_new.add(got.uid)
            return got

        def failed(f: Failure) -> None:
            if f.check(QuotaExceeded):
                raise no("[OVERQUOTA] Quota exceeded")
            f.raiseException()

        return d.addCallbacks(ok, failed)

    def cmd_idle(self, tag: bytes, args: list[Token]) -> None:
        self._noargs(args)
        self.mode = "idle"
        self._idle_tag = tag
        self.write_line(b"+ idling")
        self.sync(allow_expunge=True)
        self.flush_out()
        return None

    def idle_line(self, line: bytes) -> None:
        tag, self._idle_tag = self._idle_tag or b"*", None
        self.mode = "command"
        if line.strip().upper() == b"DONE":
            self.finish(tag, b"OK", b"IDLE terminated")
        else:
            self.finish(tag, b"BAD", b"Expected DONE")

    def cmd_getquotaroot(self, tag: bytes, args: list[Token]) -> bytes:
        account = self._quota_account()
        if len(args) != 1:
            raise bad("GETQUOTAROOT needs a mailbox")
        name = mailbox_name(args[0])
        try:
            query.folder(account.box, name)
        except NoSuchFolder:
            raise no("[NONEXISTENT] No such mailbox") from None
        self.untagged(b"QUOTAROOT " + render.astring(encode_mutf7(name)) + b' ""')
        self._quota_line(account)
        return b"GETQUOTAROOT completed"

    def cmd_getquota(self, tag: bytes, args: list[Token]) -> bytes:
        account = self._quota_account()
        if len(args) != 1 or astring(args[0]) != b"":
            raise no("No such quota root")
        self._quota_line(account)
        return b"GETQUOTA completed"

    def cmd_setquota(self, tag: bytes, args: list[Token]) -> bytes:
        self._quota_account()
        raise no("[NOPERM] Quotas are set by the administrator")

    def _quota_account(self) -> MailAccount:
        account = self._account()
        if account.quota_bytes is None:
            raise bad("QUOTA is not enabled for this mailbox")
        return account

    def _quota_line(self, account: MailAccount) -> None:
        used = account.box.usage()
        limit = account.quota_bytes or 0
        self.untagged(b'QUOTA "" (STORAGE %d %d)' % ((used + 1023) // 1024, limit // 1024))
