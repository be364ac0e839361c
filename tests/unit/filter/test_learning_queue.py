"""Junk learning is asynchronous and bounded: a full queue drops lessons with a log line."""

from __future__ import annotations

import asyncio
import logging

import pytest

from swissbox.filter.learning import JunkLearner


async def test_lessons_are_taught_and_a_full_queue_drops(caplog: pytest.LogCaptureFixture) -> None:
    taught: list[tuple[str, bytes]] = []
    gate = asyncio.Event()

    async def teach(kind: str, data: bytes) -> str:
        await gate.wait()
        taught.append((kind, data))
        return "ok"

    learner = JunkLearner(lambda a, f, uid: f"{a} {f} {uid}".encode(), teach, queue_size=3)
    learner.start()
    caplog.set_level(logging.INFO, "swissbox.filter")
    learner.observe("bob@x.test", "INBOX", "Junk", [1, 2])
    learner.observe("bob@x.test", "INBOX", "Archive", [9])  # teaches nothing
    learner.observe("bob@x.test", "Junk", "INBOX", [3, 4, 5, 6])
    await asyncio.sleep(0.05)  # the hand-over via call_soon_threadsafe
    gate.set()
    for _ in range(200):
        if learner.queue.empty() and len(taught) >= 3:
            break
        await asyncio.sleep(0.01)
    await learner.stop()
    # three fit in the queue (the worker takes the first only when it next runs): the
    # other three were dropped
    assert taught == [
        ("spam", b"bob@x.test Junk 1"),
        ("spam", b"bob@x.test Junk 2"),
        ("ham", b"bob@x.test INBOX 3"),
    ]
    assert learner.dropped == 3
    assert "learning queue full" in caplog.text


async def test_a_failing_lesson_is_logged_and_the_next_one_still_taught(
    caplog: pytest.LogCaptureFixture,
) -> None:
    taught = []

    async def teach(kind: str, data: bytes) -> str:
        if data == b"bad":
            raise OSError("connection refused")
        taught.append(data)
        return "ok"

    learner = JunkLearner(lambda a, f, uid: b"bad" if uid == 1 else b"good", teach)
    learner.start()
    learner.observe("bob@x.test", "INBOX", "Junk", [1, 2])
    for _ in range(200):
        if taught:
            break
        await asyncio.sleep(0.01)
    await learner.stop()
    assert taught == [b"good"] and "could not learn spam" in caplog.text
