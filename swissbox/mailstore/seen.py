"""\\Seen kept per user (additive to `store.py`): when several people read one mailbox (a shared
address, IMAP shared namespace), each has their own read state, apart from the mailbox's own
flags and from each other.

Table `user_seen` in the mailbox's index holds (folder, UID, user) for the messages a user has
seen; its rows go with their message (foreign key, ON DELETE CASCADE: expunge, move, folder
deletion; a COPY or MOVE inside the mailbox carries it over with `snapshot`/`carry`). A change
gives the messages a new MODSEQ, so CONDSTORE clients notice it.
"""

from __future__ import annotations

from collections.abc import Iterable

from swissbox.mailstore.store import FLAGS, MailboxStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS user_seen (
    folder_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    "user" TEXT NOT NULL,
    PRIMARY KEY (folder_id, "user", uid),
    FOREIGN KEY (folder_id, uid) REFERENCES messages (folder_id, uid) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS user_seen_by_message ON user_seen (folder_id, uid);
"""


def user_key(user: str) -> str:
    """Users are mailbox addresses, compared without letter case."""
    return user.strip().lower()


def _ensure(box: MailboxStore) -> None:
    box.index.ensure_table("user_seen", SCHEMA)


def _exists(box: MailboxStore) -> bool:
    """Whether anyone ever kept a read state in this mailbox (most never: no table then)."""
    return box.index.has_table("user_seen")


def snapshot(
    box: MailboxStore, folder_id: int, uids: Iterable[int], user: str | None = None
) -> list[tuple[int, str]]:
    """(UID, user) of the per-user \\Seen of `uids` (of one user when given): taken before a
    COPY or MOVE inside the mailbox, handed to `carry` afterwards."""
    if not _exists(box):
        return []
    wanted = set(uids)
    sql = 'SELECT uid, "user" FROM user_seen WHERE folder_id = ?'
    args: tuple[int | str, ...] = (folder_id,)
    if user is not None:
        sql, args = sql + ' AND "user" = ?', (folder_id, user_key(user))
    with box.index.lock:
        rows = box.index.conn.execute(sql, args).fetchall()
    return [(uid, who) for uid, who in rows if uid in wanted]


def carry(
    box: MailboxStore, folder_id: int, taken: list[tuple[int, str]], mapping: dict[int, int]
) -> None:
    """Gives the copies (`mapping`: old UID -> new UID in folder `folder_id`) the read state
    `snapshot` took of their originals."""
    pairs = [(mapping[uid], who) for uid, who in taken if uid in mapping]
    if not pairs:
        return
    with box.index.transaction() as conn:
        conn.executemany(
            'INSERT INTO user_seen (folder_id, uid, "user")'
            " SELECT folder_id, uid, ? FROM messages WHERE folder_id = ? AND uid = ?"
            " ON CONFLICT DO NOTHING",
            [(who, folder_id, uid) for uid, who in pairs],
        )


def seen_uids(box: MailboxStore, folder_id: int, user: str) -> set[int]:
    """UIDs of the folder's messages that `user` has seen."""
    _ensure(box)
    with box.index.lock:
        rows = box.index.conn.execute(
            'SELECT uid FROM user_seen WHERE folder_id = ? AND "user" = ?',
            (folder_id, user_key(user)),
        ).fetchall()
    return {r[0] for r in rows}


def seen_count(box: MailboxStore, folder_id: int, user: str) -> int:
    _ensure(box)
    with box.index.lock:
        row = box.index.conn.execute(
            'SELECT COUNT(*) FROM user_seen WHERE folder_id = ? AND "user" = ?',
            (folder_id, user_key(user)),
        ).fetchone()
    return int(row[0])


def set_seen(
    box: MailboxStore, folder_id: int, user: str, uids: Iterable[int], seen: bool
) -> tuple[list[int], int]:
    """Marks `uids` seen (or not) for `user`; returns (UIDs whose state changed, the MODSEQ
    they now have, 0 when none changed). UIDs of messages that no longer exist are ignored."""
    _ensure(box)
    key = user_key(user)
    changed: list[int] = []
    with box.index.transaction() as conn:
        for uid in sorted(set(uids)):
            if seen:
                n = conn.execute(
                    'INSERT INTO user_seen (folder_id, uid, "user")'
                    " SELECT folder_id, uid, ? FROM messages WHERE folder_id = ? AND uid = ?"
                    " ON CONFLICT DO NOTHING",
                    (key, folder_id, uid),
                ).rowcount
            else:
                n = conn.execute(
                    'DELETE FROM user_seen WHERE folder_id = ? AND "user" = ? AND uid = ?',
                    (folder_id, key, uid),
                ).rowcount
            if n:
                changed.append(uid)
        if not changed:
            return [], 0
        _, modseq = box.index.bump(folder_id)
        conn.executemany(
            "UPDATE messages SET modseq = ? WHERE folder_id = ? AND uid = ?",
            [(modseq, folder_id, uid) for uid in changed],
        )
    if box.store.bus is not None:  # other front ends to tell: only then look up the name
        names = [f.name for f in box.index.folders().values() if f.id == folder_id]
        if names:
            box.store.publish(box.address, names[0], FLAGS, changed)
    return changed, modseq
