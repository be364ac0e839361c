"""Memos for pure functions of text a sender or its DNS chooses (a From: field, a DKIM key
record): bounded in entries and in what each entry keeps, since the text may be megabytes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sized
from typing import Protocol, TypeVar


class _Key(Hashable, Sized, Protocol): ...


K = TypeVar("K", bound=_Key)
R = TypeVar("R")

LONGEST = 4096  # longer texts are computed every time (real ones are far shorter)


def short_memo(entries: int) -> Callable[[Callable[[K], R]], Callable[[K], R]]:
    """`functools.lru_cache(entries)` for a one-argument function, remembering only arguments
    of at most LONGEST characters (or bytes)."""

    def wrap(func: Callable[[K], R]) -> Callable[[K], R]:
        remembered = functools.lru_cache(maxsize=entries)(func)

        @functools.wraps(func)
        def call(value: K) -> R:
            return remembered(value) if len(value) <= LONGEST else func(value)

        return call

    return wrap
