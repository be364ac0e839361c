"""Several users of one address, on IMAP: proxy login, the shared namespace, RFC 4314 ACLs.

Who: a session logged in to a mailbox acts for the person (account) that owns it
(`Directory.usable_mailboxes`). With SASL PLAIN and an authorization identity (login.py) it
*is* another address the person holds a full grant on; otherwise the other addresses the
person may use appear under `Shared Folders/<address>/<folder>` (RFC 2342 shared namespace),
with the rights of the grant: full = "lrswite", read-only = "lrs" (RFC 4314 letters; folders
of a shared address are created, renamed and deleted by the address itself, never from here).
In the shared namespace \\Seen is kept per user (`mailstore/seen.py`), and \\Recent is left to
the mailbox's own sessions.

Revocation: `check_access` runs before every command of a session that has something to lose
(proxied, or with shared addresses); the directory is re-read when it has changed (one PRAGMA
otherwise). A proxied session whose grant is gone gets BYE; a selected shared folder whose
grant is gone is closed and the command answers NO [NOPERM].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure

from swissbox.directory import Directory
from swissbox.imap import render
from swissbox.imap.account import list_matches
from swissbox.imap.base import SessionBase, bad, compact_set, no
from swissbox.imap.mailbox import ALL_RIGHTS, SEEN, FolderMailbox
from swissbox.imap.parser import Token, astring, encode_mutf7, mailbox_name
from swissbox.mailstore import (
    INBOX,
    SEPARATOR,
    MailboxStore,
    NoSuchFolder,
    QuotaExceeded,
    query,
    retention,
    seen,
)
from swissbox.mailstore.index import FolderInfo
from swissbox.mailstore.paths import folder_dir

SHARED_PREFIX = "Shared Folders"
FULL_RIGHTS = "lrswite"
READ_RIGHTS = "lrs"
RIGHTS_OF_ACCESS = {"own": FULL_RIGHTS, "full": FULL_RIGHTS, "read": READ_RIGHTS}
SEND_AS_ACCESS = ("own", "full")  # what a proxy login (authorization identity) needs
GRANTS_BY_ADMIN = "[CANNOT] Grants are set by the administrator (swissbox mailbox grant)"
REVOKED = "[NOPERM] Access to {address} was revoked"


def split_shared(name: str) -> tuple[str, str] | None:
    """`Shared Folders/info@x/Sent` -> ("info@x", "Sent"); the namespace root and an
    address's own node give empty parts; None outside the shared namespace."""
    if name != SHARED_PREFIX and not name.startswith(SHARED_PREFIX + SEPARATOR):
        return None
    rest = name[len(SHARED_PREFIX) + 1 :]
    address, _, folder = rest.partition(SEPARATOR)
    return address, folder


def shared_name(address: str, folder: str) -> str:
    return f"{SHARED_PREFIX}{SEPARATOR}{address}{SEPARATOR}{folder}"


class Access:
    """What one session's person may use besides its own mailbox, re-read from the directory
    when that has changed. `authcid`: the mailbox whose password was given; `acting`: the
    mailbox the session is (the same, or the SASL authorization identity)."""

    def __init__(self, directory: Directory, authcid: str, acting: str) -> None:
        self.directory = directory
        self.authcid = authcid
        self.acting = acting
        self._generation: Any = None
        self._usable: dict[str, tuple[str, str]] = {}  # lower-case address -> (address, access)

    @property
    def proxied(self) -> bool:
        return self.authcid.lower() != self.acting.lower()

    def refresh(self) -> None:
        generation = self.directory.generation()
        if generation != self._generation:
            self._generation = generation
            usable = self.directory.usable_mailboxes(self.authcid)
            self._usable = {a.lower(): (a, access) for a, access in usable.items()}

    def usable_as(self, address: str) -> str | None:
        """The canonical form of `address` when the person may act as it (a full grant or
        their own)."""
        found = self._usable.get(address.strip().lower())
        return found[0] if found is not None and found[1] in SEND_AS_ACCESS else None

    def allowed(self) -> bool:
        """A proxied session still has a grant that lets it act as its address."""
        return not self.proxied or self.usable_as(self.acting) is not None

    def shared(self) -> dict[str, tuple[str, str]]:
        """lower-case address -> (address, rights) of the shared namespace (none when
        proxied: that session is the other address)."""
        if self.proxied:
            return {}
        return {
            key: (address, RIGHTS_OF_ACCESS[access])
            for key, (address, access) in self._usable.items()
            if key != self.acting.lower()
        }


