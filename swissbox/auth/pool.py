"""A bounded pool for password verification: a fixed number of Argon2 runs at once, a
bounded queue, and a wait limit, so a login storm costs at most `workers` x Argon2 memory
and answers "busy, try later" instead of piling up threads and memory.

Blocking callers use `run`, coroutines `run_async`; both raise `Busy` when the queue is full
or the job waited past `timeout` (a job that has not started by then is dropped, not run).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Busy(Exception):
    """The pool is saturated or the job waited too long; nothing was verified."""


class VerifyPool:
    def __init__(self, workers: int = 2, max_waiting: int = 256, timeout: float = 20.0) -> None:
        if workers < 1 or max_waiting < 0 or timeout <= 0:
            raise ValueError("workers >= 1, max_waiting >= 0 and timeout > 0 are required")
        self.workers = workers
        self.max_waiting = max_waiting
        self.timeout = timeout
        self._executor = concurrent.futures.ThreadPoolExecutor(workers, "swissbox-auth")
        self._lock = threading.Lock()
        self._pending = 0  # submitted and not finished (running + waiting)
        self._closed = False

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, fn: Callable[..., T], *args: object) -> concurrent.futures.Future[T]:
        """Queues `fn(*args)`; Busy when `workers + max_waiting` jobs are already pending."""
        with self._lock:
            if self._closed:
                raise Busy("the server is stopping")
            if self._pending >= self.workers + self.max_waiting:
                raise Busy("too many logins at once")
            self._pending += 1
        try:
            future = self._executor.submit(fn, *args)
        except RuntimeError:  # shut down between the check and the submit
            self._done(None)
            raise Busy("the server is stopping") from None
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: object) -> None:
        with self._lock:
            self._pending -= 1

    def run(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` on the pool, waited for from a blocking caller."""
        future = self.submit(fn, *args)
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise Busy("timed out waiting for a verification slot") from None
        except concurrent.futures.CancelledError:
            raise Busy("the server is stopping") from None

    async def run_async(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` on the pool, awaited; cancelling the awaiter drops a job not yet started."""
        future = self.submit(fn, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            raise Busy("timed out waiting for a verification slot") from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if future.cancelled() and task is not None and not task.cancelling():
                raise Busy("the server is stopping") from None  # dropped by close()
            raise

    def close(self) -> None:
        """Drops every waiting job and lets running ones finish (each takes well under a second)."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
