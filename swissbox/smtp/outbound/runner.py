"""The queue runner: delivers `<data>/queue/*.msg` to other domains, retries on temporary
failures along a schedule, and bounces what fails for good or outlives the queue lifetime.

At-least-once: a message leaves the queue only after every recipient is `sent` or `failed`
and the bounce (if any) is handed on; a crash between a remote 250 and the state write means
that recipient may get the message twice, never zero times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from swissbox import metrics
from swissbox.mailstore.queue import QueuedMessage
from swissbox.smtp.outbound import client, dsn
from swissbox.smtp.outbound.mtasts import StsPolicies, StsRefused
from swissbox.smtp.outbound.mx import Route, RouteError, make_resolver, routes
from swissbox.smtp.outbound.state import FAILED, SENT, DeliveryState, RecipientState

log = logging.getLogger("swissbox.smtp.outbound")

Bounce = Callable[[str, bytes], Awaitable[None]]


@dataclass(frozen=True)
class OutboundSettings:
    hostname: str
    port: int = 25
    nameservers: list[tuple[str, int]] | None = None
    relay: tuple[str, int] | None = None  # smarthost: every message goes there, no MX lookup
    retry_schedule: tuple[float, ...] = (60, 300, 900, 1800, 3600, 7200, 14400)
    max_age: float = 5 * 86400
    concurrency: int = 10
    timeout: float = 60.0
    # recipients' MTA-STS policies (not with a relay: the smarthost delivers)
    mta_sts: bool = False
    ca_file: str = ""  # extra CAs for verified TLS (policy fetches, enforced STARTTLS)
    https_port: int = 443  # where policies are fetched
    sts_cache: Path | None = None  # policies kept across restarts


class QueueRunner:
    def __init__(
        self,
        queue_dir: Path,
        settings: OutboundSettings,
        bounce: Bounce,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dir = Path(queue_dir)
        self.settings = settings
        self.bounce = bounce
        self.clock = clock
        self.resolver = make_resolver(settings.nameservers)
        self.sts = (
            StsPolicies(self.resolver, settings.sts_cache, settings.ca_file, settings.https_port)
            if settings.mta_sts and settings.relay is None
            else None
        )
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._busy: set[str] = set()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None

    @property
    def alive(self) -> bool:
        """True while the delivery loop runs (not before start, after stop or a crash)."""
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next scheduled pass."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self.run_once()
            except Exception:
                log.exception("outbound: queue pass failed")
                delay = 30.0
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.05, min(delay, 30.0)))

    # -- one pass ---------------------------------------------------------------------------

    async def run_once(self) -> float:
        """Attempts every due message; returns seconds until the next one is due."""
        now = self.clock()
        loop = asyncio.get_running_loop()
        due, next_due = await loop.run_in_executor(None, self._scan, now, set(self._busy))
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(path: Path) -> float | None:
            async with gate:
                self._busy.add(path.stem)
                try:
                    return await self.deliver(path)
                except Exception:
                    log.exception("outbound: %s failed", path.stem)
                    return self.clock() + self.settings.retry_schedule[0]
                finally:
                    self._busy.discard(path.stem)

        for again in await asyncio.gather(*(one(p) for p in due)):
            if again is not None:
                next_due = min(next_due, again)
        return max(0.0, next_due - self.clock())

    def _scan(self, now: float, busy: set[str]) -> tuple[list[Path], float]:
        """Blocking (reads every state file): the due messages, and when the next one is due."""
        due, next_due = [], now + 30.0
        for path in sorted(self.dir.glob("*.msg")):
            if path.stem in busy:
                continue
            state = DeliveryState.load(path.with_suffix(".state"), [])
            if state.next_attempt <= now:
                due.append(path)
            else:
                next_due = min(next_due, state.next_attempt)
        return due, next_due

    async def deliver(self, path: Path) -> float | None:
        """One attempt for every pending recipient; the next attempt's time, or None when the
        message has left the queue."""
        loop = asyncio.get_running_loop()
        queued = await loop.run_in_executor(None, QueuedMessage.read, path)
        qid, sender, created, data = queued.id, queued.sender, queued.created, queued.data
        state_path = path.with_suffix(".state")
        state = DeliveryState.load(state_path, queued.recipients)
        by_domain: dict[str, list[str]] = {}
        for rcpt in state.pending():
            by_domain.setdefault(rcpt.rpartition("@")[2].lower(), []).append(rcpt)
        started = metrics.now()
        for domain, rcpts in by_domain.items():
            await self._attempt_domain(domain, rcpts, sender, data, state)
        metrics.delivery_time("remote", started)
        state.attempts += 1
        now = self.clock()
        if state.pending() and now - created > self.settings.max_age:
            for rcpt in state.pending():
                last = state.recipients[rcpt].reply or "no attempt succeeded"
                state.recipients[rcpt] = RecipientState(
                    FAILED,
                    f"4.4.7 delivery time expired; last: {last}",
                    state.recipients[rcpt].remote,
                )
        if state.pending():
            schedule = self.settings.retry_schedule
            state.next_attempt = now + schedule[min(state.attempts - 1, len(schedule) - 1)]
            await loop.run_in_executor(None, state.save, state_path)  # fsync: off the loop
            metrics.delivered("remote", "deferred", len(state.pending()))
            log.info(
                "outbound: %s deferred (%d pending), next try in %.0fs",
                qid,
                len(state.pending()),
                state.next_attempt - now,
            )
            return state.next_attempt
        failed = state.failed()
        if failed and sender:
            # outcome recorded before the bounce is handed on
            await loop.run_in_executor(None, state.save, state_path)
            metrics.bounced()
            await self.bounce(
                sender, dsn.bounce(self.settings.hostname, qid, sender, failed, data, created)
            )
        path.unlink()
        with contextlib.suppress(FileNotFoundError):
            state_path.unlink()
        metrics.delivered("remote", "delivered", len(state.recipients) - len(failed))
        metrics.delivered("remote", "failed", len(failed))
        log.info(
            "outbound: %s done (%d sent, %d failed)",
            qid,
            len(state.recipients) - len(failed),
            len(failed),
        )
        return None

    async def _attempt_domain(
        self, domain: str, rcpts: list[str], sender: str, data: bytes, state: DeliveryState
    ) -> None:
        s = self.settings
        try:
            if s.relay is not None:
                targets = [Route(s.relay[0], [s.relay[0]])]
                port = s.relay[1]
            else:
                targets = await routes(self.resolver, domain)
                port = s.port
        except RouteError as exc:
            code = "550 5.1.2" if exc.permanent else "451 4.4.3"
            for rcpt in rcpts:
                state.recipients[rcpt] = RecipientState(
                    FAILED if exc.permanent else state.recipients[rcpt].status, f"{code} {exc}"
                )
            return
        tls = None
        if self.sts is not None and s.relay is None:
            try:
                targets, tls = await self.sts.restrict(domain, targets)
            except StsRefused as exc:
                for rcpt in rcpts:
                    state.recipients[rcpt] = RecipientState(
                        state.recipients[rcpt].status, f"451 4.7.5 {exc}"
                    )
                return
        replies = await client.attempt(
            targets, port, s.hostname, sender, rcpts, data, s.timeout, tls
        )
        for rcpt, reply in replies.items():
            status = (
                SENT if reply.ok else FAILED if reply.permanent else state.recipients[rcpt].status
            )
            state.recipients[rcpt] = RecipientState(status, str(reply), reply.remote)
            if reply.ok:
                log.info("outbound: %s -> %s accepted by %s", sender, rcpt, reply.remote)
