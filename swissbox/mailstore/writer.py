"""The mail store's writer: one thread commits the deliveries of every session, in batches.

A batch is five steps over plain data, each its own function: `plan` (quota, summary, file
names), `place` (write + fsync + rename every copy, in parallel), `sync_dirs` (one fsync per
directory), `index` (one transaction per mailbox), then the arrival events and `answer`.

Answers are per job: a job whose future was cancelled before the writer took it (its sender
went away) is dropped unwritten; once taken, its future is running and can no longer be
cancelled. Each result or error is set on the job's own future only, so one job's fate never
changes another's answer.
"""

from __future__ import annotations

import concurrent.futures
import errno
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from swissbox.mailstore.durable import fsync_dir
from swissbox.mailstore.durable import place as place_file
from swissbox.mailstore.errors import MailStoreError, NoSuchFolder, QuotaExceeded
from swissbox.mailstore.meta import Summary, summarize, summarize_chunks
from swissbox.mailstore.paths import file_name, folder_dir, new_key
from swissbox.mailstore.spool import Part, Spool, parts_bytes, parts_size

if TYPE_CHECKING:
    from swissbox.mailstore.store import MailboxStore

log = logging.getLogger("swissbox.mailstore")

IO_THREADS = 8  # parallel file fsyncs per batch
SUMMARY_IN_MEMORY = 1 << 20  # larger messages are summarised from a skeleton, in pieces
Notify = Callable[[str, str, list[int]], None]  # (address, folder, new uids)


@dataclass(frozen=True)
class Delivered:
    address: str
    folder: str
    uid: int
    uidvalidity: int
    key: str


@dataclass
class Target:
    mailbox: MailboxStore
    folder: str
    flags: frozenset[str]
    internal_date: float | None
    quota_bytes: int | None


@dataclass
class Copy:
    """One file of a batch: a job's copy for one of its targets."""

    job: Job
    target: Target
    key: str
    subdir: str
    name: str
    tmp: Path
    final: Path
    delivered: Delivered | None = None


@dataclass
class Job:
    """One message for its targets: `parts` (bytes and spools, in order) make its bytes."""

    targets: list[Target]
    parts: list[Part]
    future: concurrent.futures.Future[list[Delivered]] = field(
        default_factory=concurrent.futures.Future
    )
    placed: list[Copy] = field(default_factory=list)
    summary: Summary | None = None
    error: BaseException | None = None
    size: int = 0

    def __post_init__(self) -> None:
        self.size = parts_size(self.parts)


def summarize_job(job: Job) -> Summary:
    """The index summary; a large message is read in pieces, never held whole."""
    if job.size <= SUMMARY_IN_MEMORY:
        return summarize(parts_bytes(job.parts))

    def chunks() -> Iterator[bytes]:
        for part in job.parts:
            if isinstance(part, Spool):
                yield from part.chunks()
            else:
                yield part

    return summarize_chunks(chunks(), job.size)


def take(jobs: list[Job]) -> list[Job]:
    """The jobs still wanted, each made uncancellable (its future is now running)."""
    return [job for job in jobs if job.future.set_running_or_notify_cancel()]


def plan(batch: list[Job]) -> list[Copy]:
    """Quota (against the usage plus what this batch already adds), summary and file names.
    A refused job gets its `error` and no copies."""
    pending: dict[int, int] = {}
    copies: list[Copy] = []
    for job in batch:
        size = job.size
        try:
            for t in job.targets:
                if t.quota_bytes is not None:
                    used = t.mailbox.usage() + pending.get(id(t.mailbox), 0)
                    if used + size > t.quota_bytes:
                        raise QuotaExceeded(t.mailbox.address, used, size, t.quota_bytes)
            job.summary = summarize_job(job)
            for t in job.targets:
                pending[id(t.mailbox)] = pending.get(id(t.mailbox), 0) + size
                key = new_key(size)
                subdir = "cur" if t.flags else "new"
                name = file_name(key, t.flags, subdir)
                fdir = folder_dir(t.mailbox.path, t.folder)
                copies.append(
                    Copy(job, t, key, subdir, name, fdir / "tmp" / key, fdir / subdir / name)
                )
        except Exception as exc:
            job.error = exc
    return copies


def place(pool: concurrent.futures.Executor, copies: list[Copy]) -> set[Path]:
    """Writes, fsyncs and renames every copy in parallel (fsync waits on the disk, not the
    GIL); returns the directories to fsync. A job with a failed copy loses all its copies."""
    futures = [
        pool.submit(place_file, c.job.parts, c.tmp, c.final, c.target.internal_date) for c in copies
    ]
    for copy, fut in zip(copies, futures, strict=True):
        try:
            fut.result()
        except Exception as exc:
            if copy.job.error is None:
                copy.job.error = exc
            continue
        copy.job.placed.append(copy)
    jobs = {id(c.job): c.job for c in copies}.values()
    for job in jobs:
        if job.error is not None:
            unplace(job)
    return {c.final.parent for job in jobs for c in job.placed}


def sync_dirs(pool: concurrent.futures.Executor, dirs: set[Path], batch: list[Job]) -> None:
    """One fsync per directory that received files; if one fails, no job is acknowledged."""
    try:
        for fut in [pool.submit(fsync_dir, d) for d in dirs]:
            fut.result()
    except OSError as exc:
        for job in batch:
            if job.error is None:
                job.error = exc
                unplace(job)


