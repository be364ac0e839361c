"""The MX's mail authentication (`verdict.authenticate`: SPF, DKIM, ARC, DMARC and the
Authentication-Results field) in worker processes beside the server, so that its CPU runs on
another core and the server's event loop only parses SMTP and writes mail.

A worker is `python -m swissbox.mailauth.checkworker SETTINGS` with one end of a Unix socket
pair; it has its own event loop, DNS resolver and answer cache, and checks any number of
messages at once. Frames both ways are a 4-byte length and a pickle: the request
`(id, message, client_ip, helo, mail_from)`, the answer `(id, Verdict | None, error text)`.
The worker ends when the server's end of the socket closes (the server exited or was killed).

Workers start with the server (`start`; a message arriving while one starts is checked on the
server's loop), or at the first message. `CheckWorkers.authenticate` answers as `authenticate`
on the server's loop would. A worker that dies or does not answer within `deadline` seconds (hung) while checking a message is killed and
that message is not checked anywhere else (`CheckUnavailable`: the MX answers 451, the sender
tries again later), since it may be what killed or hung the worker, and would do the same to
the server's loop. A new worker is started for later messages (at most one start per
RESTART_INTERVAL); messages arriving while none may start, or when none can be started at all,
are checked on the server's loop. An exception raised by the checks themselves is raised here
as `CheckFailed`, as it would have been on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from swissbox.mailauth.resolver import DnsResolver, Resolver
from swissbox.mailauth.verdict import Verdict, authenticate

log = logging.getLogger("swissbox.mailauth")

_LENGTH = struct.Struct(">I")
RESTART_INTERVAL = 5.0  # seconds between two starts of one worker slot
DEFAULT_DEADLINE = 120.0  # a worker silent this long on one message is taken as hung


class CheckFailed(Exception):
    """The checks raised in the worker (a bug, as on the loop): the text of that error."""


class CheckUnavailable(Exception):
    """The worker checking this message died or hung: the message is to be deferred."""


class _WorkerGone(Exception):
    pass


def _frame(payload: bytes) -> bytes:
    return _LENGTH.pack(len(payload)) + payload


class _Channel(asyncio.Protocol):
    """The server's end of one worker's socket: requests out, answers matched by id."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.pending: dict[int, asyncio.Future[tuple[Verdict | None, str]]] = {}
        self.closed = False
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        while len(buf) >= 4:
            (size,) = _LENGTH.unpack_from(buf)
            if len(buf) < 4 + size:
                return
            rid, verdict, error = pickle.loads(bytes(buf[4 : 4 + size]))
            del buf[: 4 + size]
            waiter = self.pending.pop(rid, None)
            if waiter is not None and not waiter.done():
                waiter.set_result((verdict, error))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        pending, self.pending = self.pending, {}
        for waiter in pending.values():
            if not waiter.done():
                waiter.set_exception(_WorkerGone())

    def send(
        self, rid: int, request: tuple[object, ...]
    ) -> asyncio.Future[tuple[Verdict | None, str]]:
        assert self.transport is not None
        waiter: asyncio.Future[tuple[Verdict | None, str]] = (
            asyncio.get_running_loop().create_future()
        )
        self.pending[rid] = waiter
        self.transport.write(_frame(pickle.dumps((rid, *request), pickle.HIGHEST_PROTOCOL)))
        return waiter


class _Worker:
    def __init__(self, process: subprocess.Popen[bytes], channel: _Channel) -> None:
        self.process = process
        self.channel = channel

    @property
    def alive(self) -> bool:
        return not self.channel.closed and self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        if self.channel.transport is not None:
            self.channel.transport.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(1.0)  # reaped now: no zombie


