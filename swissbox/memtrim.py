"""Hands freed heap memory back to the operating system after bursts of large buffers.

glibc keeps freed memory in the process (and raises its mmap threshold after the first large
free, so later buffers of up to 32 MiB come from the heap too): after hundreds of sessions
each held a message chunk, the RSS stays at its peak although Python freed everything.
`trim_soon()` asks glibc's `malloc_trim(0)` to release free pages, on the event loop, at most
once per TRIM_INTERVAL; elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger("swissbox")

TRIM_INTERVAL = 1.0  # seconds: one trim covers every release in that window


def _find_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


_trim = _find_trim()
_pending: set[asyncio.AbstractEventLoop] = set()


def _run(loop: asyncio.AbstractEventLoop) -> None:
    _pending.discard(loop)
    if _trim is not None:
        _trim(0)


def trim_soon() -> None:
    """Schedules one trim on the running loop (no-op without one, or without glibc)."""
    if _trim is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if loop not in _pending:
        _pending.add(loop)
        loop.call_later(TRIM_INTERVAL, _run, loop)
