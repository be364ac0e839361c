"""The outbound queue's delivery state on the storage seam: one row per queued message (its
envelope, attempts, next attempt, and who works on it until when) and one per recipient
(pending, sent or failed, with the reply that decided it).

Several front ends over one PostgreSQL work one queue: a runner *claims* due messages with a
lease (`claimed_by`, `claimed_until`) in one transaction — on PostgreSQL the rows are picked
with `FOR UPDATE SKIP LOCKED`, so two runners never pick the same row and never wait for each
other; on SQLite the IMMEDIATE write transaction already serializes the claimers. A claim is
released when its holder records the outcome; a holder that died leaves it to lapse, and the
next runner takes the message after `claimed_until`. Outcomes are written only while the
claim is still the writer's (`claimed_by = owner`), so a runner whose lease lapsed never
overwrites the state of the one that took over. The message bytes stay files (queue.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from swissbox.store import Database, Tx, open_database
from swissbox.store.copy import TableSum, copy_tables, table_report, tables_of
from swissbox.store.events import notify_on_commit

if TYPE_CHECKING:
    from swissbox.conf.loader import Config

PENDING, SENT, FAILED = "pending", "sent", "failed"
CHANNEL_QUEUE = "swissbox_queue"  # messages became claimable (adopted, or given back)
STORE_NAME = "queue"
SQLITE_FILE = "queue.db"  # in the data folder when [store] url is empty

MIGRATIONS = [
    """
    CREATE TABLE queue_messages (
        id TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        created REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt REAL NOT NULL DEFAULT 0,
        claimed_by TEXT,
        claimed_until REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX queue_messages_due ON queue_messages (next_attempt);
    CREATE INDEX queue_messages_claimed ON queue_messages (claimed_by);
    CREATE TABLE queue_recipients (
        message_id TEXT NOT NULL REFERENCES queue_messages (id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        reply TEXT NOT NULL DEFAULT '',
        remote TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (message_id, address)
    )
    """,
    "CREATE INDEX queue_messages_lease ON queue_messages (claimed_until)",
]


@dataclass
class RecipientState:
    status: str = PENDING
    reply: str = ""  # last server reply or local diagnosis, e.g. "550 5.1.1 no such user"
    remote: str = ""  # host that gave the reply


@dataclass
class DeliveryState:
    attempts: int = 0
    next_attempt: float = 0.0
    recipients: dict[str, RecipientState] = field(default_factory=dict)

    def pending(self) -> list[str]:
        return [r for r, s in self.recipients.items() if s.status == PENDING]

    def failed(self) -> dict[str, RecipientState]:
        return {r: s for r, s in self.recipients.items() if s.status == FAILED}

    @classmethod
    def load(cls, path: Path, recipients: list[str]) -> DeliveryState:
        """The `<id>.state` JSON file that versions before the state store kept beside each
        queued message (or a fresh state when it is missing or unreadable)."""
        try:
            raw = json.loads(path.read_text())
            state = cls(raw["attempts"], raw["next_attempt"])
            state.recipients = {r: RecipientState(**s) for r, s in raw["recipients"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            state = cls()
        for rcpt in recipients:
            state.recipients.setdefault(rcpt, RecipientState())
        return state


@dataclass(frozen=True)
class Envelope:
    """What the queue file's first line says: enough to adopt a message into the state."""

    id: str
    sender: str
    recipients: list[str]
    created: float


@dataclass
class Claimed:
    """A message this runner holds until `until` (or records its outcome)."""

    id: str
    sender: str
    created: float
    until: float
    state: DeliveryState


@dataclass(frozen=True)
class Entry:
    """One queued message as `swissbox queue list` shows it."""

    id: str
    sender: str
    created: float
    attempts: int
    next_attempt: float
    claimed_by: str | None
    claimed_until: float
    recipients: dict[str, RecipientState]


def state_location(config: Config) -> str | Path:
    """`[store] url` (shared by the front ends), else `queue.db` in the data folder (beside the
    directory: a node's own disk, never the shared blob path)."""
    return config.settings.store.url or config.data_dir / SQLITE_FILE


def _marks(count: int) -> str:
    return ", ".join("?" * count)


class QueueState:
    """Rows of the outbound queue; blocking calls (run them in an executor)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.db.migrate(MIGRATIONS)
        # PostgreSQL: skip rows another front end is claiming right now instead of waiting
        self._skip_locked = " FOR UPDATE SKIP LOCKED" if db.dialect == "postgresql" else ""

    @classmethod
    def open(cls, location: str | Path) -> QueueState:
        return cls(open_database(location, STORE_NAME, serialized=False))

    def close(self) -> None:
        self.db.close()

    # -- adding ------------------------------------------------------------------------------

    def adopt(self, envelopes: Iterable[tuple[Envelope, DeliveryState | None]]) -> list[str]:
        """Rows for queued files that have none yet (a fresh message, or one queued by an older
        version with its `.state`); a message already known is left as it is. Returns the
        ids that were added."""
        added = []
        with self.db.write() as tx:
            for env, legacy in envelopes:
                state = legacy or DeliveryState()
                for rcpt in env.recipients:
                    state.recipients.setdefault(rcpt, RecipientState())
                inserted = tx.execute(
                    "INSERT INTO queue_messages (id, sender, created, attempts, next_attempt)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                    (env.id, env.sender, env.created, state.attempts, state.next_attempt),
                ).rowcount
                if not inserted:
                    continue
                for position, (rcpt, rs) in enumerate(state.recipients.items()):
                    tx.execute(
                        "INSERT INTO queue_recipients"
                        " (message_id, address, position, status, reply, remote)"
                        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (env.id, rcpt, position, rs.status, rs.reply, rs.remote),
                    )
                added.append(env.id)
            if added:
                notify_on_commit(self.db, tx, CHANNEL_QUEUE, "adopted")
        return added

    def ids(self) -> set[str]:
        return {str(row[0]) for row in self.db.all("SELECT id FROM queue_messages")}

    # -- claiming ----------------------------------------------------------------------------

    def claim(self, owner: str, now: float, lease: float, limit: int) -> list[Claimed]:
        """Up to `limit` due messages nobody holds, now held by `owner` until `now + lease`."""
        until = now + lease
        with self.db.write() as tx:
            rows = tx.execute(
                "UPDATE queue_messages SET claimed_by = ?, claimed_until = ?"
                " WHERE id IN (SELECT id FROM queue_messages"
                "  WHERE next_attempt <= ? AND claimed_until < ?"
                f"  ORDER BY next_attempt LIMIT ?{self._skip_locked})"
                " RETURNING id, sender, created, attempts, next_attempt",
                (owner, until, now, now, limit),
            ).fetchall()
            if not rows:
                return []
            ids = [str(r[0]) for r in rows]
            recipients = self._recipients(tx, ids)
        return [
            Claimed(
                str(r[0]),
                str(r[1]),
                float(r[2]),
                until,
                DeliveryState(int(r[3]), float(r[4]), recipients.get(str(r[0]), {})),
            )
            for r in sorted(rows, key=lambda r: (float(r[4]), str(r[0])))
        ]

    def renew(self, owner: str, until: float) -> int:
        """Extends every claim `owner` holds (a long delivery keeps its messages)."""
        with self.db.write() as tx:
            return tx.execute(
                "UPDATE queue_messages SET claimed_until = ? WHERE claimed_by = ?", (until, owner)
            ).rowcount

    def release(self, owner: str) -> int:
        """Gives back every claim of `owner` (a runner stopping cleanly) without a new
        outcome: the messages are due again at once for any runner."""
        with self.db.write() as tx:
            released = tx.execute(
                "UPDATE queue_messages SET claimed_by = NULL, claimed_until = 0"
                " WHERE claimed_by = ?",
                (owner,),
            ).rowcount
            if released:
                notify_on_commit(self.db, tx, CHANNEL_QUEUE, "released")
            return int(released)

    # -- outcomes ----------------------------------------------------------------------------

    def record(self, owner: str, qid: str, state: DeliveryState, keep: bool = False) -> bool:
        """Writes the attempt's outcome and releases the claim (`keep`: holds it on, e.g.
        while a bounce is handed on). False, writing nothing, when `owner` no longer holds
        the message (its lease lapsed and another runner took it, or it was deleted)."""
        with self.db.write() as tx:
            if keep:
                sql = "UPDATE queue_messages SET attempts = ?, next_attempt = ?"
            else:
                sql = (
                    "UPDATE queue_messages SET attempts = ?, next_attempt = ?,"
                    " claimed_by = NULL, claimed_until = 0"
                )
            changed = tx.execute(
                sql + " WHERE id = ? AND claimed_by = ?",
                (state.attempts, state.next_attempt, qid, owner),
            ).rowcount
            if not changed:
                return False
            for rcpt, rs in state.recipients.items():
                tx.execute(
                    "UPDATE queue_recipients SET status = ?, reply = ?, remote = ?"
                    " WHERE message_id = ? AND address = ?",
                    (rs.status, rs.reply, rs.remote, qid, rcpt),
                )
        return True

    def hold(self, owner: str, qid: str, now: float, lease: float) -> bool:
        """Claims one message whether due or not (`swissbox queue delete`); False when it is
        unknown or another holder's."""
        with self.db.write() as tx:
            return (
                tx.execute(
                    "UPDATE queue_messages SET claimed_by = ?, claimed_until = ?"
                    " WHERE id = ? AND claimed_until < ?",
                    (owner, now + lease, qid, now),
                ).rowcount
                > 0
            )

    def finish(self, owner: str | None, qid: str) -> bool:
        """Removes a message that left the queue (`owner` None: whoever holds it)."""
        with self.db.write() as tx:
            if owner is None:
                result = tx.execute("DELETE FROM queue_messages WHERE id = ?", (qid,))
            else:
                result = tx.execute(
                    "DELETE FROM queue_messages WHERE id = ? AND claimed_by = ?", (qid, owner)
                )
            return result.rowcount > 0

    # -- reading -----------------------------------------------------------------------------

    def next_due(self, now: float) -> float | None:
        """When some message may next be taken: the next attempt of an unheld one, or the end
        of the earliest claim (early for a held message due later: one look too many, never
        one too few); None for an empty queue. Two index walks, not a scan of the queue."""
        with self.db.read() as tx:
            free = tx.one(
                "SELECT next_attempt FROM queue_messages WHERE claimed_until < ?"
                " ORDER BY next_attempt LIMIT 1",
                (now,),
            )
            held = tx.one(
                "SELECT claimed_until FROM queue_messages WHERE claimed_until >= ?"
                " ORDER BY claimed_until LIMIT 1",
                (now,),
            )
        times = [float(row[0]) for row in (free, held) if row is not None]
        return min(times) if times else None

    def entries(self, ids: Sequence[str] | None = None) -> list[Entry]:
        """Every queued message (or those of `ids`) in order of the next attempt."""
        if ids is not None and not ids:
            return []
        where, args = ("", ()) if ids is None else (f" WHERE id IN ({_marks(len(ids))})", ids)
        with self.db.read() as tx:
            rows = tx.execute(
                "SELECT id, sender, created, attempts, next_attempt, claimed_by, claimed_until"
                f" FROM queue_messages{where} ORDER BY next_attempt, id",
                tuple(args),
            ).fetchall()
            recipients = self._recipients(tx, [str(r[0]) for r in rows]) if rows else {}
        return [
            Entry(
                str(r[0]),
                str(r[1]),
                float(r[2]),
                int(r[3]),
                float(r[4]),
                None if r[5] is None else str(r[5]),
                float(r[6]),
                recipients.get(str(r[0]), {}),
            )
            for r in rows
        ]

    def reschedule(self, now: float, ids: Sequence[str] | None = None) -> int:
        """Makes messages due at `now` (`swissbox queue flush`); held ones keep their claim."""
        sql = "UPDATE queue_messages SET next_attempt = ? WHERE next_attempt > ?"
        args: tuple[object, ...] = (now, now)
        if ids is not None:
            if not ids:
                return 0
            sql += f" AND id IN ({_marks(len(ids))})"
            args += tuple(ids)
        with self.db.write() as tx:
            changed = int(tx.execute(sql, args).rowcount)
            if changed:
                notify_on_commit(self.db, tx, CHANNEL_QUEUE, "rescheduled")
            return changed

    @staticmethod
    def _recipients(tx: Tx, ids: list[str]) -> dict[str, dict[str, RecipientState]]:
        out: dict[str, dict[str, RecipientState]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = tx.execute(
                "SELECT message_id, address, status, reply, remote FROM queue_recipients"
                f" WHERE message_id IN ({_marks(len(chunk))}) ORDER BY message_id, position",
                tuple(chunk),
            ).fetchall()
            for row in rows:
                out.setdefault(str(row[0]), {})[str(row[1])] = RecipientState(
                    str(row[2]), str(row[3]), str(row[4])
                )
        return out


def migrate_state(source: str | Path, target: str | Path) -> list[TableSum]:
    """`swissbox migrate`: the queue's rows from `source` to `target` (SQLite file or
    PostgreSQL URL), replacing what the target holds (serve stopped), compared by row counts
    and checksums on both sides. The message files stay where they are."""
    tables = tables_of(MIGRATIONS)
    with (
        open_database(source, STORE_NAME, serialized=False) as src,
        open_database(target, STORE_NAME, serialized=False) as dst,
    ):
        src.migrate(MIGRATIONS)
        dst.migrate(MIGRATIONS)
        copy_tables(src, dst, tables)
        before, after = table_report(src, tables), table_report(dst, tables)
    if before != after:
        raise ValueError("queue state copied, but it differs afterwards")
    return after
