"""Outbound limits on authenticated submission: messages and recipients per mailbox per hour,
counted in the directory database (every front end sharing it counts together). Over the
limit: 451 4.7.1, and one warning per mailbox per hour for the administrator."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from swissbox.directory.sendcounts import SendCount

log = logging.getLogger("swissbox.filter")

OVER_LIMIT = "451 4.7.1 Sending limit reached for <{mailbox}> ({what} per hour), try again later"
WARN_INTERVAL = 3600.0


class CountStore(Protocol):
    def count_submission(
        self, mailbox: str, recipients: int, max_messages: int, max_recipients: int, now: float
    ) -> SendCount: ...


class SendLimits:
    def __init__(
        self,
        store: CountStore,
        max_messages: int,
        max_recipients: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.max_messages = max_messages
        self.max_recipients = max_recipients
        self.clock = clock
        self._warned: dict[str, float] = {}

    @property
    def active(self) -> bool:
        return bool(self.max_messages or self.max_recipients)

    async def admit(self, mailbox: str, recipients: int, client_ip: str = "") -> str | None:
        """None when `mailbox` may send this message (and it is counted), else the reply."""
        if not self.active:
            return None
        now = self.clock()
        count = await asyncio.get_running_loop().run_in_executor(
            None,
            self.store.count_submission,
            mailbox,
            recipients,
            self.max_messages,
            self.max_recipients,
            now,
        )
        if count.admitted:
            return None
        over_messages = self.max_messages and count.messages + 1 > self.max_messages
        what = (
            f"{self.max_messages} messages"
            if over_messages
            else f"{self.max_recipients} recipients"
        )
        key = mailbox.lower()
        if now - self._warned.get(key, -WARN_INTERVAL) >= WARN_INTERVAL:
            self._warned[key] = now
            log.warning(
                "filter: mailbox <%s> reached its sending limit (%s per hour; sent %d messages"
                " to %d recipients in the last hour); refusing more, last from %s"
                " (a stolen password? check the mailbox)",
                mailbox,
                what,
                count.messages,
                count.recipients,
                client_ip or "?",
            )
        return OVER_LIMIT.format(mailbox=mailbox, what=what)