class CheckWorkers:
    """`count` worker processes, started at the first message, used in turn."""

    def __init__(
        self,
        count: int,
        nameservers: Sequence[tuple[str, int]] | None,
        dns_timeout: float,
        authserv_id: str,
        fallback: Resolver,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self.count = count
        self.settings = json.dumps(
            {
                "nameservers": [list(ns) for ns in nameservers or ()],
                "timeout": dns_timeout,
                "authserv_id": authserv_id,
            }
        )
        self.authserv_id = authserv_id
        self.fallback = fallback  # the server's own resolver, for checks on its loop
        self.deadline = deadline
        self.slots: list[_Worker | None] = [None] * count
        self._started: list[float] = [-RESTART_INTERVAL] * count
        self._next = 0
        self._ids = 0
        self.fallbacks = 0  # messages checked on the loop because a worker failed

    async def start(self) -> None:
        """Starts every worker now (the server calls it as it starts listening), so that the
        first messages do not wait for a process to start."""
        for _ in range(self.count):
            await self._worker()

    async def _worker(self) -> _Worker | None:
        """The next slot's worker, started when it has none (or it died) and may be."""
        slot = self._next
        self._next = (slot + 1) % self.count
        worker = self.slots[slot]
        if worker is not None and worker.alive:
            return worker
        if worker is not None:
            worker.kill()
            self.slots[slot] = None
        now = time.monotonic()
        if now - self._started[slot] < RESTART_INTERVAL:
            return None
        self._started[slot] = now
        try:
            worker = await self._start()
        except OSError as exc:
            log.error("mailauth: cannot start a check worker: %s", exc)
            return None
        self.slots[slot] = worker
        return worker

    async def _start(self) -> _Worker:
        ours, theirs = socket.socketpair()
        try:
            package_root = str(Path(__file__).resolve().parents[2])
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (package_root, env.get("PYTHONPATH", "")) if p
            )
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "swissbox.mailauth.checkworker",
                    str(theirs.fileno()),
                    self.settings,
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        finally:
            theirs.close()
        loop = asyncio.get_running_loop()
        try:
            _, channel = await loop.create_connection(_Channel, sock=ours)
        except BaseException:
            process.kill()
            ours.close()
            raise
        log.info("mailauth: check worker %d started", process.pid)
        return _Worker(process, channel)

    async def authenticate(
        self, message: bytes, client_ip: str, helo: str, mail_from: str
    ) -> Verdict:
        worker = await self._worker()
        if worker is not None:
            self._ids += 1
            waiter = worker.channel.send(self._ids, (message, client_ip, helo, mail_from))
            try:
                verdict, error = await asyncio.wait_for(waiter, self.deadline)
            except _WorkerGone:
                log.error(
                    "mailauth: check worker %d died while checking a message from <%s> at %s;"
                    " the message is deferred",
                    worker.process.pid,
                    mail_from,
                    client_ip,
                )
                raise CheckUnavailable("the check worker died") from None
            except TimeoutError:
                log.error(
                    "mailauth: check worker %d silent for %gs on a message from <%s> at %s,"
                    " killed; the message is deferred",
                    worker.process.pid,
                    self.deadline,
                    mail_from,
                    client_ip,
                )
                worker.kill()
                raise CheckUnavailable("the check worker hung") from None
            if verdict is None:
                raise CheckFailed(error)
            return verdict
        self.fallbacks += 1
        return await authenticate(
            message, self.fallback, client_ip, helo, mail_from, self.authserv_id
        )

    def close(self) -> None:
        for worker in self.slots:
            if worker is not None:
                worker.kill()
        self.slots = [None] * self.count


# -- the worker process -------------------------------------------------------------------


async def _serve(sock: socket.socket, resolver: Resolver, authserv_id: str) -> None:
    reader, writer = await asyncio.open_connection(sock=sock)
    running: set[asyncio.Task[None]] = set()

    async def answer(rid: int, message: bytes, ip: str, helo: str, mail_from: str) -> None:
        try:
            verdict = await authenticate(message, resolver, ip, helo, mail_from, authserv_id)
            reply: tuple[int, Verdict | None, str] = (rid, verdict, "")
        except Exception as exc:  # reported to the server, which logs and answers for it
            reply = (rid, None, f"{exc.__class__.__name__}: {exc}")
        writer.write(_frame(pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)))

    while True:
        try:
            (size,) = _LENGTH.unpack(await reader.readexactly(4))
            request = pickle.loads(await reader.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # the server is gone
        task = asyncio.create_task(answer(*request))
        running.add(task)
        task.add_done_callback(running.discard)
        if writer.transport.get_write_buffer_size() > 1 << 20:
            await writer.drain()


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when we stop
    fd, settings = int(argv[0]), json.loads(argv[1])
    sock = socket.socket(fileno=fd)
    nameservers = [(str(ip), int(port)) for ip, port in settings["nameservers"]]
    resolver = DnsResolver(nameservers or None, float(settings["timeout"]))
    asyncio.run(_serve(sock, resolver, str(settings["authserv_id"])))


if __name__ == "__main__":
    main(sys.argv[1:])
