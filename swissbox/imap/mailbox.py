"""The selected folder: its flags and the session's view of it (the sequence-number -> UID
map that only moves at the moments RFC 3501 allows)."""

from __future__ import annotations

import bisect
from array import array

from swissbox.imap.parser import SeqRange
from swissbox.mailstore import MailboxStore, query
from swissbox.mailstore.index import FolderInfo

_SNAPSHOTS: dict[tuple[str, int], tuple[tuple[int, int, int, int], array[int]]] = {}
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")


class FolderMailbox:
    def __init__(self, box: MailboxStore, info: FolderInfo, readwrite: bool) -> None:
        self.box = box
        self.info = info
        self.name = info.name
        self.readwrite = readwrite
        self.uids: array[int] = array("I")
        self._shared = False  # uids is a snapshot shared with other sessions: copy before change
        self.keywords: set[str] = set()

    def getFlags(self) -> list[str]:  # noqa: N802
        return list(SYSTEM_FLAGS) + sorted(self.keywords)

    # loading and the sequence map
    def load(self) -> tuple[int | None, int]:
        """Reads the folder; returns (first unseen sequence number or None, highest modseq).
        Sessions that select an unchanged folder share one UID array (copy-on-write)."""
        rows = query.light_rows(self.box, self.info.id)
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
        for i, (_uid, flags, _modseq) in enumerate(rows):
            if unseen is None and "\\Seen" not in flags:
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
        """UIDs (ascending) named by a sequence set or UID set; never iterates `*` ranges."""
        uids = self.uids
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
