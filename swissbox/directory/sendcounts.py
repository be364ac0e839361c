"""How much each mailbox submitted lately, counted in the directory database so that every
front end sharing it agrees on one sending limit. A mixin of `Directory`, on its connection.

Counts are kept per minute; a limit holds over the last 60 minutes (a sliding hour, so a burst
across the top of an hour cannot send twice the limit)."""

from __future__ import annotations

from dataclasses import dataclass

from swissbox.store import Database

WINDOW_MINUTES = 60


@dataclass(frozen=True)
class SendCount:
    """What a mailbox sent in the last hour, and whether this message was admitted."""

    admitted: bool
    messages: int  # in the window, this message included when admitted
    recipients: int


class SendCountStore:
    _db: Database

    def count_submission(
        self,
        mailbox: str,
        recipients: int,
        max_messages: int,
        max_recipients: int,
        now: float,
    ) -> SendCount:
        """Counts one message to `recipients` recipients for `mailbox` when that keeps it
        within both limits (0: no limit), in one transaction; otherwise counts nothing."""
        key = mailbox.lower()
        minute = int(now // 60)
        since = minute - WINDOW_MINUTES
        with self._db.write() as c:
            c.execute("DELETE FROM send_counts WHERE mailbox = ? AND minute <= ?", (key, since))
            row = c.one(
                "SELECT COALESCE(SUM(messages), 0), COALESCE(SUM(recipients), 0)"
                " FROM send_counts WHERE mailbox = ? AND minute > ?",
                (key, since),
            )
            sent, reached = (int(row[0]), int(row[1])) if row is not None else (0, 0)
            over = (max_messages and sent + 1 > max_messages) or (
                max_recipients and reached + recipients > max_recipients
            )
            if over:
                return SendCount(False, sent, reached)
            c.execute(
                "INSERT INTO send_counts (mailbox, minute, messages, recipients)"
                " VALUES (?, ?, 1, ?) ON CONFLICT (mailbox, minute) DO UPDATE SET"
                " messages = send_counts.messages + 1,"
                " recipients = send_counts.recipients + excluded.recipients",
                (key, minute, recipients),
            )
        return SendCount(True, sent + 1, reached + recipients)
