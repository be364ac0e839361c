"""Durable file writes: a file is fsynced before it is renamed into place, and the directory
that received it is fsynced before anyone is told it exists."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from swissbox.mailstore.spool import Part, write_parts


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes | list[Part], mtime: float | None = None) -> None:
    """Creates `path` (never overwrites) with `data` (bytes, or parts written in order),
    fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        write_parts(fd, [data] if isinstance(data, bytes) else data)
        if mtime is not None:
            os.utime(fd, (mtime, mtime))
        os.fsync(fd)
    finally:
        os.close(fd)


def place(data: bytes | list[Part], tmp: Path, final: Path, mtime: float | None) -> None:
    """`tmp` written and fsynced, then renamed to `final` (the directory fsync is the
    caller's: once per directory and batch)."""
    write_durable(tmp, data, mtime)
    try:
        os.rename(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
