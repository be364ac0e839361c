"""DnsService: the authoritative DNS server as a swissbox service (runtime.Service contract).

Binds UDP and TCP on every `[server] listen` address at `[dns] port`. Zones come from the
directory (through a read connection of its own) by a Catalog; before each batch of packets (and
every REFRESH_INTERVAL seconds when idle) the catalog checks `Directory.generation()`, reloads
zones whose serial moved, clears the wire cache, and sends NOTIFY for each changed zone to
`[dns] notify` (and for every zone once at start, for changes made while the server was down).

With several front ends on PostgreSQL, a zone change made anywhere (another front end, the CLI)
arrives as an event on the bus (`CHANNEL_DNS`, sent when the writer commits) and is reloaded at
once; the packets then skip the check (a database round trip each), which stays on the timer as
the fallback for an event lost while the bus reconnected. Every front end that sees a new serial
sends NOTIFY: the serial was bumped once, in the writer's transaction, and a secondary asked
twice about the same serial (RFC 1996) transfers once; a front end that dies right after its
commit still has its change announced by the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from swissbox import metrics
from swissbox.directory import Directory
from swissbox.dns.catalog import Catalog, Plan
from swissbox.dns.engine import Engine, Messages
from swissbox.dns.notify import Notifier, parse_targets
from swissbox.dns.resolver import OP_UPDATE
from swissbox.dns.tcp import DnsTcpProtocol, TcpState
from swissbox.dns.transfer import TransferPolicy
from swissbox.dns.udp import UdpListener
from swissbox.dns.update import Updater
from swissbox.runtime import ZONE_CHANGED, Context, fmt_addr, listen_tcp, udp_socket
from swissbox.store import is_postgres_url
from swissbox.store.events import CHANNEL_DNS, release_bus, shared_bus

log = logging.getLogger("swissbox.dns")

REFRESH_INTERVAL = 0.5


class DnsService:
    name = "dns"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        s = ctx.settings
        self.addresses: list[str] = list(s.server.listen)
        self.port: int = s.dns.port
        # A connection of our own: the per-packet freshness check never waits on the lock of
        # the shared one (another service's thread may hold it while SQLite is busy).
        self.db = Directory(ctx.directory.location)
        self.catalog = Catalog(self.db)
        self.engine = Engine(self.catalog.zones, TransferPolicy(s.dns.allow_transfer))
        self.notifier = Notifier(parse_targets(list(s.dns.notify)), sources=self.addresses)
        self.udp: list[UdpListener] = []
        self.tcp: list[asyncio.Server] = []
        # several front ends: other writers' changes come as events, not per-packet checks
        self.shared = is_postgres_url(ctx.directory.location)
        self._unsubscribe: Callable[[], None] | None = None
        self.tcp_state = TcpState(
            self.handle_tcp,
            self._before_batch,
            idle_timeout=float(s.dns.tcp_idle_timeout),
            max_connections=s.dns.tcp_max_connections,
            max_per_client=s.dns.tcp_max_per_client,
            busy_idle_timeout=float(s.dns.tcp_busy_idle_timeout),
        )
        self._ticker: asyncio.Task[None] | None = None
        self._warm_handle: asyncio.Handle | None = None
        self._building: asyncio.Future[None] | None = None
        ctx.on(ZONE_CHANGED, lambda *args: self.refresh())
        # RFC 2136 UPDATE signed with TSIG; writes go through the shared directory connection.
        self.engine.handlers[OP_UPDATE] = Updater(ctx.directory, lambda zone: self.refresh()).handle

    # -- zone freshness ---------------------------------------------------------------------

    def _before_batch(self) -> None:
        if not self.shared:
            self.refresh()

    def _zone_event(self, payload: str) -> None:
        """On the bus's thread: a zone change was committed (by any front end, the CLI, or a
        service of this one)."""
        with contextlib.suppress(RuntimeError):  # the loop is closing: nothing to answer
            self.ctx.loop.call_soon_threadsafe(self._reload_told)

    def _reload_told(self) -> None:
        self.catalog.recheck()
        try:
            self.refresh()
        except Exception:
            log.exception("dns: zone refresh failed")

    def refresh(self) -> None:
        """Cheap unless the database changed; big zones are rebuilt in a worker thread (the
        old view keeps answering meanwhile), small ones at once."""
        if self._building is not None:
            return
        plan = self.catalog.check()
        if plan is None:
            return
        if self.catalog.is_big(plan):
            self._building = asyncio.ensure_future(self._build_in_thread(plan))
            return
        self._changed(self.catalog.apply(plan, self.catalog.build(plan)))

    async def _build_in_thread(self, plan: Plan) -> None:
        loop = asyncio.get_running_loop()
        try:
            built = await loop.run_in_executor(None, self.catalog.build, plan)
            self._changed(self.catalog.apply(plan, built))
        except Exception:
            log.exception("dns: zone rebuild failed")
        finally:
            self._building = None
        self.refresh()  # anything committed while we were building

    def _changed(self, changed: list[str]) -> None:
        if not changed:
            return
        self.engine.invalidate(changed)
        self._schedule_warm()
        self._notify(changed)

    def _notify(self, origins: list[str]) -> None:
        if not self.notifier.targets:
            return
        for name in origins:
            view = self.catalog.zones.zones.get(name)
            if view is not None:
                self.notifier.notify(name, view.serial, view.soa.rdatas[0], view.soa.ttl)

    def _schedule_warm(self) -> None:
        """Precomputes wire answers in small steps between packets."""
        if self._warm_handle is None and self.engine.warming:
            self._warm_handle = asyncio.get_running_loop().call_soon(self._warm)

    def _warm(self) -> None:
        self._warm_handle = None
        try:
            more = self.engine.warm_step()
        except Exception:
            log.exception("dns: precomputing answers failed")
            self.engine.warming.clear()
            return
        if more:
            self._warm_handle = asyncio.get_running_loop().call_soon(self._warm)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_INTERVAL)
            try:
                self.refresh()
            except Exception:
                log.exception("dns: zone refresh failed")

    # -- packets ----------------------------------------------------------------------------

    def handle_udp(self, data: bytes, client: str) -> bytes | None:
        return self.engine.handle_udp(data, client)

    def handle_tcp(self, data: bytes, client: str) -> Messages:
        answers = self.engine.handle(data, client, True)
        metrics.dns_tcp_answers(answers)
        return answers

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> list[str]:
        loop = asyncio.get_running_loop()
        # subscribed before the first load: a change committed meanwhile is not missed
        bus = shared_bus(self.ctx.directory.location)
        self._unsubscribe = bus.subscribe(CHANNEL_DNS, self._zone_event)
        self.catalog.refresh(force=True)
        lines: list[str] = []
        try:
            for address in self.addresses:
                sock = udp_socket(address, self.port, "dns.port")
                self.udp.append(UdpListener(loop, sock, self.engine.handle_udp, self._before_batch))
                lines.append(f"dns udp {fmt_addr(address, self.port)}")
            self.tcp = await listen_tcp(
                loop,
                lambda: DnsTcpProtocol(self.tcp_state),
                self.addresses,
                self.port,
                "dns.port",
            )
        except BaseException:
            for listener in self.udp:
                listener.close()
            self.udp = []
            raise
        lines += [f"dns tcp {fmt_addr(a, self.port)}" for a in self.addresses]
        self._ticker = asyncio.ensure_future(self._tick())
        self.engine.invalidate()
        self._schedule_warm()
        zones = self.catalog.zones.zones
        self._notify(list(zones))  # changes made while we were down reach secondaries now
        log.info("dns: %d zone(s), %d records", len(zones), sum(z.records for z in zones.values()))
        return lines

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
            release_bus(self.ctx.directory.location)
        if self._warm_handle is not None:
            self._warm_handle.cancel()
            self._warm_handle = None
        for task in (self._ticker, self._building):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        for listener in self.udp:
            listener.close()
        self.udp = []
        for server in self.tcp:
            server.close()
        self.tcp_state.close_all()
        for server in self.tcp:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        self.tcp = []
        await self.notifier.close()
        self.db.close()

    def stats(self) -> dict[str, Any]:
        return {
            "zones": len(self.catalog.zones.zones),
            "udp_cache": len(self.engine.udp_cache),
            "tcp_connections": len(self.tcp_state.connections),
        }
