"""\\Recent (RFC 3501 2.3.2): a message is recent for the first session that selects its folder
read-write after it arrived. Maildir keeps that state by place: files in `new/` have not been
seen by any client. `claim_recent` moves them to `cur/` (flags unchanged, no MODSEQ change)
and returns their UIDs, so exactly one session reports them as \\Recent (additive module).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable

from swissbox.mailstore.index import decode_flags
from swissbox.mailstore.paths import file_name, folder_dir
from swissbox.mailstore.store import MailboxStore


def count_recent(box: MailboxStore, folder_id: int) -> int:
    with box.index.lock:
        row = box.index.conn.execute(
            "SELECT COUNT(*) FROM messages WHERE folder_id = ? AND subdir = 'new'", (folder_id,)
        ).fetchone()
    return int(row[0])


def claim_recent(box: MailboxStore, folder: str, uids: Iterable[int] | None = None) -> list[int]:
    """Moves the folder's `new/` messages (only `uids` when given) to `cur/`; their UIDs."""
    info = box.folder(folder)
    with box.index.lock:  # cheap first look (covered by the metadata index): usually none
        fresh = [
            r[0]
            for r in box.index.conn.execute(
                "SELECT uid FROM messages WHERE folder_id = ? AND subdir = 'new'", (info.id,)
            )
        ]
    if uids is not None:
        wanted = set(uids)
        fresh = [u for u in fresh if u in wanted]
    if not fresh:
        return []
    fdir = folder_dir(box.path, info.name)
    claimed: list[int] = []
    with box.index.transaction() as conn:
        for uid in fresh:
            row = conn.execute(
                "SELECT key, filename, flags FROM messages"
                " WHERE folder_id = ? AND uid = ? AND subdir = 'new'",
                (info.id, uid),
            ).fetchone()
            if row is None:  # claimed meanwhile by another session
                continue
            key, filename, flags = row
            name = file_name(key, decode_flags(flags), "cur")
            with contextlib.suppress(FileNotFoundError):
                os.rename(fdir / "new" / filename, fdir / "cur" / name)
            conn.execute(
                "UPDATE messages SET subdir = 'cur', filename = ? WHERE folder_id = ? AND uid = ?",
                (name, info.id, uid),
            )
            claimed.append(uid)
    return claimed
