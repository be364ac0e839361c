"""`ImapService`: the IMAP listeners (STARTTLS on [imap] port, implicit TLS on tls_port) on
every address of [server] listen, through the Twisted reactor running on the shared loop.

It shares the process-wide mail store (so SMTP arrivals reach IDLE sessions), keeps the
session registry, the notification hub and an envelope render cache, and forgets expunged
messages older than [imap] expunged_retention_days (at start, then daily).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from twisted.cred.portal import Portal
from twisted.internet.protocol import ServerFactory

from swissbox.imap.account import MailboxChecker, MailboxRealm
from swissbox.imap.notify import Hub
from swissbox.imap.server import ImapSession
from swissbox.mailstore import MailStore, query, release_store, shared_store
from swissbox.mailstore.spool import InflightBudget
from swissbox.runtime import BindError, Context, fmt_addr, listen_twisted, stop_twisted_ports

log = logging.getLogger("swissbox.imap")
PURGE_INTERVAL = 86400.0
ENVELOPE_CACHE = 150_000  # rendered envelopes kept in memory (~0.5 KB each)
HEADER_CACHE = 150_000  # lower-cased header blocks kept for SEARCH (~0.5 KB each)
SORT_CACHE = 150_000  # sort.Facts kept for SORT/THREAD (~1 KB each once keys are computed)
SORT_ANSWERS = 256  # whole-folder SORT/THREAD answers kept (~100 KB each at 10,000 messages)
FILL_CHUNK, FILL_PAUSE = 250, 0.005  # background header-cache fill pace


def _folder_cache(
    caches: dict[tuple[str, int, int], dict[int, bytes]], limit: int, box: Any, info: Any
) -> dict[int, bytes]:
    """The per-folder dict in `caches` (keyed by UIDVALIDITY too: a stale entry is never
    read); all are dropped when a new folder comes while they hold over `limit` entries."""
    key = (str(box.path), info.id, info.uidvalidity)
    cache = caches.get(key)
    if cache is None:
        if sum(len(c) for c in caches.values()) > limit:
            caches.clear()
        cache = caches[key] = {}
    return cache


class _Factory(ServerFactory):
    def __init__(self, service: ImapService, implicit_tls: bool) -> None:
        self.service = service
        self.implicit_tls = implicit_tls

    def buildProtocol(self, addr: Any) -> ImapSession:  # noqa: N802
        session = ImapSession(self.service, self.implicit_tls)
        session.factory = self
        return session


class ImapService:
    name = "imap"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.settings = ctx.settings.imap
        # one limit for SMTP and APPEND: what one path takes, the other does too
        self.max_message_size = ctx.settings.smtp.max_message_size
        # APPEND literal bytes in flight (announced, until stored) for all sessions: 1 GiB or
        # eight literals of the maximum size in all, two per user.
        self.append_budget = InflightBudget(
            max(1 << 30, 8 * self.max_message_size), 2 * self.max_message_size
        )
        self.sessions: set[ImapSession] = set()
        self._envelopes: dict[tuple[str, int, int], dict[int, bytes]] = {}
        self._headers: dict[tuple[str, int, int], dict[int, bytes]] = {}
        self._sort_facts: dict[tuple[str, int, int], dict[int, Any]] = {}
        self._sort_answers: dict[tuple[str, int, int], dict[Any, Any]] = {}
        self._filling: set[int] = set()
        self._ports: list[Any] = []
        self._store: MailStore | None = None
        self._purge: Any = None
        self.reactor: Any = None

    def envelopes(self, box: Any, info: Any) -> dict[int, bytes]:
        """Rendered `ENVELOPE (...)` items of one folder by UID (immutable per UID and
        UIDVALIDITY), shared by all sessions; bounded to ENVELOPE_CACHE entries in all."""
        return _folder_cache(self._envelopes, ENVELOPE_CACHE, box, info)

    def lowered_headers(self, box: Any, info: Any) -> dict[int, bytes]:
        """Lower-cased header blocks of one folder by UID (for the SEARCH prefilter), shared
        by all sessions; bounded to HEADER_CACHE entries in all."""
        return _folder_cache(self._headers, HEADER_CACHE, box, info)

    def sort_facts(self, box: Any, info: Any) -> dict[int, Any]:
        """`sort.Facts` of one folder by UID (SORT/THREAD keys, immutable per UID and
        UIDVALIDITY), shared by all sessions; bounded to SORT_CACHE entries in all."""
        return _folder_cache(self._sort_facts, SORT_CACHE, box, info)

    def sort_answers(self, box: Any, info: Any) -> dict[Any, Any]:
        """SORT/THREAD answers over a whole folder, by command and criteria, each with the
        UIDs it was computed for (sortthread.py), shared by all sessions; bounded to
        SORT_ANSWERS entries in all."""
        return _folder_cache(self._sort_answers, SORT_ANSWERS, box, info)

    def fill_headers(self, box: Any, info: Any, cache: dict[int, bytes], uids: list[int]) -> None:
        """Fills `cache` with the lower-cased headers of `uids` in the background: FILL_CHUNK
        rows (< 1 ms) every FILL_PAUSE seconds, so sessions hardly notice."""
        todo = list(uids)
        if not todo or id(cache) in self._filling:
            return
        self._filling.add(id(cache))

        def step() -> None:
            chunk = todo[:FILL_CHUNK]
            del todo[:FILL_CHUNK]
            try:
                for u, h in query.rows(box, info.id, ["uid", "headers"], chunk):
                    cache[u] = bytes(h).lower()
            except Exception:  # the folder went away: nothing to cache
                todo.clear()
            if todo:
                self.reactor.callLater(FILL_PAUSE, step)
            else:
                self._filling.discard(id(cache))

        self.reactor.callLater(0, step)

    @property
    def store(self) -> MailStore:
        assert self._store is not None, "service not started"
        return self._store

    def ensure_future(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        return asyncio.ensure_future(coro, loop=self.ctx.loop)

    async def start(self) -> list[str]:
        from twisted.internet import reactor as _reactor
        from twisted.internet import task

        reactor: Any = _reactor
        self.reactor = reactor
        self._store = shared_store(self.ctx.config.mail_dir, self.ctx.settings.store.url)
        self.hub = Hub(self._store)
        realm: Any = MailboxRealm(self._store, self.ctx.directory)
        checker: Any = MailboxChecker(self.ctx.authenticator)
        self.portal = Portal(realm, [checker])
        self.tls_options = self.ctx.certs.twisted_options()
        lines = []
        for address in self.ctx.settings.server.listen:
            for port, key, tls in (
                (self.settings.port, "imap.port", False),
                (self.settings.tls_port, "imap.tls_port", True),
            ):
                factory = _Factory(self, tls)
                try:
                    listener = listen_twisted(
                        reactor,
                        address,
                        port,
                        key,
                        factory,
                        self.tls_options if tls else None,
                        backlog=1024,
                    )
                except BindError:
                    await self.stop()
                    raise
                self._ports.append(listener)
                where = fmt_addr(address, port)
                lines.append(f"imaps {where} (TLS)" if tls else f"imap {where} (STARTTLS)")
        self._purge = task.LoopingCall(self._purge_retention)
        self._purge.start(PURGE_INTERVAL, now=True)
        return lines

    def _purge_retention(self) -> None:
        from twisted.internet import threads

        days = self.settings.expunged_retention_days
        store = self._store

        def work() -> int:
            from swissbox.mailstore import removal, retention

            total = 0
            if store is None:
                return 0
            for address in store.existing_addresses():
                try:
                    total += retention.purge(store.mailbox(address), days)
                except Exception:
                    log.exception("retention purge failed for %s", address)
            try:  # deleted mailboxes' mail, held as long as expunged messages
                erased = removal.purge(store.root, store.index_url, days)
                if erased:
                    log.info("erased the mail of %d deleted mailboxes", erased)
            except Exception:
                log.exception("erasing deleted mailboxes' mail failed")
            return total

        d = threads.deferToThread(work)

        def report(n: int) -> None:
            if n:
                log.info("forgot %d expunged messages", n)

        d.addCallback(report)
        d.addErrback(lambda f: log.warning("retention purge failed: %s", f.value))

    async def stop(self) -> None:
        if self._purge is not None and self._purge.running:
            self._purge.stop()
        await stop_twisted_ports(self._ports, self.ctx.loop)
        for session in list(self.sessions):
            transport: Any = session.transport
            try:
                session.write_line(b"* BYE server shutting down")
                transport.loseConnection()
            except Exception:
                pass
        if self._store is not None:
            self.hub.close()
            self._store = None
            release_store(self.ctx.config.mail_dir)
