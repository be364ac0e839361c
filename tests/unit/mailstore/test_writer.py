"""The mail store's writer under concurrency: fifty deliveries at once, some of them cancelled
(their sender went away). A cancellation never changes another delivery's answer, and every
answered delivery is stored exactly once."""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from swissbox.mailstore import INBOX, Delivered, MailStore, QuotaExceeded
from swissbox.mailstore.paths import folder_dir, mailbox_dir

ADDR = "toto@abc.xyz"
PLUG = "plug@abc.xyz"
CLIENTS = 50


def message(n: int) -> bytes:
    return f"From: a@example.org\r\nSubject: job-{n}\r\n\r\nbody {n}\r\n".encode()


def stored_numbers(store: MailStore, address: str = ADDR) -> list[int]:
    fdir = folder_dir(mailbox_dir(store.root, address), INBOX)
    out = []
    for sub in ("new", "cur"):
        for name in os.listdir(fdir / sub):
            m = re.search(rb"Subject: job-(\d+)\r\n", (fdir / sub / name).read_bytes())
            assert m is not None
            out.append(int(m.group(1)))
    return out


def indexed_count(store: MailStore, address: str = ADDR) -> int:
    return len(store.mailbox(address).messages(INBOX))


async def eventually(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.002)


@contextmanager
def held(lock: threading.RLock) -> Iterator[None]:
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    s = MailStore(tmp_path / "mail")
    yield s
    s.close()


async def commit(store: MailStore, n: int, address: str = ADDR, **kw: object) -> list[Delivered]:
    d = store.begin()
    d.add_recipient(address, **kw)  # type: ignore[arg-type]
    d.write(message(n))
    return await d.commit()


def test_cancelled_while_queued_touches_no_other_delivery(store: MailStore) -> None:
    """Fifty commits wait behind a busy writer; every third is cancelled before the writer
    takes them. The others are all answered and stored once; the cancelled ones never land."""
    store.mailbox(ADDR)
    plug_box = store.mailbox(PLUG)

    async def main() -> tuple[dict[int, list[Delivered]], set[int]]:
        with held(plug_box.index.lock):  # the writer stops inside the plug's index commit
            plug = asyncio.create_task(commit(store, 10_000, PLUG))
            await eventually(lambda: store.batches == 1, "the plug batch")
            tasks = {n: asyncio.create_task(commit(store, n)) for n in range(CLIENTS)}
            await eventually(lambda: store.writer.pending() == CLIENTS, "fifty queued jobs")
            cancelled = {n for n in tasks if n % 3 == 0}
            for n in cancelled:
                tasks[n].cancel()
            await asyncio.gather(*(tasks[n] for n in cancelled), return_exceptions=True)
        await plug
        done = {n: await tasks[n] for n in tasks if n not in cancelled}
        return done, cancelled

    done, cancelled = asyncio.run(main())
    assert len(done) == CLIENTS - len(cancelled)
    uids = [d[0].uid for d in done.values()]
    assert len(set(uids)) == len(uids)
    numbers = stored_numbers(store)
    assert sorted(numbers) == sorted(done)  # answered: once each; cancelled while queued: never
    assert indexed_count(store) == len(done)


def test_cancelled_while_being_written_still_answers_the_others(store: MailStore) -> None:
    """Cancelled after the writer took the batch: that message is already on its way to
    disk (it lands, unanswered, once); every other delivery of the batch is answered."""
    box = store.mailbox(ADDR)
    plug_box = store.mailbox(PLUG)

    async def main() -> tuple[dict[int, list[Delivered]], set[int]]:
        plug_lock = plug_box.index.lock
        plug_lock.acquire()  # the writer stops inside the plug's index commit
        plug_held = True
        try:
            plug = asyncio.create_task(commit(store, 10_000, PLUG))
            await eventually(lambda: store.batches == 1, "the plug batch")
            tasks = {n: asyncio.create_task(commit(store, n)) for n in range(CLIENTS)}
            await eventually(lambda: store.writer.pending() == CLIENTS, "fifty queued jobs")
            with held(box.index.lock):  # ...then inside this mailbox's, with all fifty
                plug_lock.release()
                plug_held = False
                await eventually(lambda: store.batches == 2, "the batch of fifty")
                cancelled = {n for n in tasks if n % 4 == 1}
                for n in cancelled:
                    tasks[n].cancel()
                await asyncio.gather(*(tasks[n] for n in cancelled), return_exceptions=True)
        finally:
            if plug_held:
                plug_lock.release()
        await plug
        done = {n: await tasks[n] for n in tasks if n not in cancelled}
        return done, cancelled

    done, cancelled = asyncio.run(main())
    assert len(done) == CLIENTS - len(cancelled)
    numbers = stored_numbers(store)
    assert len(numbers) == len(set(numbers))
    assert set(done) <= set(numbers) <= set(range(CLIENTS))
    assert indexed_count(store) == len(numbers)


def test_fifty_at_once_right_and_wrong_mixed(store: MailStore) -> None:
    """Fifty concurrent commits: good ones, ones over quota, ones cancelled at random moments.
    Each gets its own answer; the good ones are all stored once."""
    store.mailbox(ADDR)
    store.mailbox("small@abc.xyz")

    async def one(n: int) -> object:
        if n % 5 == 2:
            return await commit(store, n, "small@abc.xyz", quota_bytes=10)
        return await commit(store, n)

    async def main() -> dict[int, object]:
        tasks = {n: asyncio.create_task(one(n)) for n in range(CLIENTS)}
        for n in range(CLIENTS):
            if n % 7 == 3:
                await asyncio.sleep(0)
                tasks[n].cancel()
        results = await asyncio.gather(*tasks.values(), return_exceptions=True)
        return dict(zip(tasks, results, strict=True))

    results = asyncio.run(main())
    stored = stored_numbers(store)
    assert len(stored) == len(set(stored))
    for n, result in results.items():
        if n % 7 == 3:
            assert isinstance(result, (asyncio.CancelledError, list, QuotaExceeded)), result
        elif n % 5 == 2:
            assert isinstance(result, QuotaExceeded), result
        else:
            assert isinstance(result, list) and result[0].folder == INBOX, result
            assert n in stored
    assert stored_numbers(store, "small@abc.xyz") == []


async def test_a_failing_arrival_listener_never_holds_back_the_answer(tmp_path: Path) -> None:
    """Sessions are told of new mail before the deliverer is answered; a listener that raises
    must not turn a committed delivery into an error (the sender would send it again)."""
    store = MailStore(tmp_path / "mail")
    try:

        def broken(*args: object) -> None:
            raise RuntimeError("a listener's bug")

        store.writer.notify = broken
        delivery = store.begin()
        delivery.add_recipient(ADDR)
        delivery.write(message(1))
        done = await asyncio.wait_for(delivery.commit(), 30)
        assert [d.address for d in done] == [ADDR] and stored_numbers(store) == [1]
    finally:
        store.close()