@dataclass(frozen=True)
class Place:
    """Where a client's folder name leads: the mailbox store, the folder in it, and what this
    session may do there."""

    box: MailboxStore
    folder: str
    address: str
    rights: str
    seen_user: str | None  # per-user \Seen (the shared namespace)
    quota_bytes: int | None
    prefix: str  # "" or `Shared Folders/<address>/`

    @property
    def shared(self) -> bool:
        return self.seen_user is not None

    def shown(self, folder: str) -> str:
        return self.prefix + folder

    def require(self, right: str, what: str) -> None:
        if right not in self.rights:
            raise no(f"[NOPERM] You may not {what} here")


class SharedCommands(SessionBase):
    """The mixin with the session's `access` and everything that resolves folder names."""

    access: Access | None = None

    def start_access(self, authcid: str, acting: str) -> None:
        self.access = Access(self.service.ctx.directory, authcid, acting)
        self.access.refresh()

    def shared_now(self) -> dict[str, tuple[str, str]]:
        """The shared namespace as the directory says now (a grant given during the session
        shows at the next LIST, NAMESPACE or shared name)."""
        if self.access is None:
            return {}
        self.access.refresh()
        return self.access.shared()

    # -- revocation ---------------------------------------------------------------------------

    def check_access(self, tag: bytes) -> bool:
        """Before each command of a logged-in session; True when it was answered here."""
        if self.end_if_deleted():
            return True
        access = self.access
        if access is None or not (access.proxied or access.shared()):
            return False  # nothing that a revoke could take away: no directory read
        access.refresh()
        if not access.allowed():
            self.untagged(b"BYE " + REVOKED.format(address=access.acting).encode())
            self.flush_out()
            self.close()
            return True
        box = self.selected
        if box is None or box.seen_user is None:
            return False
        found = access.shared().get(box.box.address.lower())
        if found is None:
            self.deselect()
            self.finish(tag, b"NO", REVOKED.format(address=box.box.address).encode())
            return True
        box.rights = found[1]
        return False

    # -- names ----------------------------------------------------------------------------

    def place(self, name: str) -> Place:
        """Where `name` leads; NO [NONEXISTENT] for shared names this session cannot use."""
        account = self._account()
        parts = split_shared(name)
        if parts is None:
            return Place(
                account.box, name, account.address, ALL_RIGHTS, None, account.quota_bytes, ""
            )
        key, folder = parts
        found = self.shared_now().get(key.lower())
        if found is None or not folder:
            raise no("[NONEXISTENT] No such mailbox")
        address, rights = found
        mailbox = self.service.ctx.directory.mailbox(address)
        return Place(
            self.service.store.mailbox(address),
            INBOX if folder.upper() == INBOX else folder,
            address,
            rights,
            account.address,
            mailbox.quota_bytes if mailbox is not None else None,
            shared_name(address, ""),
        )

    def place_info(self, place: Place) -> FolderInfo:
        """The folder's fresh counters; NoSuchFolder/ValueError when absent (the folder cache
        is refreshed when another process made the folder)."""
        info = query.folder(place.box, place.folder)
        if place.box.index.folder(info.name) is None:
            query.refresh(place.box)
        return info

    def open_folder(self, name: str, readwrite: bool) -> FolderMailbox | None:
        """SELECT/EXAMINE: the folder as this session sees it, or None when absent."""
        place = self.place(name)
        if not place.shared:
            return self._account().select(name, readwrite)
        place.require("r", "read")
        try:
            info = self.place_info(place)
        except (NoSuchFolder, ValueError):
            return None
        # RFC 4314 4: read-write only with a right to change something
        writable = readwrite and any(r in place.rights for r in "swtei")
        return FolderMailbox(place.box, info, writable, place.rights, place.seen_user)

    def guard_folder_change(self, names: list[Token]) -> None:
        """CREATE/DELETE/RENAME: never inside the shared namespace (nor a personal folder
        named like it)."""
        for token in names:
            if split_shared(mailbox_name(token).rstrip(SEPARATOR)) is not None:
                raise no(
                    f"[NOPERM] Folders under {SHARED_PREFIX} belong to their address;"
                    " its own login creates, renames and deletes them"
                )

    def shared_list_entries(self, ref: str, pattern: str) -> list[tuple[str, str]]:
        """(name, attributes) of the shared namespace's folders that match, for LIST and LSUB
        (every shared folder counts as subscribed: clients that show only subscribed folders
        still show them)."""
        shared = self.shared_now()
        if not shared:
            return []
        entries: list[tuple[str, str]] = [(SHARED_PREFIX, "\\Noselect \\HasChildren")]
        for address, _rights in sorted(shared.values()):
            entries.append((SHARED_PREFIX + SEPARATOR + address, "\\Noselect \\HasChildren"))
            box = self.service.store.mailbox(address)
            query.refresh(box)
            folders = box.folders()
            names = {f.name for f in folders}
            for f in folders:
                children = any(n.startswith(f.name + SEPARATOR) for n in names)
                attrs = "\\HasChildren" if children else "\\HasNoChildren"
                entries.append((shared_name(address, f.name), attrs))
        return [(name, attrs) for name, attrs in entries if list_matches(ref, pattern, name)]

    def folder_status_counts(self, place: Place, info: FolderInfo) -> tuple[int, int]:
        """(messages, unseen) as this session's user sees them."""
        messages, unseen, _size = query.counts(place.box, info.id)
        if place.seen_user is not None:
            unseen = messages - seen.seen_count(place.box, info.id, place.seen_user)
        return messages, unseen

    # -- COPY/MOVE between two mailboxes ----------------------------------------------------

    def copy_across(
        self, box: FolderMailbox, uids: list[int], dest: Place, info: FolderInfo, move: bool
    ) -> defer.Deferred[bytes]:
        """COPY/MOVE from the selected folder into a folder of another mailbox: each message
        is delivered there (flags as this user sees them, \\Seen per user on a shared side),
        then, for MOVE, expunged here."""
        rows = query.rows(
            box.box,
            box.info.id,
            ["uid", "flags", "internaldate", "size", "subdir", "filename"],
            uids,
        )
        if dest.quota_bytes is not None:
            size = sum(r[3] for r in rows)
            if dest.box.usage() + size > dest.quota_bytes:
                raise no("[OVERQUOTA] Quota exceeded")
        fdir = folder_dir(box.box.path, box.name)
        store = self.service.store

        async def deliver() -> dict[int, int]:
            mapping: dict[int, int] = {}
            for uid, stored, internaldate, _size, subdir, filename in rows:
                try:
                    raw = (fdir / subdir / filename).read_bytes()
                except FileNotFoundError:
                    continue
                flags = box.view(uid, stored).split()
                kept = [f for f in flags if f != SEEN] if dest.shared else flags
                delivery = store.begin()
                delivery.add_recipient(
                    dest.address, info.name, kept, internaldate, quota_bytes=dest.quota_bytes
                )
                delivery.write(raw)
                [got] = await delivery.commit()
                mapping[uid] = got.uid
                if dest.seen_user is not None and SEEN in flags:
                    seen.set_seen(dest.box, info.id, dest.seen_user, [got.uid], True)
            return mapping

        d = defer.Deferred.fromFuture(self.service.ensure_future(deliver()))

        def done(mapping: dict[int, int]) -> bytes:
            src = sorted(mapping)
            code = b"COPYUID %d %s %s" % (
                info.uidvalidity,
                compact_set(src),
                b",".join(b"%d" % mapping[s] for s in src),
            )
            if not move:
                return b"[" + code + b"] COPY completed"
            if src:
                box.box.set_flags(box.name, src, ["\\Deleted"], "add")
                gone = retention.expunge(box.box, box.name, src)
                self.untagged(b"OK [" + code + b"] Moved")
                self.service.hub.expunged(self, box.box.address, box.name, gone)
                self.sync(allow_expunge=True)
                self._send_expunges(box, gone)
            return b"MOVE completed"

        def failed(f: Failure) -> bytes:
            if f.check(QuotaExceeded):
                raise no("[OVERQUOTA] Quota exceeded")
            f.raiseException()

        return d.addCallbacks(done, failed)

    # -- RFC 4314 ---------------------------------------------------------------------------

    def cmd_myrights(self, tag: bytes, args: list[Token]) -> bytes:
        if len(args) != 1:
            raise bad("MYRIGHTS needs a mailbox")
        name = mailbox_name(args[0])
        place = self._existing(name)
        self.untagged(
            b"MYRIGHTS " + render.astring(encode_mutf7(name)) + b" " + place.rights.encode()
        )
        return b"MYRIGHTS completed"

    def cmd_getacl(self, tag: bytes, args: list[Token]) -> bytes:
        if len(args) != 1:
            raise bad("GETACL needs a mailbox")
        name = mailbox_name(args[0])
        place = self._existing(name)
        place.require("a", "read the access list")
        parts = [render.astring(encode_mutf7(name)), render.astring(place.address)]
        parts.append(ALL_RIGHTS.encode())
        for login, rights in self._grantees(place.address):
            parts += [render.astring(login), rights.encode()]
        self.untagged(b"ACL " + b" ".join(parts))
        return b"GETACL completed"

    def cmd_listrights(self, tag: bytes, args: list[Token]) -> bytes:
        if len(args) != 2:
            raise bad("LISTRIGHTS needs a mailbox and an identifier")
        name = mailbox_name(args[0])
        who = astring(args[1]).decode("utf-8", "replace")
        place = self._existing(name)
        place.require("a", "read the access list")
        head = b"LISTRIGHTS " + render.astring(encode_mutf7(name)) + b" " + render.astring(who)
        if who.lower() == place.address.lower():
            self.untagged(head + b" " + ALL_RIGHTS.encode())  # the address itself: all
        else:  # what a grant gives: read-only ("lrs"), full adds "wite"
            extra = "".join(r for r in FULL_RIGHTS if r not in READ_RIGHTS)
            self.untagged(head + b' "" ' + READ_RIGHTS.encode() + b" " + extra.encode())
        return b"LISTRIGHTS completed"

    def cmd_setacl(self, tag: bytes, args: list[Token]) -> bytes:
        raise no(GRANTS_BY_ADMIN)

    def _existing(self, name: str) -> Place:
        place = self.place(name)
        try:
            query.folder(place.box, place.folder)
        except (NoSuchFolder, ValueError):
            raise no("[NONEXISTENT] No such mailbox") from None
        return place

    def _grantees(self, address: str) -> list[tuple[str, str]]:
        """(login, rights) of the accounts that hold a grant on `address`, its owner aside."""
        directory = self.service.ctx.directory
        mailbox = directory.mailbox(address)
        if mailbox is None:
            return []
        users = directory.mailbox_users([mailbox])[mailbox.id]
        return [(u.login, RIGHTS_OF_ACCESS[u.access]) for u in users if u.access != "own"]
