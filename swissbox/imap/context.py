"""CONTEXT=SEARCH (RFC 5267) updates, pure: what a `SEARCH RETURN (UPDATE)` remembers and
the `* ESEARCH (TAG "t") [UID] REMOVEFROM (0 set) ADDTO (0 set)` line that tells the client
how its result changed.

The result is kept as UIDs; the line names UIDs for UID SEARCH, else sequence numbers as
the client knows them when the line is sent (an expunged message is removed before its
EXPUNGE, while it still has its number). Positions are 0, as Dovecot sends them: a
SEARCH result is in ascending order, which places every message by itself."""

from __future__ import annotations

import bisect
import heapq
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from swissbox.imap.base import compact_set
from swissbox.imap.esearch import head
from swissbox.imap.parser import Str

MAX_UPDATES = 10  # live searches per session; one more gets NO [NOUPDATE "tag"]


@dataclass
class LiveSearch:
    """One SEARCH RETURN (UPDATE): its tag, whether it answers UIDs, its search tree, the
    UIDs in its result as last told (ascending, 4 bytes each: a live search over a large
    folder stays small), and `mark`, the mod-sequence up to which every change of the
    folder has been looked at."""

    tag: bytes
    uid: bool
    node: Any
    mark: int
    result: array[int] = field(default_factory=lambda: array("I"))


def _has(result: array[int], uid: int) -> bool:
    i = bisect.bisect_left(result, uid)
    return i < len(result) and result[i] == uid


def _replace(result: array[int], added: list[int], removed: list[int]) -> None:
    """`result` in place, less `removed`, plus `added` (both sorted), in one pass."""
    if added or removed:
        drop = set(removed)
        kept = (u for u in result if u not in drop) if drop else iter(result)
        result[:] = array("I", heapq.merge(kept, added))


def diff(result: array[int], verdicts: Mapping[int, bool]) -> tuple[list[int], list[int]]:
    """(added, removed) UIDs when the messages of `verdicts` (uid -> matches now) are
    judged again; `result` is updated in place."""
    added = sorted(u for u, hit in verdicts.items() if hit and not _has(result, u))
    removed = sorted(u for u, hit in verdicts.items() if not hit and _has(result, u))
    _replace(result, added, removed)
    return added, removed


def gone(result: array[int], expunged: Iterable[int]) -> list[int]:
    """UIDs of `expunged` that leave the result (sorted); `result` is updated in place."""
    out = sorted({u for u in expunged if _has(result, u)})
    _replace(result, [], out)
    return out


def update_line(tag: bytes, uid: bool, added: list[int], removed: list[int]) -> bytes | None:
    """The ESEARCH update (without "* ") for sorted ids, or None when nothing changed."""
    if not added and not removed:
        return None
    out = head(tag, uid)
    if removed:
        out += b" REMOVEFROM (0 " + compact_set(removed) + b")"
    if added:
        out += b" ADDTO (0 " + compact_set(added) + b")"
    return out


def parse_tags(args: list[Any]) -> list[bytes]:
    """CANCELUPDATE's arguments: one or more quoted tags (RFC 5267 4.3); [] when malformed
    (an atom, a list, nothing)."""
    if not args or not all(isinstance(a, Str) for a in args):
        return []
    return [bytes(a) for a in args]
