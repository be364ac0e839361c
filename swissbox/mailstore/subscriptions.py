"""Subscriptions that outlive their folder (additive to `store.py`): RFC 3501 6.3.6 says a
server must not remove a name from the subscription list because its mailbox is gone.

A folder's own subscription is its `folders.subscribed` column; when a subscribed folder is
deleted its name moves to table `kept_subscriptions` of the mailbox's index (made on first
use), is listed (LSUB, LIST (SUBSCRIBED) with \\NonExistent) until unsubscribed, and makes a
folder created again under that name subscribed.
"""

from __future__ import annotations

from swissbox.mailstore.store import MailboxStore

SCHEMA = "CREATE TABLE IF NOT EXISTS kept_subscriptions (name TEXT PRIMARY KEY) WITHOUT ROWID"


def _exists(box: MailboxStore) -> bool:
    """Whether a subscription was ever kept in this mailbox (most never: no table then)."""
    return box.index.has_table("kept_subscriptions")


def keep(box: MailboxStore, name: str) -> None:
    """Remembers `name` as subscribed after its folder went."""
    box.index.ensure_table("kept_subscriptions", SCHEMA)
    with box.index.transaction() as conn:
        conn.execute(
            "INSERT INTO kept_subscriptions (name) VALUES (?) ON CONFLICT DO NOTHING", (name,)
        )


def forget(box: MailboxStore, name: str) -> bool:
    """Drops a kept subscription; True when there was one."""
    if not _exists(box):
        return False
    with box.index.transaction() as conn:
        gone = conn.execute("DELETE FROM kept_subscriptions WHERE name = ?", (name,)).rowcount
    return gone > 0


def kept(box: MailboxStore) -> list[str]:
    """The subscribed names whose folder is gone, sorted."""
    if not _exists(box):
        return []
    with box.index.lock:
        rows = box.index.conn.execute("SELECT name FROM kept_subscriptions ORDER BY name")
        return [r[0] for r in rows.fetchall()]
