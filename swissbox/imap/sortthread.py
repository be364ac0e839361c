"""Selected-state SORT and THREAD (RFC 5256), SORT=DISPLAY (RFC 5957), ESORT (RFC 5267
section 3) and their UID forms, answered from the index: the SEARCH keys run as for SEARCH
(selected.py), the sort keys come from the ENVELOPE, INTERNALDATE and size columns (and the
stored header block for References), never from the message files.

What SORT/THREAD read of a message never changes for its UID, so `sort.Facts` are kept per
folder and UID in a cache the sessions share (`ImapService.sort_facts`).
"""

from __future__ import annotations

import contextlib
import gc
from array import array
from collections.abc import Callable, Iterator
from typing import Any

from swissbox.imap import esearch
from swissbox.imap.base import bad, no
from swissbox.imap.mailbox import FolderMailbox
from swissbox.imap.parser import Atom, Token, astring
from swissbox.imap.search import parse_search, uses
from swissbox.imap.selected import BADCHARSET, CHARSETS, SelectedCommands
from swissbox.imap.sort import Facts, envelope_of, parse_criteria, repair_8bit, sort
from swissbox.imap.thread import orderedsubject, parse_algorithm, references, render
from swissbox.mailstore import query
from swissbox.mailstore.store import unfold

ANSWERS_PER_FOLDER = 32  # whole-folder answers kept per folder (criteria x UID or not)


class SortCommands(SelectedCommands):
    def cmd_sort(self, tag: bytes, args: list[Token], uid: bool = False) -> bytes:
        box = self._box()
        returns = None
        if len(args) >= 2 and isinstance(args[0], Atom) and args[0].upper() == b"RETURN":
            returns = esearch.parse_return(args[1])  # ESORT
            args = args[2:]
        if len(args) < 3:
            raise bad("SORT needs sort criteria, a charset and search keys")
        criteria = parse_criteria(args[0])
        node = self._search_node(args[1], args[2:])

        def compute() -> list[int]:
            return sort(self._items(box, node, uid, need_references=False), criteria)

        ids: list[int] = self._answer(box, node, ("SORT", tuple(criteria), uid), compute)
        by_modseq = uses(node, {"MODSEQ"})
        if returns is not None:

            def modseq_of(wanted: list[int]) -> int:
                return self._top_modseq(box, wanted, uid)

            self.untagged(
                esearch.response(tag, uid, ids, returns, modseq_of if by_modseq else None)
            )
            return b"SORT completed"
        line = b"SORT" + b"".join(b" %d" % i for i in ids)
        if ids and by_modseq:  # RFC 7162 3.1.5
            line += b" (MODSEQ %d)" % self._top_modseq(box, ids, uid)
        self.untagged(line)
        return b"SORT completed"

    def cmd_thread(self, tag: bytes, args: list[Token], uid: bool = False) -> bytes:
        box = self._box()
        if len(args) < 3:
            raise bad("THREAD needs an algorithm, a charset and search keys")
        algorithm = parse_algorithm(args[0])
        node = self._search_node(args[1], args[2:])
        wanted = algorithm == "REFERENCES"

        def compute() -> bytes:
            items = self._items(box, node, uid, need_references=wanted)
            with _no_cycle_collection():
                threads = references(items) if wanted else orderedsubject(items)
                lists = render(threads)
                del threads
            return lists

        lists: bytes = self._answer(box, node, ("THREAD", algorithm, uid), compute)
        self.untagged(b"THREAD " + lists if lists else b"THREAD")
        return b"THREAD completed"

    def _answer(self, box: FolderMailbox, node: Any, key: Any, compute: Callable[[], Any]) -> Any:
        """`compute()`, or for the search ALL the answer kept for `key` while the folder
        holds the same UIDs: a message's keys never change for its UID, so an answer over the
        whole folder depends on its UIDs alone (a warm SORT/THREAD is a comparison)."""
        if node != ("ALL",):
            return compute()
        answers = self.service.sort_answers(box.box, box.info)
        kept = answers.get(key)
        if kept is not None and kept[0] == box.uids:
            return kept[1]
        value = compute()
        if len(answers) >= ANSWERS_PER_FOLDER:
            answers.clear()
        answers[key] = (array("I", box.uids), value)
        return value

    def _search_node(self, charset_token: Token, keys: list[Token]) -> Any:
        charset = astring(charset_token).upper()
        node = parse_search(keys)  # BAD for malformed keys comes before BADCHARSET
        if charset not in CHARSETS:
            raise no(BADCHARSET)
        if uses(node, {"MODSEQ"}):
            self.enable_condstore()
        return node

    def _items(
        self, box: FolderMailbox, node: Any, uid: bool, need_references: bool
    ) -> list[tuple[int, Facts]]:
        """(number to answer with, Facts) of the matching messages, in mailbox order."""
        hits = list(box.uids) if node == ("ALL",) else self.search(box, node)
        facts = self.service.sort_facts(box.box, box.info)
        missing = [u for u in hits if u not in facts]
        if missing:
            cols = ["uid", "envelope", "internaldate", "size"]
            rows = query.rows(box.box, box.info.id, cols, missing)
            envelopes = {r[0]: envelope_of(r[1]) for r in rows}
            # raw 8-bit header text is kept as U+FFFD in the envelope: read it again
            garbled = [r[0] for r in rows if "\\ufffd" in r[1] or "\ufffd" in r[1]]
            for u, headers in query.rows(box.box, box.info.id, ["uid", "headers"], garbled):
                envelopes[u] = repair_8bit(envelopes[u], bytes(headers))
            for r in rows:
                facts[r[0]] = Facts(envelopes[r[0]], r[2], r[3])
        if need_references:
            unloaded = [u for u in hits if u in facts and facts[u].references is None]
            if unloaded:
                for u, headers in query.rows(box.box, box.info.id, ["uid", "headers"], unloaded):
                    facts[u].references = references_value(bytes(headers))
        if not uid and len(hits) == len(box.uids):  # every message: numbered 1..n
            return [(i, facts[u]) for i, u in enumerate(hits, 1) if u in facts]
        out = []
        for u in hits:
            f = facts.get(u)
            if f is None:
                continue  # expunged meanwhile
            if uid:
                out.append((u, f))
            else:
                seq = box.seq_of(u)
                if seq is not None:
                    out.append((seq, f))
        return out

    def _top_modseq(self, box: FolderMailbox, numbers: list[int], uid: bool) -> int:
        return self.top_modseq(box, [n if uid else box.uids[n - 1] for n in numbers])


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cycle collector paused while a thread tree is built: its ten thousands of live
    nodes would each time set off a full collection of the server's heap (~80 ms at 10,000
    messages); the trees hold no cycles, so they are freed as soon as they are dropped."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def references_value(headers: bytes) -> str:
    """The References header of a stored header block ("" when there is none)."""
    for line in unfold(headers):
        if line[:11].lower() == b"references:":
            return line[11:].decode("utf-8", "replace")
    return ""
