"""Password verification under concurrency: correct answers at production cost, a bound on
work at once, "busy" instead of a hang, and a shutdown that does not wait for the queue."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from swissbox.auth import (
    Authenticator,
    Busy,
    HashParams,
    RateLimiter,
    VerifiedCache,
    VerifyPool,
    hash_secret,
    verify_secret,
)
from swissbox.directory import Directory

PRODUCTION = HashParams()  # 64 MiB, t=3, p=4: the parameters that wedged cryptography's Argon2id


def test_stored_hashes_from_cryptography_still_verify() -> None:
    """Hashes written before the switch of library (cryptography's Argon2id, p=4)."""
    stored = (
        "$argon2id$v=19$m=65536,t=3,p=4$suNXUzK6Hfs8fgwZLTm2Bw"
        "$yUNh24WZVroJHTz1rOSVs9KyfhyDmnFaUqFX1toYuo0"
    )
    assert verify_secret("secret", stored)
    assert not verify_secret("Secret", stored)


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    d = Directory(tmp_path / "db.sqlite")
    d.add_org("acme")
    d.add_domain("abc.xyz", "acme", "ns.abc.xyz")
    d.enable_email("abc.xyz")
    for i in range(25):
        d.add_mailbox(f"user{i}@abc.xyz", hash_secret(f"password-{i}", PRODUCTION))
    return d


def test_fifty_first_logins_at_once_at_production_cost(directory: Directory) -> None:
    """Before the switch to the reference implementation two of these never returned."""
    auth = Authenticator(
        directory,
        PRODUCTION,
        RateLimiter(1000, 1000, delay_base=0.0),
        VerifiedCache(ttl=0),
        VerifyPool(workers=2, max_waiting=100, timeout=60),
    )
    running = {"now": 0, "peak": 0}
    lock = threading.Lock()
    check = auth._check

    def counted(*args: object) -> object:
        with lock:
            running["now"] += 1
            running["peak"] = max(running["peak"], running["now"])
        try:
            return check(*args)  # type: ignore[arg-type]
        finally:
            with lock:
                running["now"] -= 1

    auth._check = counted  # type: ignore[method-assign]
    attempts = [(f"user{i % 25}@abc.xyz", f"password-{i % 25}", True) for i in range(25)]
    attempts += [(f"user{i}@abc.xyz", f"wrong-{i}", False) for i in range(20)]
    attempts += [(f"nobody{i}@abc.xyz", "password-1", False) for i in range(5)]
    try:
        with ThreadPoolExecutor(50) as clients:
            results = list(
                clients.map(
                    lambda a: auth.authenticate("mailbox", a[0], a[1], "192.0.2.1"), attempts
                )
            )
    finally:
        auth.close()
    assert [r.ok for r in results] == [a[2] for a in attempts]
    assert not any(r.busy for r in results)
    assert running["peak"] <= 2  # never more Argon2 runs (and their memory) than workers


def test_a_full_queue_answers_busy_at_once() -> None:
    pool = VerifyPool(workers=1, max_waiting=1, timeout=30)
    release = threading.Event()
    try:
        first = pool.submit(release.wait)
        second = pool.submit(lambda: "queued")
        with pytest.raises(Busy):
            pool.submit(lambda: "one too many")
        release.set()
        assert first.result(5) and second.result(5) == "queued"
        assert pool.run(lambda: "room again") == "room again"
    finally:
        release.set()
        pool.close()


def test_a_job_that_waits_too_long_is_dropped_not_run() -> None:
    pool = VerifyPool(workers=1, max_waiting=10, timeout=0.2)
    release = threading.Event()
    ran: list[str] = []
    try:
        pool.submit(release.wait)
        with pytest.raises(Busy):
            pool.run(ran.append, "late")
        release.set()
        assert pool.run(lambda: "next") == "next"
        assert ran == []
    finally:
        release.set()
        pool.close()


async def test_async_callers_get_busy_and_the_loop_stays_free() -> None:
    pool = VerifyPool(workers=1, max_waiting=0, timeout=5)
    release = threading.Event()
    try:
        slow = asyncio.ensure_future(pool.run_async(release.wait))
        await asyncio.sleep(0.05)
        with pytest.raises(Busy):
            await pool.run_async(lambda: "no room")
        release.set()
        assert await slow is True
    finally:
        release.set()
        pool.close()


def test_close_drops_the_queue_so_shutdown_is_quick() -> None:
    pool = VerifyPool(workers=1, max_waiting=100, timeout=60)
    release = threading.Event()
    pool.submit(release.wait)
    waiting = [pool.submit(time.sleep, 1.0) for _ in range(50)]
    t0 = time.monotonic()
    pool.close()
    release.set()
    assert all(f.cancelled() for f in waiting)
    with pytest.raises(Busy):
        pool.submit(lambda: None)
    assert time.monotonic() - t0 < 5  # not 50 x 1 s
