"""Message bytes on their way in (an SMTP DATA, an IMAP APPEND literal), and the budget of
such bytes per user and in total.

A `Spool` keeps up to `threshold` bytes in memory, then moves to an unnamed temporary file in
the store's spool folder (`<data>/mail/.spool`; O_TMPFILE, so a crash leaves nothing behind).
The mail store's writer copies a spooled file into the Maildir in the kernel
(`copy_file_range`), never through Python memory. A spool holds its budget reservation until
`close()` (or until it is garbage collected).
"""

from __future__ import annotations

import os
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

MEMORY_THRESHOLD = 64 * 1024  # bytes a spool keeps in memory before it moves to disk
READ_CHUNK = 1 << 20


class InflightBudget:
    """Bytes of messages being received, per key (a user or a client address) and in total.
    `take` reserves or refuses; `give` returns. Thread-safe."""

    def __init__(self, total: int, per_key: int) -> None:
        self.total = total
        self.per_key = per_key
        self.used = 0
        self.by_key: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, key: str, n: int) -> bool:
        with self._lock:
            mine = self.by_key.get(key, 0)
            if self.used + n > self.total or mine + n > self.per_key:
                return False
            self.used += n
            self.by_key[key] = mine + n
            return True

    def give(self, key: str, n: int) -> None:
        with self._lock:
            self.used = max(0, self.used - n)
            left = self.by_key.get(key, 0) - n
            if left > 0:
                self.by_key[key] = left
            else:
                self.by_key.pop(key, None)

    def free_for(self, key: str) -> int:
        """Bytes `key` could still take."""
        with self._lock:
            return max(0, min(self.total - self.used, self.per_key - self.by_key.get(key, 0)))


def _release(file: list[object], give: Callable[[], None] | None) -> None:
    for f in file:
        f.close()  # type: ignore[attr-defined]
    file.clear()
    if give is not None:
        give()


class Spool:
    """Bytes written in order; in memory up to `threshold`, then in a temporary file under
    `directory`. Read back with `head`, `chunks`, `getvalue` or `copy_to` once written."""

    def __init__(
        self,
        directory: Path,
        threshold: int = MEMORY_THRESHOLD,
        size_hint: int = 0,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.threshold = threshold
        self.size = 0
        self._memory = bytearray()
        self._file: list[object] = []  # the open file, in a list the finalizer can empty
        self._finalizer = weakref.finalize(self, _release, self._file, on_close)
        if size_hint > threshold:
            self._to_disk()

    @property
    def on_disk(self) -> bool:
        return bool(self._file)

    def _fd(self) -> int:
        return self._file[0].fileno()  # type: ignore[attr-defined]

    def _to_disk(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._file.append(tempfile.TemporaryFile(dir=self.directory, buffering=0))  # noqa: SIM115 (closed by close() or the finalizer)
        if self._memory:
            self._write_fd(self._memory)
            self._memory = bytearray()

    def _write_fd(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd(), view)
            view = view[written:]

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._finalizer.alive:
            raise ValueError("spool is closed")
        if not self._file and len(self._memory) + len(data) > self.threshold:
            self._to_disk()
        if self._file:
            self._write_fd(data)
        else:
            self._memory += data
        self.size += len(data)

    def chunks(self, start: int = 0, size: int = READ_CHUNK) -> Iterator[bytes]:
        """The bytes from `start`, in pieces of at most `size` (positional reads: safe to
        call from another thread while nobody writes)."""
        if not self._file:
            for i in range(start, len(self._memory), size):
                yield bytes(self._memory[i : i + size])
            return
        offset = start
        while offset < self.size:
            piece = os.pread(self._fd(), min(size, self.size - offset), offset)
            if not piece:
                return
            offset += len(piece)
            yield piece

    def head(self, n: int) -> bytes:
        """The first `n` bytes (fewer when the spool is shorter)."""
        if not self._file:
            return bytes(self._memory[:n])
        return os.pread(self._fd(), min(n, self.size), 0)

    def getvalue(self) -> bytes:
        """Everything, in memory (only for what must be processed whole)."""
        if not self._file:
            return bytes(self._memory)
        return b"".join(self.chunks())

    def copy_to(self, fd: int) -> None:
        """Appends the whole content to the file `fd` (in the kernel when on disk)."""
        if not self._file:
            view = memoryview(self._memory)
            while view:
                view = view[os.write(fd, view) :]
            return
        offset = 0
        while offset < self.size:
            try:
                n = os.copy_file_range(self._fd(), fd, self.size - offset, offset)
            except OSError:  # another file system, or no kernel support: copy by hand
                for piece in self.chunks(offset):
                    view = memoryview(piece)
                    while view:
                        view = view[os.write(fd, view) :]
                return
            if n == 0:
                raise OSError(f"spool ended after {offset} of {self.size} bytes")
            offset += n

    def close(self) -> None:
        """Drops the bytes and returns the budget reservation (idempotent)."""
        self._memory = bytearray()
        self._finalizer()


Part = bytes | Spool


def parts_size(parts: list[Part]) -> int:
    return sum(p.size if isinstance(p, Spool) else len(p) for p in parts)


def parts_bytes(parts: list[Part]) -> bytes:
    """The parts joined in memory."""
    return b"".join(p.getvalue() if isinstance(p, Spool) else p for p in parts)


def write_parts(fd: int, parts: list[Part]) -> None:
    for part in parts:
        if isinstance(part, Spool):
            part.copy_to(fd)
        else:
            view = memoryview(part)
            while view:
                view = view[os.write(fd, view) :]
