"""CONTEXT=SEARCH (RFC 5267) in a session: the live searches of `SEARCH RETURN (UPDATE)`,
told as `* ESEARCH ... ADDTO/REMOVEFROM` whenever the session sends its other untagged
updates (end of a command, IDLE), and CANCELUPDATE.

A change is found by its mod-sequence: every message changed or added since a search's
`mark` is judged again (this session's own STORE and APPEND as much as another's); a
message not yet announced with EXISTS waits, and the mark stays below it. An expunged
message leaves the result just before its EXPUNGE. The searches end at CANCELUPDATE and
whenever another folder is selected (or none)."""

from __future__ import annotations

import logging
from array import array
from typing import Any

from swissbox.imap import context, esearch
from swissbox.imap.base import SessionBase, bad, no
from swissbox.imap.context import LiveSearch
from swissbox.imap.mailbox import FolderMailbox
from swissbox.imap.parser import Token
from swissbox.mailstore import MailStoreError, query

log = logging.getLogger("swissbox.imap")
UNKNOWN_TAG = b"Unknown tag"
CANCELLED = b"Updates cancelled"


class SearchUpdates(SessionBase):
    _live: dict[bytes, LiveSearch] | None = None
    _live_box: FolderMailbox | None = None

    def search(self, box: FolderMailbox, node: Any, only: list[int] | None = None) -> list[int]:
        """UIDs matching `node` (selected.SelectedCommands)."""
        raise NotImplementedError

    def live_searches(self, box: FolderMailbox) -> dict[bytes, LiveSearch]:
        """This session's live searches on `box` (those of another folder are dropped)."""
        if self._live is None or self._live_box is not box:
            self._live, self._live_box = {}, box
        return self._live

    def start_live(
        self, box: FolderMailbox, tag: bytes, uid: bool, node: Any, hits: list[int], mark: int
    ) -> None:
        """Keeps a SEARCH RETURN (UPDATE) result; over the limit, `* NO [NOUPDATE "tag"]`."""
        live = self.live_searches(box)
        if len(live) >= context.MAX_UPDATES:
            self.untagged(b"NO [NOUPDATE " + esearch.quoted(tag) + b"] Too many live searches")
            return
        live[tag] = LiveSearch(tag, uid, node, mark, array("I", hits))

    def cmd_cancelupdate(self, tag: bytes, args: list[Token]) -> bytes:
        tags = context.parse_tags(args)
        if not tags:
            raise bad("CANCELUPDATE needs one or more quoted tags")
        live = self.live_searches(self._box())
        if any(t not in live for t in tags):
            raise no(UNKNOWN_TAG)
        for t in tags:
            del live[t]
        return CANCELLED

    def sync(self, allow_expunge: bool) -> None:
        super().sync(allow_expunge)
        if self._live:
            try:
                self._refresh_live()
            except MailStoreError:  # the folder went away under the session
                self._live = None
            except Exception:  # never let an update break the command that carries it
                log.exception("live search update failed; live searches dropped")
                self._live = None

    def _send_expunges(self, box: FolderMailbox, uids: list[int]) -> None:
        if self._live and box is self._live_box:
            for s in self._live.values():
                out = context.gone(s.result, uids)
                ids = out if s.uid else [q for q in map(box.seq_of, out) if q is not None]
                line = context.update_line(s.tag, s.uid, [], ids)
                if line is not None:
                    self.untagged(line)
        super()._send_expunges(box, uids)

    def _refresh_live(self) -> None:
        box = self.selected
        if box is None or box is not self._live_box:
            self._live = None
            return
        live = self.live_searches(box)
        low = min(s.mark for s in live.values())
        if query.folder(box.box, box.name).highestmodseq <= low:
            return  # nothing changed: one row read, not the folder's
        changed = query.changed_since(box.box, box.info.id, low)
        last = box.uids[-1] if box.uids else 0
        for s in live.values():
            rows = [(u, m) for u, m in changed if m > s.mark]
            if not rows:
                continue
            known = [u for u, _ in rows if box.seq_of(u) is not None]
            waiting = [m for u, m in rows if u > last]
            if known:
                hits = set(self.search(box, s.node, only=known))
                added, removed = context.diff(s.result, {u: u in hits for u in known})
                if not s.uid:
                    added = [q for q in map(box.seq_of, added) if q is not None]
                    removed = [q for q in map(box.seq_of, removed) if q is not None]
                line = context.update_line(s.tag, s.uid, added, removed)
                if line is not None:
                    self.untagged(line)
            s.mark = min(waiting) - 1 if waiting else max(m for _, m in rows)
