"""Polling with a deadline for tests that wait on the running stack (no sleep-and-hope)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    check: Callable[[], T], timeout: float = 30.0, what: str = "", interval: float = 0.05
) -> T:
    """The first true result of `check()`; AssertionError when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s{': ' + what if what else ''}")
        time.sleep(interval)
