"""The SMTP protocol object: aiosmtpd's `SMTP` with swissbox's session limits around it.

Adds, per connection: a cap on connections per client address, a total session time limit,
an idle limit that says 421 before closing, a budget of error replies before disconnect,
enhanced status codes on aiosmtpd's own replies, refusal of commands ending in a bare LF,
DATA read in chunks (dataguard.DataAssembler) and spooled to disk past DATA_IN_MEMORY under
an in-flight cap in total and per client, and replies to a pipelined group sent in one write.
Policy itself lives in the handlers (inbound.py, submission.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AnyStr

import aiosmtpd.smtp as aiosmtpd_smtp
from aiosmtpd.smtp import MISSING, SMTP, TLSSetupException

from swissbox import memtrim, metrics
from swissbox.mailstore.spool import Spool
from swissbox.smtp import replies
from swissbox.smtp.dataguard import (
    BareNewlineInCommand,
    DataAssembler,
    DataBudget,
    StrictLineReader,
)

log = logging.getLogger("swissbox.smtp")
# aiosmtpd itself sets the deprecated attribute on every successful AUTH.
warnings.filterwarnings("ignore", message="Session.login_data is deprecated")

# Real mail breaks the 998-octet line limit often (Postfix accepts long lines): DATA lines
# may be any length (DATA is read in chunks, bounded by the message size limit). Commands are
# refused past aiosmtpd's 512 (+extension) octets; LINE_LIMIT only sizes the read buffer.
LINE_LIMIT = 64 * 1024
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SIMPLE_PATH = re.compile(
    rf"\s*<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>((?:\s.*)?)\Z", re.S
)
DATA_CHUNK = 64 * 1024
DATA_IN_MEMORY = 64 * 1024  # of a DATA body; the rest waits on disk until the final dot
# Replies that may wait for the next pipelined command's (never 220/221/235/334/354/421).
_HOLDABLE = re.compile(r"25[012]|45[012]|50[0-4]|53[05]|55[0-5]")


class _ClassCachedInspect:
    """Stands in for `inspect` inside aiosmtpd.smtp (1.4.6 uses only these two functions).

    `SMTP.__init__` runs `inspect.getmembers()` on the protocol and the handler for every
    connection just to find `auth_*` methods (~0.3 ms, a sixth of a message's CPU); the
    answer depends only on the classes, so it is cached per class."""

    _names: dict[type, list[str]] = {}
    _signatures: dict[Any, inspect.Signature] = {}

    @classmethod
    def getmembers(cls, obj: Any) -> list[tuple[str, Any]]:
        names = cls._names.get(type(obj))
        if names is None:
            names = cls._names[type(obj)] = sorted(
                n for n in dir(type(obj)) if n.startswith("auth_")
            )
        return [(n, getattr(obj, n)) for n in names]

    @classmethod
    def signature(cls, fn: Any) -> inspect.Signature:
        key = getattr(fn, "__func__", fn)
        sig = cls._signatures.get(key)
        if sig is None:
            sig = cls._signatures[key] = inspect.signature(fn)
        return sig


aiosmtpd_smtp.inspect = _ClassCachedInspect  # type: ignore[assignment]

_class_names: dict[type, list[str]] = {}


def _class_dir(obj: Any) -> list[str]:
    """Stands in for `dir()` inside aiosmtpd.smtp, which `SMTP.__init__` calls on the protocol
    and the handler at every connection to find their `smtp_*` and `handle_*` methods (~50 us
    each). The names of the class, kept per class: instance attributes never carry those
    prefixes here."""
    names = _class_names.get(type(obj))
    if names is None:
        names = _class_names[type(obj)] = dir(type(obj))
    return names


aiosmtpd_smtp.dir = _class_dir  # type: ignore[attr-defined]
# aiosmtpd closes the connection after 5 unknown commands without flushing the replies we
# hold for a pipelined group and then keeps answering the buffered lines into the closed
# transport; our own error budget (Limits.max_errors, 421 then close) governs instead.
aiosmtpd_smtp.BOGUS_LIMIT = 1 << 30


@dataclass(frozen=True)
class Limits:
    max_message_size: int = 32 * 1024 * 1024
    max_recipients: int = 100
    max_errors: int = 10
    idle_timeout: float = 300.0
    session_timeout: float = 1800.0
    max_connections_per_address: int = 20

    @classmethod
    def from_settings(cls, smtp: Any) -> Limits:
        return cls(
            smtp.max_message_size,
            smtp.max_recipients,
            smtp.max_errors,
            smtp.idle_timeout,
            smtp.session_timeout,
            smtp.max_connections_per_address,
        )


def data_memory_cap(limits: Limits) -> int:
    """Message bytes all sessions together may have in flight (received, not yet stored; in
    memory up to DATA_IN_MEMORY each, the rest spooled to disk): 256 MiB, or four messages
    of the maximum size when that is more. One client gets half (DataBudget)."""
    return max(256 * 1024 * 1024, 4 * limits.max_message_size)


class ConnectionTracker:
    """Open sessions per client address (shared by every listener of the service)."""

    def __init__(self, per_address: int, data_budget: DataBudget | None = None) -> None:
        self.per_address = per_address
        self.data_budget = data_budget
        self.counts: dict[str, int] = {}
        self.sessions: set[SwissSMTP] = set()

    def acquire(self, address: str) -> bool:
        n = self.counts.get(address, 0)
        if n >= self.per_address:
            return False
        self.counts[address] = n + 1
        return True

    def release(self, address: str) -> None:
        n = self.counts.get(address, 0) - 1
        if n <= 0:
            self.counts.pop(address, None)
        else:
            self.counts[address] = n


class SwissSMTP(SMTP):
    line_length_limit = LINE_LIMIT

    def __init__(
        self,
        handler: Any,
        *,
        limits: Limits,
        tracker: ConnectionTracker,
        allow_auth: bool,
        implicit_tls: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, data_size_limit=limits.max_message_size, **kwargs)
        if implicit_tls:
            # the listener wraps the whole connection in TLS; aiosmtpd only knows STARTTLS
            self._auth_require_tls = False
        reader = self._stream_reader  # type: ignore[attr-defined]
        if reader is not None:
            reader.__class__ = StrictLineReader
        self.limits = limits
        self.tracker = tracker
        self.allow_auth = allow_auth
        self.client_ip = ""
        self.errors = 0
        self._raw_replies = False
        self._rejected = False
        self._counted = False
        self._closing = False
        self._session_timer: asyncio.TimerHandle | None = None
        self._idle_deadline = 0.0
        self._held: list[bytes] = []  # replies waiting for the end of a pipelined group

    # -- connection accounting ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None and self._original_transport is None:
            peer = transport.get_extra_info("peername") or ("", 0)
            self.client_ip = str(peer[0])
            if not self.tracker.acquire(self.client_ip):
                self._rejected = True
                log.warning("smtp: too many connections from %s", self.client_ip)
                line = replies.TOO_MANY_CONNECTIONS.format(host=self.hostname)
                metrics.smtp_reply(self.event_handler.label, line)
                transport.write(line.encode() + b"\r\n")  # type: ignore[attr-defined]
                transport.close()
                return
            self._counted = True
            metrics.opened(self.event_handler.label)
            self.tracker.sessions.add(self)
            self._session_timer = self.loop.call_later(
                self.limits.session_timeout, self._say_and_close, replies.SESSION_TIMEOUT
            )
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._rejected:
            return
        self._closing = True
        if self._counted:
            self._counted = False
            metrics.closed(self.event_handler.label)
            self.tracker.release(self.client_ip)
            self.tracker.sessions.discard(self)
        if self._session_timer is not None:
            self._session_timer.cancel()
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        if self._rejected:  # refused in connection_made: no session to end (TLS close_notify)
            return False
        return super().eof_received()

    def _reset_timeout(self, duration: float | None = None) -> None:
        """aiosmtpd cancels and re-creates a timer on every command; one timer that
        re-arms itself when it fires early does the same for a float store per command."""
        self._idle_deadline = self.loop.time() + (duration or self._timeout_duration)
        if self._timeout_handle is None:
            self._timeout_handle = self.loop.call_at(self._idle_deadline, self._idle_check)

    def _idle_check(self) -> None:
        if self.loop.time() < self._idle_deadline:
            self._timeout_handle = self.loop.call_at(self._idle_deadline, self._idle_check)
            return
        self._timeout_cb()

    def _timeout_cb(self) -> None:
        self._say_and_close(replies.IDLE_TIMEOUT)

    def _say_and_close(self, template: str) -> None:
        """Writes a final 421 line (when the transport still can) and closes."""
        transport = self.transport
        if transport is None or self._closing:
            return
        final = b"".join(self._held) + template.format(host=self.hostname).encode() + b"\r\n"
        self._held.clear()
        if not transport.is_closing():
            with contextlib.suppress(Exception):  # a broken transport: closing is all we can do
                transport.write(final)  # type: ignore[attr-defined]
        self._close_now()

    def _close_now(self) -> None:
        """Closes the transport and ends the command loop, so commands the client pipelined
        behind the last reply are neither answered nor logged."""
        self._closing = True
        if self.transport is not None:
            self.transport.close()
        if isinstance(self._reader, StrictLineReader):
            self._reader.stopped = True  # a cancel alone waits for the next real suspension
        task = self._handler_coroutine
        if task is not None and not task.done():
            task.cancel()

    def shutdown(self) -> None:
        self._say_and_close(replies.SHUTTING_DOWN)

    # -- replies ------------------------------------------------------------------------

    async def push(self, status: AnyStr) -> None:
        """Sends a reply (with an enhanced code). RFC 2920: while the client's next pipelined
        command is already waiting, plain 250/4xx/5xx replies are held and go out together
        with the next one, in one write."""
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        if self._closing or self.transport is None:
            return
        if self.transport.is_closing():  # closed under us (aiosmtpd or the peer): stop here
            self._close_now()
            return
        if self._raw_replies:  # EHLO: collected, then sent in one write
            self._ehlo_lines.append(text)
            return
        text = replies.enhance(text)
        metrics.smtp_reply(self.event_handler.label, text)
        log.debug("%s << %s", self.client_ip, text)
        self._held.append(text.encode("utf-8", "replace") + b"\r\n")
        is_error = replies.is_error(text)
        if is_error:
            self.errors += 1
            if self.errors >= self.limits.max_errors:
                log.info("smtp: %s made %d errors, disconnecting", self.client_ip, self.errors)
                self._say_and_close(replies.TOO_MANY_ERRORS)
                return
        if _HOLDABLE.fullmatch(text[:3]) and self._next_command_waiting():
            return
        await self._flush()

    def _next_command_waiting(self) -> bool:
        buffered = getattr(self._reader, "_buffer", None)
        return buffered is not None and b"\n" in buffered

    async def _flush(self) -> None:
        if not self._held or self.transport is None or self.transport.is_closing():
            self._held.clear()
            return
        data = b"".join(self._held)
        self._held.clear()
        self._writer.write(data)
        await self._writer.drain()

    async def smtp_EHLO(self, hostname: str) -> None:
        self._raw_replies = True
        self._ehlo_lines: list[str] = []
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._raw_replies = False
        if self._ehlo_lines and not self._closing:
            self._held += [f"{line}\r\n".encode() for line in self._ehlo_lines]
            if not self._next_command_waiting():
                await self._flush()

    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA, reading in chunks instead of line by line (5x less CPU per
        message). Same rules: ends only at <CRLF>.<CRLF>, dot-unstuffing, size limit (the
        rest is read and dropped, then 552). Lines of any length are accepted; bare CR/LF
        are judged by the handler (dataguard)."""
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        assembler = await self._read_data()
        try:
            if assembler.too_big:
                status = replies.MESSAGE_TOO_BIG
            elif assembler.no_memory:
                status = replies.NO_MEMORY
            else:
                content = assembler.content()  # the handler reads it whole
                self.envelope.content = content
                self.envelope.original_content = content
                status = await self._call_handler_hook("DATA")
        finally:
            self._release(assembler)
            self._set_post_data_state()  # also when the handler raised: no "nested MAIL" next
        await self.push(replies.OK if status is MISSING else status)

    @staticmethod
    def _release(assembler: DataAssembler) -> None:
        assembler.release()
        if assembler.emitted > DATA_IN_MEMORY:  # its buffers are free: give them back
            memtrim.trim_soon()

    def _data_key(self) -> str:
        """Whose share of the in-flight budget a message counts against: the authenticated
        user, else the client address."""
        auth = self.session.auth_data if self.session is not None else None
        identity = getattr(auth, "authcid", auth)  # the handler's identity, or a plain name
        return f"user:{identity}" if isinstance(identity, str) else f"ip:{self.client_ip}"

    def _data_spool(self) -> Spool:
        """Where a DATA body goes while it arrives: the mail store's spool (memory up to
        DATA_IN_MEMORY, then a temporary file in the data folder)."""
        store = getattr(getattr(self.event_handler, "rt", None), "store", None)
        if store is not None:
            spool: Spool = store.spool(threshold=DATA_IN_MEMORY)
            return spool
        return Spool(Path(tempfile.gettempdir()), DATA_IN_MEMORY)

    async def _read_data(self) -> DataAssembler:
        """Reads DATA until its end; bytes after it (pipelined commands) go back to the
        reader. The caller must `release()` the result."""
        assembler = DataAssembler(
            self.data_size_limit or 0,
            self.tracker.data_budget,
            self._data_key(),
            self._data_spool(),
        )
        try:
            while True:
                chunk = await self._reader.read(DATA_CHUNK)
                if not chunk:
                    raise ConnectionResetError("connection closed during DATA")
                self._reset_timeout()
                if assembler.feed(chunk):
                    break
        except BaseException:
            self._release(assembler)
            raise
        if assembler.rest:
            self._reader._buffer[0:0] = assembler.rest  # type: ignore[attr-defined]
        return assembler

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's address parser (the email package's full RFC 5322 grammar, ~60 us) with
        a fast path for the everyday `<dot-atom@domain>` form, which it parses identically."""
        m = _SIMPLE_PATH.match(arg)
        if m is not None:
            return m.group(1), m.group(2).lstrip()
        try:
            return super()._getaddr(arg)
        except Exception:
            # The email package's parser raises IndexError, AttributeError or
            # UnboundLocalError on some malformed paths (`<`, `"`, `<@[ `): malformed it is.
            return None, None

    def _getparams(self, params: Any) -> dict[str, str | bool] | None:
        """RFC 5321 parameters are ASCII: aiosmtpd's checks (`isalnum`, `isdigit`) would let
        other scripts' letters and digits through, and `SIZE=²` reach `int()`."""
        if not all(p.isascii() for p in params):
            return None
        found: dict[str, str | bool] | None = super()._getparams(params)
        return found

    async def smtp_AUTH(self, arg: str) -> None:
        if not self.allow_auth:
            await self.push(replies.AUTH_NOT_HERE)
            return
        await super().smtp_AUTH(arg)

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, BareNewlineInCommand):
            # like Postfix's smtpd_forbid_bare_newline: answer, then disconnect
            self.loop.call_soon(self._close_after_reply)
            return replies.BARE_NEWLINE_COMMAND
        if isinstance(error, TLSSetupException):  # aiosmtpd closes the connection itself
            log.info("smtp: TLS handshake with %s failed: %s", self.client_ip, error.__cause__)
            return replies.TLS_FAILED
        log.exception("smtp: session error from %s", self.client_ip)
        return replies.LOCAL_ERROR

    def _close_after_reply(self) -> None:
        if self.transport is not None and not self._closing:
            if self._held and not self.transport.is_closing():
                self.transport.write(b"".join(self._held))  # type: ignore[attr-defined]
            self._held.clear()
            self._close_now()

    # -- what handlers need to know -----------------------------------------------------

    def tls_info(self) -> tuple[str, str] | None:
        """(TLS version, cipher) when the session is encrypted (STARTTLS or implicit TLS)."""
        transport = self.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        if ssl_object is None:
            return None
        cipher = ssl_object.cipher()
        return str(ssl_object.version()), str(cipher[0] if cipher else "")


def factory(handler_factory: Callable[[], Any], **kwargs: Any) -> Callable[[], SwissSMTP]:
    """A protocol factory for `loop.create_server`: one handler per connection."""

    def make() -> SwissSMTP:
        return SwissSMTP(handler_factory(), **kwargs)

    return make
