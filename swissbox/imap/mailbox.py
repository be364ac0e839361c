"""The selected folder: its flags and the session's view of it (the sequence-number -> UID
map that only moves at the moments RFC 3501 allows).

A folder of another mailbox reached through the shared namespace (`shared.py`) carries the
session's RFC 4314 rights, and \\Seen kept per user (`mailstore/seen.py`): `view()` gives a
message's flags as this user sees them, `set_flags()`/`mark_seen()` change them so."""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable

from swissbox.imap.parser import SavedResult, SeqRange
from swissbox.mailstore import MailboxStore, MessageInfo, query, seen
from swissbox.mailstore.index import FolderInfo

_SNAPSHOTS: dict[tuple[str, int], tuple[tuple[int, int, int, int], array[int]]] = {}
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
SEEN = "\\Seen"
ALL_RIGHTS = "lrswipkxtecda"  # RFC 4314: a mailbox's own folders


class FolderMailbox:
    def __init__(
        self,
        box: MailboxStore,
        info: FolderInfo,
        readwrite: bool,
        rights: str = ALL_RIGHTS,
        seen_user: str | None = None,
    ) -> None:
        self.box = box
        self.info = info
        self.name = info.name
        self.readwrite = readwrite
        self.rights = rights
        self.seen_user = seen_user  # \Seen is this user's own (shared namespace), not the box's
        self.seen: set[int] = set()
        self.uids: array[int] = array("I")
        self._shared = False  # uids is a snapshot shared with other sessions: copy before change
        self.keywords: set[str] = set()
        self.saved: list[int] = []  # RFC 5182 `$`: UIDs, ascending; empty at each SELECT

    def may(self, right: str) -> bool:
        return right in self.rights

    def view(self, uid: int, flags: str) -> str:
        """The stored flags of message `uid` as this session's user sees them."""
        if self.seen_user is None:
            return flags
        names = [f for f in flags.split() if f != SEEN]
        if uid in self.seen:
            names.append(SEEN)
        return " ".join(sorted(names))

    def reload_seen(self) -> None:
        if self.seen_user is not None:
            self.seen = seen.seen_uids(self.box, self.info.id, self.seen_user)

    def permanent_flags(self) -> list[str]:
        """The flags this session may change (PERMANENTFLAGS; RFC 4314 rights s, w, t)."""
        out = [f for f in self.getFlags() if f == SEEN and self.may("s")]
        out += [f for f in self.getFlags() if f == "\\Deleted" and self.may("t")]
        out += [f for f in self.getFlags() if f not in (SEEN, "\\Deleted") and self.may("w")]
        return out

    def allowed_flags(self, flags: Iterable[str]) -> list[str]:
        """`flags` less those the rights do not let this session change (RFC 4314 4: STORE
        ignores those rather than failing)."""
        out = []
        for f in flags:
            right = "s" if f == SEEN else "t" if f == "\\Deleted" else "w"
            if self.may(right):
                out.append(f)
        return out

    def set_flags(
        self, uids: list[int], flags: list[str], mode: str, unchanged_since: int | None = None
    ) -> tuple[list[MessageInfo], list[int]]:
        """STORE on this folder: like `MailboxStore.set_flags`, the rows coming back with the
        flags this user sees. Flags the rights do not let it change are kept as they are;
        with per-user \\Seen, \\Seen goes to the user's own state (the box's own untouched)."""
        if self.seen_user is None and all(self.may(r) for r in "swt"):
            return self.box.set_flags(self.name, uids, flags, mode, unchanged_since)
        flags = self.allowed_flags(flags)
        refused: list[int] = []
        if unchanged_since is not None:
            rows = query.rows(self.box, self.info.id, ["uid", "modseq"], uids)
            refused = [u for u, modseq in rows if modseq > unchanged_since]
            uids = [u for u in uids if u not in set(refused)]
        add, remove = (flags, []) if mode == "add" else ([], flags)
        if mode == "set":
            current = query.rows(self.box, self.info.id, ["uid", "flags"], uids)
            present = {f for u, fl in current for f in self.view(u, fl).split()}
            add, remove = flags, sorted(set(self.allowed_flags(present)) - set(flags))
        for names, how in ((add, "add"), (remove, "remove")):
            stored = [f for f in names if f != SEEN or self.seen_user is None]
            if stored and uids:
                self.box.set_flags(self.name, uids, stored, how)
            if SEEN in names and self.seen_user is not None:
                self.mark_seen(uids, how == "add")
        rows = query.rows(self.box, self.info.id, ["uid", "flags", "modseq"], uids + refused)
        out = [
            MessageInfo(u, "", "", "", frozenset(self.view(u, fl).split()), modseq, 0, 0)
            for u, fl, modseq in rows
        ]
        return out, refused

    def mark_seen(self, uids: list[int], on: bool = True) -> list[int]:
        """Sets (or clears) \\Seen on `uids` for this session's user; returns the UIDs that
        changed."""
        if self.seen_user is None:
            wanted = [
                u
                for u, fl in query.rows(self.box, self.info.id, ["uid", "flags"], uids)
                if (SEEN in fl.split()) != on
            ]
            if wanted:
                self.box.set_flags(self.name, wanted, [SEEN], "add" if on else "remove")
            return wanted
        changed, _ = seen.set_seen(self.box, self.info.id, self.seen_user, uids, on)
        if on:
            self.seen.update(changed)
        else:
            self.seen.difference_update(changed)
        return changed

    def getFlags(self) -> list[str]:  # noqa: N802
        return list(SYSTEM_FLAGS) + sorted(self.keywords)

    # loading and the sequence map
    def load(self) -> tuple[int | None, int]:
        """Reads the folder; returns (first unseen sequence number or None, highest modseq).
        Sessions that select an unchanged folder share one UID array (copy-on-write)."""
        rows = query.light_rows(self.box, self.info.id)
        self.reload_seen()
        key = (str(self.box.path), self.info.id)
        version = (self.info.uidvalidity, self.info.uidnext, self.info.highestmodseq, len(rows))
        cached = _SNAPSHOTS.get(key)
        if cached is not None and cached[0] == version:
            self.uids = cached[1]
        else:
            self.uids = array("I", [r[0] for r in rows])
            if len(_SNAPSHOTS) > 1000:
                _SNAPSHOTS.clear()
            _SNAPSHOTS[key] = (version, self.uids)
        self._shared = True
        unseen = None
        keywords: set[str] = set()
        for i, (uid, stored, _modseq) in enumerate(rows):
            flags = self.view(uid, stored)
            if unseen is None and SEEN not in flags:
                unseen = i + 1
            if flags and "\\" not in flags or " " in flags:
                keywords.update(f for f in flags.split() if not f.startswith("\\"))
        self.keywords = keywords
        return unseen, self.info.highestmodseq

    def _own(self) -> array[int]:
        if self._shared:
            self.uids = array("I", self.uids)
            self._shared = False
        return self.uids

    def remove_seq(self, seq: int) -> None:
        del self._own()[seq - 1]

    def add_uids(self, uids: list[int]) -> None:
        self._own().extend(uids)

    def seq_of(self, uid: int) -> int | None:
        i = bisect.bisect_left(self.uids, uid)
        if i < len(self.uids) and self.uids[i] == uid:
            return i + 1
        return None

    def resolve(self, ranges: list[SeqRange], uid: bool) -> list[int]:
        """UIDs (ascending) named by a sequence set or UID set; never iterates `*` ranges.
        `$` names the saved result's messages still here (expunges leave it at once)."""
        uids = self.uids
        if isinstance(ranges, SavedResult):
            return [u for u in self.saved if self.seq_of(u) is not None]
        if not uids:
            return []
        picked: set[int] = set()
        out: list[int] = []
        for lo, hi in ranges:
            if uid:
                lo_v = uids[-1] if lo is None else lo
                hi_v = uids[-1] if hi is None else hi
                if lo_v > hi_v:
                    lo_v, hi_v = hi_v, lo_v
                a = bisect.bisect_left(uids, lo_v)
                b = bisect.bisect_right(uids, hi_v)
            else:
                n = len(uids)
                lo_v = n if lo is None else lo
                hi_v = n if hi is None else hi
                if lo_v > hi_v:
                    lo_v, hi_v = hi_v, lo_v
                a, b = lo_v - 1, min(hi_v, n)
            if b - a == len(uids) and not picked:
                return list(uids)  # one range covers everything: the union is all
            for u in uids[max(a, 0) : b]:
                if u not in picked:
                    picked.add(u)
                    out.append(u)
        out.sort()
        return out
