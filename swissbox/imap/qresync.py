"""QRESYNC (RFC 7162 3.2): SELECT's `(QRESYNC (uidvalidity modseq [known-uids
[(known-sequence-set known-uid-set)]]))` parameter, which UIDs a `VANISHED (EARLIER)` names,
and the VANISHED lines; pure except `earlier()`, which reads the folder's expunge records.

UID sets are handled as sorted, merged, inclusive ranges so that `1:4294967295` costs as
little as `1:3`. When the index no longer has the expunges since the client's MODSEQ (older
than its records, `Index.vanished_since` gives None), every UID of the client's range that
the folder does not hold is reported, less those the sequence-match data proves the client
still has right (RFC 7162 3.2.5.2)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from swissbox.imap.parser import Atom, ParseError, SeqRange, Token, number, parse_seqset

if TYPE_CHECKING:
    from swissbox.imap.mailbox import FolderMailbox

Ranges = list[tuple[int, int]]  # sorted, merged, inclusive
MAX_UID = 2**32 - 1
MAX_MODSEQ = 2**63 - 1


@dataclass(frozen=True)
class QresyncParams:
    """SELECT/EXAMINE's QRESYNC parameter. `known_uids` None: every UID; `samples`: the
    (sequence number, UID) pairs the client last saw, ascending."""

    uidvalidity: int
    modseq: int
    known_uids: Ranges | None = None
    samples: list[tuple[int, int]] = field(default_factory=list)


def merge(ranges: list[tuple[int, int]]) -> Ranges:
    """Sorted, overlapping and adjacent ranges joined."""
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def concrete(seqset: list[SeqRange], star: int | None, what: str) -> Ranges:
    """A parsed sequence set as ranges; `*` stands for `star` (ParseError when None)."""
    out = []
    for lo, hi in seqset:
        if lo is None or hi is None:
            if star is None:
                raise ParseError(f"* is not allowed in {what}")
            lo_v, hi_v = (star if lo is None else lo), star
            lo_v, hi_v = min(lo_v, hi_v), max(lo_v, hi_v)
        else:
            lo_v, hi_v = lo, hi
        if lo_v < 1:
            raise ParseError(f"0 is not allowed in {what}")
        out.append((lo_v, hi_v))
    return merge(out)


def _count(ranges: Ranges) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)


def _nth(ranges: Ranges, starts: list[int], n: int) -> int:
    """The n-th (0-based) number of `ranges`; `starts` are the running counts."""
    i = bisect.bisect_right(starts, n) - 1
    return ranges[i][0] + n - starts[i]


def sample_pairs(seqs: Ranges, uids: Ranges) -> list[tuple[int, int]]:
    """The (seq, uid) pairs of seq-match data at each end of the UID ranges (the two sets
    pair off in order, so they must be the same size: else ParseError)."""
    if _count(seqs) != _count(uids):
        raise ParseError("QRESYNC known-sequence-set and known-uid-set differ in size")
    starts, total = [], 0
    for lo, hi in seqs:
        starts.append(total)
        total += hi - lo + 1
    pairs = []
    n = 0
    for lo, hi in uids:
        pairs.append((_nth(seqs, starts, n), lo))
        if hi > lo:
            pairs.append((_nth(seqs, starts, n + hi - lo), hi))
        n += hi - lo + 1
    return pairs


def _atom_set(token: Token, what: str) -> Ranges:
    if not isinstance(token, Atom):
        raise ParseError(f"bad QRESYNC {what}")
    return concrete(parse_seqset(token), None, what)


def parse_params(token: Token) -> QresyncParams:
    """`(uidvalidity modseq [known-uids] [(known-sequence-set known-uid-set)])`."""
    if not isinstance(token, list) or len(token) < 2 or len(token) > 4:
        raise ParseError("QRESYNC needs (uidvalidity modseq [known-uids] [seq-match-data])")
    uidvalidity = number(token[0], "UIDVALIDITY")
    modseq = number(token[1], "mod-sequence")
    if not 1 <= uidvalidity <= MAX_UID or modseq > MAX_MODSEQ:
        raise ParseError("QRESYNC UIDVALIDITY or mod-sequence out of range")
    rest = token[2:]
    known: Ranges | None = None
    if rest and not isinstance(rest[0], list):
        known = _atom_set(rest[0], "known-uids")
        rest = rest[1:]
    samples: list[tuple[int, int]] = []
    if rest:
        match = rest[0]
        if len(rest) != 1 or not isinstance(match, list) or len(match) != 2:
            raise ParseError("QRESYNC seq-match-data is (known-sequence-set known-uid-set)")
        seqs = _atom_set(match[0], "known-sequence-set")
        uids = _atom_set(match[1], "known-uid-set")
        samples = sample_pairs(seqs, uids)
    return QresyncParams(uidvalidity, modseq, known, samples)


def within(uids: Sequence[int], ranges: Ranges | None) -> list[int]:
    """The sorted `uids` that lie in `ranges` (all of them for None)."""
    if ranges is None:
        return list(uids)
    out: list[int] = []
    for lo, hi in ranges:
        out.extend(uids[bisect.bisect_left(uids, lo) : bisect.bisect_right(uids, hi)])
    return out


def absent(present: Sequence[int], ranges: Ranges) -> Ranges:
    """The parts of `ranges` holding none of the sorted `present` UIDs."""
    out: Ranges = []
    for lo, hi in ranges:
        start = lo
        i = bisect.bisect_left(present, lo)
        while i < len(present) and present[i] <= hi:
            if present[i] > start:
                out.append((start, present[i] - 1))
            start = present[i] + 1
            i += 1
        if start <= hi:
            out.append((start, hi))
    return out


def _holds(present: Sequence[int], uid: int) -> bool:
    i = bisect.bisect_left(present, uid)
    return i < len(present) and present[i] == uid


def matched_floor(present: Sequence[int], samples: list[tuple[int, int]]) -> int:
    """The largest UID up to which the client's (seq, uid) samples still hold: no message it
    knew at or below that UID can have been expunged (0 when the first one differs)."""
    floor = 0
    for seq, uid in samples:
        if seq > len(present) or present[seq - 1] != uid:
            break
        floor = uid
    return floor


def vanished_earlier(
    recorded: list[int] | None,
    present: Sequence[int],
    uidnext: int,
    known: Ranges | None,
    samples: list[tuple[int, int]] | None = None,
) -> Ranges:
    """The UIDs for `VANISHED (EARLIER)` as the session sees the folder (`present`, UIDs
    below `uidnext`): the recorded expunges in `known`, or when those
    are forgotten (None), every UID of `known` below `uidnext` the folder does not hold,
    above what the samples prove unchanged."""
    if recorded is not None:  # less those still in the session's view (not yet announced)
        return merge([(u, u) for u in within(recorded, known) if not _holds(present, u)])
    top = min(uidnext - 1, MAX_UID)
    wanted = [(lo, min(hi, top)) for lo, hi in (known or [(1, MAX_UID)]) if lo <= top]
    floor = matched_floor(present, samples or [])
    wanted = [(max(lo, floor + 1), hi) for lo, hi in wanted if hi > floor]
    return absent(present, wanted)


def render_set(ranges: Ranges) -> bytes:
    return b",".join(b"%d" % lo if lo == hi else b"%d:%d" % (lo, hi) for lo, hi in ranges)


def vanished_line(ranges: Ranges, earlier: bool = False) -> bytes:
    """`VANISHED [(EARLIER) ]<uid-set>` (without the leading `* `)."""
    return b"VANISHED " + (b"(EARLIER) " if earlier else b"") + render_set(ranges)


def earlier(
    box: FolderMailbox,
    modseq: int,
    known: Ranges | None,
    samples: list[tuple[int, int]] | None = None,
) -> bytes | None:
    """The `VANISHED (EARLIER)` line for the selected folder since `modseq` (None: none)."""
    recorded = box.box.index.vanished_since(box.info.id, modseq)
    # the session's view: UIDs past it are not announced yet, those in it not yet expunged
    uidnext = max(box.info.uidnext, box.uids[-1] + 1 if box.uids else 1)
    ranges = vanished_earlier(recorded, box.uids, uidnext, known, samples)
    return vanished_line(ranges, earlier=True) if ranges else None
