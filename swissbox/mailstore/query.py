"""Read paths the IMAP server needs to be fast on large folders (additive to `store.py`).

Everything here reads the mailbox's index (SQLite or PostgreSQL) under its lock; nothing
writes. Folder
counters are read fresh (another process, e.g. `swissbox mailbox import`, may have changed
them since the index's in-memory cache was filled).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

from swissbox.mailstore.index import FolderInfo
from swissbox.mailstore.paths import check_folder_name
from swissbox.mailstore.store import MailboxStore, NoSuchFolder

Light = tuple[int, str, int]  # uid, flags (space-separated), modseq
Row = tuple  # columns as asked


_INDEXED: weakref.WeakSet[MailboxStore] = weakref.WeakSet()
LIGHT_INDEX = (
    "CREATE INDEX IF NOT EXISTS messages_light ON messages"
    " (folder_id, uid, flags, modseq, internaldate, size, subdir, filename)"
)


def ensure_indexes(box: MailboxStore) -> None:
    """A covering index for the per-message metadata, so that reading the flags of 100,000
    messages does not read their envelopes and headers too (the table keeps them inline)."""
    if box in _INDEXED:
        return
    if box.index.dialect == "sqlite":  # PostgreSQL indexes are made with it (index.PG_SCHEMA)
        with box.index.lock:
            box.index.conn.execute(LIGHT_INDEX)
    _INDEXED.add(box)


def refresh(box: MailboxStore) -> None:
    """Forgets the cached folder list (folders made or renamed by another process)."""
    with box.index.lock:
        box.index._folders = None


def folder(box: MailboxStore, name: str) -> FolderInfo:
    """The folder's counters straight from the database; NoSuchFolder when absent."""
    name = check_folder_name(name)
    with box.index.lock:
        r = box.index.conn.execute(
            "SELECT id, name, uidvalidity, uidnext, highestmodseq, subscribed FROM folders"
            " WHERE name = ?",
            (name,),
        ).fetchone()
    if r is None:
        raise NoSuchFolder(f"no folder {name!r} in {box.address}")
    return FolderInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5]))


def light_rows(box: MailboxStore, folder_id: int) -> list[Light]:
    """(uid, flags, modseq) of every message in UID order: what SELECT needs."""
    ensure_indexes(box)
    with box.index.lock:
        return box.index.conn.execute(
            "SELECT uid, flags, modseq FROM messages WHERE folder_id = ? ORDER BY uid",
            (folder_id,),
        ).fetchall()


def rows(
    box: MailboxStore,
    folder_id: int,
    columns: Iterable[str],
    uids: list[int],
    changedsince: int | None = None,
) -> list[Row]:
    """Rows of the given index columns for sorted `uids` (consecutive runs become ranges)."""
    ensure_indexes(box)
    cols = ", ".join(columns)
    out: list[Row] = []
    extra = " AND modseq > ?" if changedsince is not None else ""
    tail = (changedsince,) if changedsince is not None else ()
    if len(uids) == 1:  # the common case of a client reading one message
        with box.index.lock:
            return box.index.conn.execute(
                f"SELECT {cols} FROM messages WHERE folder_id = ? AND uid = ?{extra}",
                (folder_id, uids[0], *tail),
            ).fetchall()
    runs: list[tuple[int, int]] = []
    for uid in uids:
        if runs and uid == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], uid)
        else:
            runs.append((uid, uid))
    with box.index.lock:
        conn = box.index.conn
        singles = [lo for lo, hi in runs if lo == hi]
        for lo, hi in runs:
            if hi - lo >= 8:
                out += conn.execute(
                    f"SELECT {cols} FROM messages WHERE folder_id = ? AND uid BETWEEN ? AND ?"
                    f"{extra} ORDER BY uid",
                    (folder_id, lo, hi, *tail),
                ).fetchall()
            elif lo != hi:
                singles.extend(range(lo, hi + 1))
        for i in range(0, len(singles), 500):
            chunk = singles[i : i + 500]
            marks = ",".join("?" * len(chunk))
            out += conn.execute(
                f"SELECT {cols} FROM messages WHERE folder_id = ? AND uid IN ({marks}){extra}",
                (folder_id, *chunk, *tail),
            ).fetchall()
    out.sort(key=lambda r: r[0])
    return out


def changed_since(box: MailboxStore, folder_id: int, modseq: int) -> list[tuple[int, int]]:
    """(uid, modseq) of the folder's messages changed or added after `modseq`, by UID."""
    ensure_indexes(box)
    with box.index.lock:
        return box.index.conn.execute(
            "SELECT uid, modseq FROM messages WHERE folder_id = ? AND modseq > ? ORDER BY uid",
            (folder_id, modseq),
        ).fetchall()


def header_candidates(
    box: MailboxStore, folder_id: int, needle: str | None
) -> list[tuple[int, bytes]]:
    """(uid, header block) of messages whose headers may contain `needle` (ASCII
    case-insensitive; encoded words always pass). None: every message."""
    with box.index.lock:
        if needle is None:
            return box.index.conn.execute(
                "SELECT uid, headers FROM messages WHERE folder_id = ? ORDER BY uid", (folder_id,)
            ).fetchall()
        if box.index.dialect == "postgresql":
            if not needle.isascii() or "\\" in needle:
                # the escape encoding below shows such bytes otherwise: every message passes
                return header_candidates(box, folder_id, None)
            sql = (
                "SELECT uid, headers FROM messages WHERE folder_id = ?"
                " AND (encode(headers, 'escape') ILIKE ? ESCAPE '\\'"
                " OR position('=?'::bytea in headers) > 0) ORDER BY uid"
            )
        else:
            sql = (
                "SELECT uid, headers FROM messages WHERE folder_id = ?"
                " AND (CAST(headers AS TEXT) LIKE ? ESCAPE '\\' OR instr(headers, X'3D3F') > 0)"
                " ORDER BY uid"
            )
        return box.index.conn.execute(sql, (folder_id, "%" + _like_escape(needle) + "%")).fetchall()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_flag(box: MailboxStore, name: str) -> str:
    """SQL that is true when a message's flags hold the system flag \\`name` (`instr` is
    SQLite's fastest way; PostgreSQL names it `strpos`)."""
    find = "instr" if box.index.dialect == "sqlite" else "strpos"
    return f"{find}(' ' || flags || ' ', ' \\{name} ') > 0"


def counts(box: MailboxStore, folder_id: int) -> tuple[int, int, int]:
    """(messages, unseen, bytes) of a folder."""
    with box.index.lock:
        r = box.index.conn.execute(
            f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {_has_flag(box, 'Seen')} THEN 0 ELSE 1"
            " END), 0), COALESCE(SUM(size), 0) FROM messages WHERE folder_id = ?",
            (folder_id,),
        ).fetchone()
    return int(r[0]), int(r[1]), int(r[2])


def deleted_count(box: MailboxStore, folder_id: int) -> int:
    """The folder's messages flagged \\Deleted (IMAP4rev2's STATUS DELETED)."""
    with box.index.lock:
        row = box.index.conn.execute(
            f"SELECT COUNT(*) FROM messages WHERE folder_id = ? AND {_has_flag(box, 'Deleted')}",
            (folder_id,),
        ).fetchone()
    return int(row[0])
