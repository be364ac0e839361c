"""The queue runner: delivers the outbound queue to other domains, retries on temporary
failures along a schedule, and bounces what fails for good or outlives the queue lifetime.

Every front end runs one; they share the queue's state (`mailstore.queuestate`) and its files
(`mailstore.queue`). A pass adopts newly queued files, claims up to `concurrency` due messages
with a lease (renewed while their delivery runs), delivers them, and records each outcome,
which releases the claim. A front end that dies holding claims leaves them to lapse; any other
runner then takes those messages.

At-least-once: a message leaves the queue only after every recipient is `sent` or `failed`
and the bounce (if any) is handed on; a crash between a remote 250 and the state write means
that recipient may get the message twice, never zero times.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from swissbox import metrics
from swissbox.mailstore.queue import OutboundQueue, QueuedMessage, adopt_files
from swissbox.mailstore.queuestate import CHANNEL_QUEUE, Claimed, QueueState
from swissbox.smtp.outbound import client, dsn
from swissbox.smtp.outbound.mtasts import StsPolicies, StsRefused
from swissbox.smtp.outbound.mx import Route, RouteError, make_resolver, routes
from swissbox.smtp.outbound.state import FAILED, SENT, DeliveryState, RecipientState
from swissbox.store.events import EventBus

log = logging.getLogger("swissbox.smtp.outbound")

Bounce = Callable[[str, bytes], Awaitable[None]]

SCAN_INTERVAL = 20.0  # seconds between scans of the folder for files without a state row


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
    # How long a claimed message stays this runner's without renewal (renewed every third of
    # it while its delivery runs): how soon another front end takes over after a crash.
    lease: float = 60.0


class QueueRunner:
    def __init__(
        self,
        queue: OutboundQueue,
        state: QueueState,
        settings: OutboundSettings,
        bounce: Bounce,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.state = state
        self.settings = settings
        self.bounce = bounce
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.resolver = make_resolver(settings.nameservers)
        self.sts = (
            StsPolicies(self.resolver, settings.sts_cache, settings.ca_file, settings.https_port)
            if settings.mta_sts and settings.relay is None
            else None
        )
        self._wake = asyncio.Event()
        self._fresh: set[str] = set()  # ids queued here, to adopt before the next claim
        self._scanned = -1e18  # when the folder was last scanned for files without a row
        self._task: asyncio.Task[None] | None = None
        self._in_flight: dict[str, asyncio.Future[None]] = {}
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, bus: EventBus | None = None) -> None:
        """`bus`: the front ends' event bus; a message adopted by another front end, or
        given back by one that stops, wakes this runner at once."""
        loop = asyncio.get_running_loop()
        if bus is not None:

            def heard(_: str) -> None:  # on the bus's thread
                loop.call_soon_threadsafe(self.wake)

            self._unsubscribe = bus.subscribe(CHANNEL_QUEUE, heard)
        self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None
        running = list(self._in_flight.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        # what was in flight is due again at once for the other front ends
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            await loop.run_in_executor(None, self.state.release, self.owner)

    @property
    def alive(self) -> bool:
        """True while the delivery loop runs (not before start, after stop or a crash)."""
        return self._task is not None and not self._task.done()

    def wake(self, queue_id: str | None = None) -> None:
        """Something was queued (`queue_id`, when known): look now rather than at the next
        scheduled pass. Call on the loop."""
        if queue_id is not None:
            self._fresh.add(queue_id)
        self._wake.set()

    async def _loop(self) -> None:
        renewing = asyncio.ensure_future(self._renew())
        try:
            while True:
                self._wake.clear()
                try:
                    delay = await self.run_once(wait=False)
                except Exception:
                    log.exception("outbound: queue pass failed")
                    delay = 30.0
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=max(0.05, min(delay, 30.0)))
        finally:
            renewing.cancel()

    # -- one pass ---------------------------------------------------------------------------

    async def run_once(self, wait: bool = True) -> float:
        """Adopts new files, claims due messages up to the free delivery slots and starts
        them (`wait`: and waits for them); returns seconds until it should look again (a
        finished delivery also wakes the loop)."""
        loop = asyncio.get_running_loop()
        fresh, self._fresh = self._fresh, set()
        scan = time.monotonic() - self._scanned >= SCAN_INTERVAL
        if scan or fresh:
            await loop.run_in_executor(None, self._adopt, None if scan else fresh)
        if scan:
            self._scanned = time.monotonic()
        now = self.clock()
        s = self.settings
        free = s.concurrency - len(self._in_flight)
        started = []
        claimed = []
        if free > 0:
            claimed = await loop.run_in_executor(
                None, self.state.claim, self.owner, now, s.lease, free
            )
            for c in claimed:
                if c.id in self._in_flight:
                    continue  # still in delivery here (its lease had lapsed): only renewed
                task = asyncio.ensure_future(self._deliver_claimed(c))
                self._in_flight[c.id] = task
                task.add_done_callback(functools.partial(self._delivered, c.id))
                started.append(task)
        if wait and started:
            await asyncio.gather(*started)
        elif free <= 0 or len(claimed) == free:
            return 30.0  # every slot busy: a finished delivery wakes the loop
        next_due = await loop.run_in_executor(None, self.state.next_due, self.clock())
        return max(0.0, (next_due if next_due is not None else now + 30.0) - self.clock())

    def _adopt(self, ids: set[str] | None) -> None:
        added = adopt_files(self.queue, self.state, ids)
        if ids is None and added:
            log.info("outbound: adopted %d queued files", added)

    def _delivered(self, qid: str, _: object = None) -> None:
        self._in_flight.pop(qid, None)
        # claim again once half the slots are free (one claim for several messages), or
        # at once when nothing is in flight
        if len(self._in_flight) <= self.settings.concurrency // 2:
            self._wake.set()

    def _finish(self, qid: str) -> None:
        """The message left the queue: file first, then row (see OutboundQueue.remove)."""
        self.queue.remove(qid)
        self.state.finish(self.owner, qid)

    async def _renew(self) -> None:
        """Keeps this runner's claims while their deliveries run."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.settings.lease / 3)
            if not self._in_flight:
                continue
            try:
                await loop.run_in_executor(
                    None, self.state.renew, self.owner, self.clock() + self.settings.lease
                )
            except Exception:
                log.exception("outbound: could not renew claims")

    def _retry_at(self, attempts: int, now: float) -> float:
        """When to try again after `attempts` attempts (the schedule's last step repeats)."""
        schedule = self.settings.retry_schedule
        return now + schedule[min(attempts - 1, len(schedule) - 1)]

    async def _deliver_claimed(self, claimed: Claimed) -> None:
        state = claimed.state
        attempts = state.attempts
        try:
            await self.deliver(claimed)
        except Exception as exc:
            log.exception("outbound: %s failed", claimed.id)
            # an attempt like any other: later tries back off along the schedule, and a
            # message that keeps failing so expires and bounces after max_age
            note = f"local error while delivering ({exc.__class__.__name__})"
            state.attempts = attempts
            try:
                await self._settle(claimed, await self._data(claimed.id), note)
                return
            except Exception:
                log.exception("outbound: %s could not be settled either", claimed.id)
            state.attempts = attempts + 1
            state.next_attempt = self._retry_at(state.attempts, self.clock())
            loop = asyncio.get_running_loop()
            with contextlib.suppress(Exception):
                await loop.run_in_executor(None, self.state.record, self.owner, claimed.id, state)

    async def _data(self, qid: str) -> bytes:
        """The queued message's bytes; empty when they cannot be read (the bounce then
        carries no headers of it)."""
        loop = asyncio.get_running_loop()
        try:
            queued = await loop.run_in_executor(None, QueuedMessage.read, self.queue.path(qid))
        except Exception:
            return b""
        return queued.data

    async def deliver(self, claimed: Claimed) -> float | None:
        """One attempt for every pending recipient; the next attempt's time, or None when the
        message has left the queue (or was not ours to finish)."""
        loop = asyncio.get_running_loop()
        qid, sender, state = claimed.id, claimed.sender, claimed.state
        try:
            queued = await loop.run_in_executor(None, QueuedMessage.read, self.queue.path(qid))
        except FileNotFoundError:
            # the file is removed before the row: whoever removed it had finished the message
            log.warning(
                "outbound: %s has no file left here, so it was finished; dropped from the"
                " queue state (if this repeats: every front end must see the same [store]"
                " blob_path)",
                qid,
            )
            await loop.run_in_executor(None, self.state.finish, self.owner, qid)
            return None
        data = queued.data
        by_domain: dict[str, list[str]] = {}
        for rcpt in state.pending():
            by_domain.setdefault(rcpt.rpartition("@")[2].lower(), []).append(rcpt)
        started = metrics.now()
        for domain, rcpts in by_domain.items():
            await self._attempt_domain(domain, rcpts, sender, data, state)
        metrics.delivery_time("remote", started)
        return await self._settle(claimed, data)

    async def _settle(self, claimed: Claimed, data: bytes, note: str = "") -> float | None:
        """After an attempt: expires what outlived max_age, then records the next attempt's
        time (returned), or bounces what failed and finishes the message (None). `note`:
        why the attempt failed when no recipient's reply says it."""
        loop = asyncio.get_running_loop()
        qid, sender, created, state = claimed.id, claimed.sender, claimed.created, claimed.state
        state.attempts += 1
        now = self.clock()
        if state.pending() and now - created > self.settings.max_age:
            for rcpt in state.pending():
                last = state.recipients[rcpt].reply or note or "no attempt succeeded"
                state.recipients[rcpt] = RecipientState(
                    FAILED,
                    f"4.4.7 delivery time expired; last: {last}",
                    state.recipients[rcpt].remote,
                )
        if state.pending():
            state.next_attempt = self._retry_at(state.attempts, now)
            if not await loop.run_in_executor(None, self.state.record, self.owner, qid, state):
                log.warning("outbound: %s was taken over by another runner meanwhile", qid)
                return None
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
            # outcome recorded (the claim kept) before the bounce is handed on
            if not await loop.run_in_executor(
                None, self.state.record, self.owner, qid, state, True
            ):
                log.warning("outbound: %s was taken over by another runner meanwhile", qid)
                return None
            metrics.bounced()
            await self.bounce(
                sender, dsn.bounce(self.settings.hostname, qid, sender, failed, data, created)
            )
        await loop.run_in_executor(None, self._finish, qid)
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
