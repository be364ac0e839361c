"""Learning from the Junk folder: a message copied or moved into Junk teaches rspamd spam,
one taken out of Junk (anywhere but Trash) teaches ham, like Dovecot's imapsieve setup.

The trigger is the mail store's transfer observer (any protocol or tool that moves mail counts);
the composition root wires it here, so IMAP never imports the filter. Learning is asynchronous
and bounded: a small queue, one worker; when the queue is full the lesson is dropped with a log
line (losing a lesson costs a little accuracy, never mail).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from swissbox.filter.base import ScanError
from swissbox.mailstore import JUNK, MailStoreError
from swissbox.mailstore.paths import TRASH

log = logging.getLogger("swissbox.filter")

Fetch = Callable[[str, str, int], bytes]  # (address, folder, uid) -> message; blocking
Teach = Callable[[str, bytes], Awaitable[str]]  # (kind, message) -> rspamd's answer


def lesson(source: str, dest: str) -> str | None:
    """ "spam", "ham" or None for a transfer from folder `source` to folder `dest`."""
    if dest == JUNK and source != JUNK:
        return "spam"
    if source == JUNK and dest not in (JUNK, TRASH):
        return "ham"
    return None


class JunkLearner:
    def __init__(self, fetch: Fetch, teach: Teach, queue_size: int = 100) -> None:
        self.fetch = fetch
        self.teach = teach
        self.queue: asyncio.Queue[tuple[str, str, str, int]] = asyncio.Queue(queue_size)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[None] | None = None
        self.learned = 0
        self.dropped = 0

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.task = self.loop.create_task(self._work())

    async def stop(self) -> None:
        if self.task is not None:
            task, self.task = self.task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def observe(self, address: str, source: str, dest: str, uids: list[int]) -> None:
        """The mail store's transfer observer; any thread (hands over to the event loop)."""
        kind = lesson(source, dest)
        if kind is None or self.loop is None or self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self._enqueue, kind, address, dest, list(uids))

    def _enqueue(self, kind: str, address: str, folder: str, uids: list[int]) -> None:
        for i, uid in enumerate(uids):
            try:
                self.queue.put_nowait((kind, address, folder, uid))
            except asyncio.QueueFull:
                self.dropped += len(uids) - i
                log.warning(
                    "filter: learning queue full (%d): %d %s lesson(s) from <%s> dropped",
                    self.queue.maxsize,
                    len(uids) - i,
                    kind,
                    address,
                )
                return

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            kind, address, folder, uid = await self.queue.get()
            try:
                data = await loop.run_in_executor(None, self.fetch, address, folder, uid)
                answer = await self.teach(kind, data)
            except (TimeoutError, OSError, ScanError, MailStoreError, ValueError) as exc:
                log.warning(
                    "filter: could not learn %s from <%s> %s/%d: %s",
                    kind,
                    address,
                    folder,
                    uid,
                    exc or exc.__class__.__name__,
                )
            except Exception:
                log.exception("filter: learning %s from <%s> failed", kind, address)
            else:
                self.learned += 1
                log.info(
                    "filter: learned %s from <%s> %s/%d: %s", kind, address, folder, uid, answer
                )
            finally:
                self.queue.task_done()