def index(batch: list[Job]) -> list[Copy]:
    """One index transaction per mailbox for the whole batch; returns the indexed copies
    (each with its `delivered`). A mailbox whose transaction fails fails its jobs (their
    files stay: recovery indexes them; never acknowledged, so at worst a duplicate after
    the sender retries, never a loss)."""
    by_box: dict[int, list[Copy]] = {}
    for job in batch:
        if job.error is None:
            for copy in job.placed:
                by_box.setdefault(id(copy.target.mailbox), []).append(copy)
    indexed: list[Copy] = []
    for copies in by_box.values():
        box = copies[0].target.mailbox
        try:
            added = 0
            rows: list[tuple[Copy, Delivered]] = []
            by_folder: dict[str, list[Copy]] = {}
            for c in copies:
                by_folder.setdefault(c.target.folder, []).append(c)
            with box.index.transaction():
                for folder, group in by_folder.items():
                    ids = box.index.folder_id(folder)
                    if ids is None:
                        raise NoSuchFolder(f"no folder {folder!r} in {box.address}")
                    folder_id, uidvalidity = ids
                    # one UID range and one MODSEQ per folder and batch, one statement for
                    # the rows (a round trip each on PostgreSQL)
                    first, modseq = box.index.bump(folder_id, len(group))
                    now = int(time.time())
                    entries = []
                    for i, c in enumerate(group):
                        idate = c.target.internal_date
                        assert c.job.summary is not None
                        entries.append(
                            (c.key, c.subdir, c.name, c.target.flags,
                             int(idate) if idate is not None else now, c.job.summary)
                        )  # fmt: skip
                        rows.append(
                            (c, Delivered(box.address, folder, first + i, uidvalidity, c.key))
                        )
                        added += c.job.size
                    box.index.insert_many(folder_id, first, modseq, entries)
            box._add_usage(added)
            for c, delivered in rows:
                c.delivered = delivered
                indexed.append(c)
        except Exception as exc:
            for c in copies:
                if c.job.error is None:
                    c.job.error = exc
    return indexed


def answer(job: Job, error: BaseException | None = None) -> None:
    """Sets the job's own result (its delivered copies) or error, once; never raises."""
    future = job.future
    error = error or job.error
    try:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result([c.delivered for c in job.placed if c.delivered is not None])
    except concurrent.futures.InvalidStateError:  # answered meanwhile: nothing to add
        pass


def arrivals(indexed: list[Copy]) -> dict[tuple[str, str], list[int]]:
    """New UIDs per (address, folder), for the arrival events."""
    grouped: dict[tuple[str, str], list[int]] = {}
    for c in indexed:
        assert c.delivered is not None
        grouped.setdefault((c.delivered.address, c.delivered.folder), []).append(c.delivered.uid)
    return grouped


def unplace(job: Job) -> None:
    for copy in job.placed:
        try:
            os.unlink(copy.final)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                log.warning("could not remove %s: %s", copy.final, exc)
    job.placed.clear()


class Writer:
    """The writer thread and its queue. `notify(address, folder, uids)` is called after each
    batch for the messages it added."""

    def __init__(self, notify: Notify) -> None:
        self.notify = notify
        self._jobs: list[Job] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.batches = 0  # commit batches run (for tests and the benchmark)
        self.batch_seconds = 0.0
        self.committed = 0

    def submit(self, job: Job) -> None:
        with self._cond:
            if self._stopping:
                raise MailStoreError("the mail store is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mailstore-writer", daemon=True
                )
                self._thread.start()
            self._jobs.append(job)
            self._cond.notify()

    def pending(self) -> int:
        """Jobs waiting for the writer to take them."""
        with self._cond:
            return len(self._jobs)

    def _io_pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=IO_THREADS, thread_name_prefix="mailstore-io"
            )
        return self._pool

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._stopping:
                    self._cond.wait()
                if not self._jobs and self._stopping:
                    return
                batch, self._jobs = take(self._jobs), []
            if not batch:
                continue
            started = time.perf_counter()
            try:
                self.commit(batch)
                self.committed += len(batch)
                self.batch_seconds += time.perf_counter() - started
            except BaseException as exc:  # never let the writer die silently
                log.exception("mail store batch failed")
                for job in batch:
                    answer(job, exc)

    def commit(self, batch: list[Job]) -> None:
        """Runs one batch of taken jobs and answers each of them."""
        self.batches += 1
        pool = self._io_pool()
        copies = plan(batch)
        sync_dirs(pool, place(pool, copies), batch)
        indexed = index(batch)
        # the arrival events first: they reach the sessions' loops before the answers do, so
        # that another session's command after the sender's OK (APPEND, SMTP 250) sees them
        for (address, folder), uids in arrivals(indexed).items():
            try:
                self.notify(address, folder, uids)
            except Exception:  # committed: the answers must go out whatever a listener does
                log.exception("mail store: arrival event for %s/%s failed", address, folder)
        for job in batch:
            answer(job)

    def close(self) -> None:
        """Finishes the queued jobs, then stops the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
