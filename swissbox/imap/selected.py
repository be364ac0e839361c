"""Selected-state commands that change or query the folder: CHECK, CLOSE, UNSELECT,
EXPUNGE/UID EXPUNGE (with retention), STORE (CONDSTORE UNCHANGEDSINCE), COPY/MOVE (COPYUID),
SEARCH (index data, header prefilter; ESEARCH, SEARCHRES `$`, WITHIN, CONTEXT=SEARCH)."""

from __future__ import annotations

import functools
import time
from typing import Any

from twisted.internet import defer

from swissbox.imap import esearch
from swissbox.imap.base import (
    bad,
    compact_set,
    no,
)
from swissbox.imap.mailbox import FolderMailbox
from swissbox.imap.parser import (
    Atom,
    Token,
    astring,
    flag_list,
    mailbox_name,
    number,
    parse_seqset,
)
from swissbox.imap.search import (
    Candidate,
    bind,
    header_needles,
    matches,
    parse_search,
    uses,
)
from swissbox.imap.shared import SharedCommands
from swissbox.imap.updates import SearchUpdates
from swissbox.mailstore import (
    NoSuchFolder,
    query,
    retention,
    seen,
)
from swissbox.mailstore.paths import folder_dir, read_message

CHARSETS = (b"UTF-8", b"US-ASCII")  # what SEARCH, SORT and THREAD keys may be written in
BADCHARSET = b"[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"


class SelectedCommands(SearchUpdates, SharedCommands):
    def cmd_check(self, tag: bytes, args: list[Token]) -> bytes:
        self._noargs(args)
        return b"CHECK completed"

    def cmd_close(self, tag: bytes, args: list[Token]) -> bytes:
        self._noargs(args)
        box = self._box()
        if box.readwrite and box.may("e"):
            gone = retention.expunge(box.box, box.name)
            self.service.hub.expunged(self, box.box.address, box.name, gone)
        self.deselect()
        return b"CLOSE completed"

    def cmd_unselect(self, tag: bytes, args: list[Token]) -> bytes:
        self._noargs(args)
        self.deselect()
        return b"UNSELECT completed"

    def cmd_expunge(self, tag: bytes, args: list[Token], uid: bool = False) -> bytes:
        box = self._writable()
        if not box.may("e"):
            raise no("[NOPERM] You may not expunge here")
        if uid:
            if len(args) != 1:
                raise bad("UID EXPUNGE needs a UID set")
            wanted: list[int] | None = box.resolve(parse_seqset(args[0]), True)
        else:
            self._noargs(args)
            wanted = None
        self.sync(allow_expunge=True)
        gone = retention.expunge(box.box, box.name, wanted)
        self.service.hub.expunged(self, box.box.address, box.name, gone)
        self._send_expunges(box, gone)
        return b"EXPUNGE completed"

    def cmd_store(self, tag: bytes, args: list[Token], uid: bool = False) -> bytes:
        box = self._writable()
        if len(args) < 3:
            raise bad("STORE needs a set, an item and flags")
        ranges = parse_seqset(args[0])
        rest = args[1:]
        unchanged: int | None = None
        if isinstance(rest[0], list):
            mods = rest[0]
            if (
                len(mods) != 2
                or not isinstance(mods[0], Atom)
                or mods[0].upper() != b"UNCHANGEDSINCE"
            ):
                raise bad("unknown STORE modifier")
            unchanged = number(mods[1], "mod-sequence")
            self.enable_condstore()
            rest = rest[1:]
        if len(rest) < 2 or not isinstance(rest[0], Atom):
            raise bad("STORE needs an item and flags")
        item = rest[0].upper()
        silent = item.endswith(b".SILENT")
        base = item[: -len(b".SILENT")] if silent else item
        mode = {b"FLAGS": "set", b"+FLAGS": "add", b"-FLAGS": "remove"}.get(base)
        if mode is None:
            raise bad("bad STORE item")
        asked = flag_list(rest[1] if len(rest) == 2 else list(rest[1:]))
        flags = box.allowed_flags(asked)
        if asked and not flags:
            raise no("[NOPERM] You may not change these flags here")
        uids = box.resolve(ranges, uid)
        if not uids:
            return b"STORE completed"
        before = {
            r[0]: box.view(r[0], r[1])
            for r in query.rows(box.box, box.info.id, ["uid", "flags"], uids)
        }
        after, refused = box.set_flags(list(before), flags, mode, unchanged)
        self.announce_keywords(flags)  # one FLAGS for all new ones, before the FETCHes
        changed = [m for m in after if " ".join(sorted(m.flags)) != before.get(m.uid, "")]
        changed_uids = {m.uid for m in changed}
        self.service.hub.flags_changed(self, box.box.address, box.name, sorted(changed_uids))
        refused_set = set(refused)
        for m in after:
            if m.uid in refused_set:
                continue
            seq = box.seq_of(m.uid)
            if seq is None:
                continue
            show = not silent or (self.condstore and m.uid in changed_uids)
            if not show:
                continue
            parts = []
            if uid or self.condstore:
                parts.append(b"UID %d" % m.uid)
            if not silent:
                parts.append(b"FLAGS " + self.flags_of(m.uid, " ".join(m.flags)))
            if self.condstore:
                parts.append(b"MODSEQ (%d)" % m.modseq)
            self.untagged(b"%d FETCH (" % seq + b" ".join(parts) + b")")
        if refused:
            if uid:
                ids = sorted(refused)
            else:
                ids = sorted(s for s in (box.seq_of(u) for u in refused) if s is not None)
            return b"[MODIFIED " + compact_set(ids) + b"] Conditional STORE failed"
        return b"STORE completed"

    def cmd_copy(
        self, tag: bytes, args: list[Token], uid: bool = False, move: bool = False
    ) -> bytes | defer.Deferred[bytes]:
        box = self._box() if not move else self._writable()
        if len(args) != 2:
            raise bad("needs a set and a mailbox")
        if move and not (box.may("t") and box.may("e")):
            raise no("[NOPERM] You may not move messages out of here")
        uids = box.resolve(parse_seqset(args[0]), uid)
        dest = self.place(mailbox_name(args[1]))
        dest.require("i", "copy messages into")
        try:
            dinfo = self.place_info(dest)
        except (NoSuchFolder, ValueError):
            raise no("[TRYCREATE] No such mailbox") from None
        if not uids:
            return (b"MOVE" if move else b"COPY") + b" completed"
        if dest.box is not box.box:
            return self.copy_across(box, uids, dest, dinfo, move)
        if dest.quota_bytes is not None and not move:
            size = sum(r[1] for r in query.rows(box.box, box.info.id, ["uid", "size"], uids))
            if box.box.usage() + size > dest.quota_bytes:
                raise no("[OVERQUOTA] Quota exceeded")
        # per-user \Seen follows a move for everyone, a copy for the one who copies
        taken = []
        if move or box.seen_user is not None:
            taken = seen.snapshot(box.box, box.info.id, uids, None if move else box.seen_user)
        if move:
            mapping = box.box.move(box.name, uids, dinfo.name)
        else:
            mapping = box.box.copy(box.name, uids, dinfo.name)
        if taken:
            seen.carry(box.box, dinfo.id, taken, mapping)
        src = sorted(mapping)
        code = b"COPYUID %d %s %s" % (
            dinfo.uidvalidity,
            compact_set(src),
            b",".join(b"%d" % mapping[s] for s in src),
        )
        if move:
            self.untagged(b"OK [" + code + b"] Moved")
            self.service.hub.expunged(self, box.box.address, box.name, src)
            self.sync(allow_expunge=True)
            self._send_expunges(box, src)
        if dinfo.name == box.name:  # announced after the expunges: EXISTS counts what is left
            self.pending_new.update(mapping.values())
        if move:
            return b"MOVE completed"
        return b"[" + code + b"] COPY completed"

    def cmd_move(
        self, tag: bytes, args: list[Token], uid: bool = False
    ) -> bytes | defer.Deferred[bytes]:
        return self.cmd_copy(tag, args, uid, move=True)

    def cmd_search(self, tag: bytes, args: list[Token], uid: bool = False) -> bytes:
        box = self._box()
        returns = None  # ESEARCH (RFC 4731): RETURN (...) comes before CHARSET
        if len(args) >= 2 and isinstance(args[0], Atom) and args[0].upper() == b"RETURN":
            returns = esearch.parse_options(args[1])
            args = args[2:]
        previous = box.saved  # what `$` in this search's own keys stands for
        if returns is not None and "SAVE" in returns.names:
            box.saved = []  # RFC 5182 2.1: a SEARCH ... SAVE that fails leaves `$` empty
        if len(args) >= 2 and isinstance(args[0], Atom) and args[0].upper() == b"CHARSET":
            charset = astring(args[1]).upper()
            if charset not in CHARSETS:
                raise no(BADCHARSET)
            args = args[2:]
        node = bind(parse_search(args), previous, None)  # `$` now, also for live updates
        mark = 0
        if returns is not None and "UPDATE" in returns.names:
            if tag in self.live_searches(box):
                raise bad("a live search has this tag already")
            mark = query.folder(box.box, box.name).highestmodseq  # read before searching
        hits = self.search(box, node)
        by_modseq = uses(node, {"MODSEQ"})
        if by_modseq:
            self.enable_condstore()
        ids = hits if uid else [box.seq_of(u) or 0 for u in hits]
        if returns is None and self.rev2:  # rev2 answers every SEARCH so (RFC 9051 6.4.4)
            returns = esearch.ReturnOptions(frozenset({"ALL"}))
        if returns is not None:
            by_id = dict(zip(ids, hits, strict=True))

            def modseq_of(wanted: list[int]) -> int:
                return self.top_modseq(box, [by_id[i] for i in wanted])

            if returns.answered:
                line = esearch.response(
                    tag, uid, ids, returns.names, modseq_of if by_modseq else None, returns.partial
                )
                self.untagged(line)
            if "SAVE" in returns.names:
                box.saved = esearch.to_save(returns, hits)
            if "UPDATE" in returns.names:
                self.start_live(box, tag, uid, node, hits, mark)
            return b"SEARCH completed"
        line = b"SEARCH" + b"".join(b" %d" % i for i in ids)
        if by_modseq and hits:
            line += b" (MODSEQ %d)" % self.top_modseq(box, hits)
        self.untagged(line)
        return b"SEARCH completed"

    def top_modseq(self, box: FolderMailbox, uids: list[int]) -> int:
        """The highest MODSEQ of these messages (0 for none): what a MODSEQ search key's
        answer ends with (RFC 7162 3.1.5)."""
        rows = query.rows(box.box, box.info.id, ["uid", "modseq"], sorted(uids))
        return max((r[1] for r in rows), default=0)

    def search(self, box: FolderMailbox, node: Any, only: list[int] | None = None) -> list[int]:
        """UIDs (ascending) of the messages matching `node`, among `only` (sorted UIDs of
        this session's view) when given; `$` and OLDER/YOUNGER are bound here."""
        if not box.uids:
            return []
        node = bind(node, box.saved, time.time())
        if only is not None:
            return self._search_in(box, node, only)
        needles = header_needles(node)
        needle = None
        for _name, value in needles:
            if value.isascii() and value:
                needle = value
                break
        need_headers = uses(node, {"HEADER", "DATE", "BODY", "TEXT"})
        headers: dict[int, bytes] = {}
        cols = ["uid", "flags", "internaldate", "size", "modseq", "subdir", "filename"]
        lowered = self.service.lowered_headers(box.box, box.info) if need_headers else {}
        missing = [u for u in box.uids if u not in lowered] if needle is not None else []
        if need_headers and needle is not None and len(missing) > 256:
            # cold: let SQLite prefilter, and fill the cache in the background for next time
            headers = dict(query.header_candidates(box.box, box.info.id, needle))
            wanted = [u for u in sorted(headers) if box.seq_of(u) is not None]
            rows = query.rows(box.box, box.info.id, cols, wanted) if wanted else []
            self.service.fill_headers(box.box, box.info, lowered, missing)
        elif need_headers and needle is not None:
            # warm: prefilter on the shared cache of lower-cased header blocks; encoded words
            # (=?...?=) always pass, the exact test runs on the original headers
            for u, h in query.rows(box.box, box.info.id, ["uid", "headers"], missing):
                lowered[u] = bytes(h).lower()
            wanted_b = needle.lower().encode("utf-8")
            wanted = [
                u
                for u in box.uids
                if (h := lowered.get(u)) is not None and (wanted_b in h or b"=?" in h)
            ]
            headers = dict(query.rows(box.box, box.info.id, ["uid", "headers"], wanted))
            rows = query.rows(box.box, box.info.id, cols, wanted) if wanted else []
        else:
            if need_headers:
                headers = dict(query.header_candidates(box.box, box.info.id, None))
            rows = query.rows(box.box, box.info.id, cols, list(box.uids))
        return self._evaluate(box, node, rows, headers)

    def _search_in(self, box: FolderMailbox, node: Any, uids: list[int]) -> list[int]:
        """`search` over a few messages (a live search judging what changed)."""
        if not uids:
            return []
        headers: dict[int, bytes] = {}
        if uses(node, {"HEADER", "DATE", "BODY", "TEXT"}):
            headers = dict(query.rows(box.box, box.info.id, ["uid", "headers"], uids))
        cols = ["uid", "flags", "internaldate", "size", "modseq", "subdir", "filename"]
        return self._evaluate(box, node, query.rows(box.box, box.info.id, cols, uids), headers)

    def _evaluate(
        self, box: FolderMailbox, node: Any, rows: list[Any], headers: dict[int, bytes]
    ) -> list[int]:
        fdir = folder_dir(box.box.path, box.name)
        max_seq, max_uid = len(box.uids), box.uids[-1]
        hits = []
        for r in rows:
            seq = box.seq_of(r[0])
            if seq is None:
                continue
            load_body = functools.partial(read_message, str(fdir / r[5] / r[6]), r[3])

            cand = Candidate(
                seq,
                r[0],
                frozenset(box.view(r[0], r[1]).split())
                | ({"\\Recent"} if r[0] in self.recent else set()),
                r[2],
                r[3],
                r[4],
                functools.partial(_headers_of, headers, r[0]),
                load_body,
            )
            if matches(node, cand, max_seq, max_uid):
                hits.append(r[0])
        return hits


def _headers_of(headers: dict[int, bytes], uid: int) -> bytes:
    return bytes(headers.get(uid, b""))
