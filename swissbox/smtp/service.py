"""SmtpService: MX ingress, submission (STARTTLS) and submissions (implicit TLS) listeners.

aiosmtpd's `SMTP` protocol on the shared loop via `loop.create_server` (not its threaded
Controller). Starting recovers the mail store (files vs index) before the first listener opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from swissbox.conf import parse_hostport
from swissbox.filter.pipeline import MailFilter
from swissbox.mailstore import MailStore, release_store, shared_store
from swissbox.mailstore.queue import OutboundQueue
from swissbox.mailstore.queuestate import QueueState, state_location
from swissbox.mailstore.sieving import Filter
from swissbox.runtime import Context, fmt_addr, listen_tcp
from swissbox.smtp.authcheck import InboundAuth
from swissbox.smtp.dataguard import DataBudget
from swissbox.smtp.delivery import Deliverer
from swissbox.smtp.forwarding import srs_sender
from swissbox.smtp.inbound import MxHandler, Runtime, return_to_sender
from swissbox.smtp.outbound.mx import make_resolver
from swissbox.smtp.outbound.runner import OutboundSettings, QueueRunner
from swissbox.smtp.routing import Routing
from swissbox.smtp.session import ConnectionTracker, Limits, data_memory_cap, factory
from swissbox.smtp.signing import DkimKeeper, DkimSigner
from swissbox.smtp.submission import SubmissionHandler
from swissbox.store.events import release_bus, shared_bus

log = logging.getLogger("swissbox.smtp")


class SmtpService:
    name = "smtp"

    def __init__(self, ctx: Context, filters: MailFilter | None = None) -> None:
        """`filters`: [filter]'s blocklists, limits and scanners (the composition root's)."""
        self.ctx = ctx
        self.filters = filters
        self.servers: list[asyncio.Server] = []
        self.ports: dict[str, int] = {}
        self.store: MailStore | None = None
        self.queue: OutboundQueue | None = None
        self.tracker: ConnectionTracker | None = None
        self.runner: QueueRunner | None = None
        self.runtime: Runtime | None = None
        self.dkim_keeper: DkimKeeper | None = None
        self._starting: asyncio.Task[None] | None = None  # the check workers' start
        self._store_root = ctx.config.mail_dir

    def outbound_settings(self) -> OutboundSettings:
        s = self.ctx.settings
        resolvers = [parse_hostport(e, 53) for e in s.smtp.outbound_resolvers]
        return OutboundSettings(
            hostname=s.server.hostname,
            port=s.smtp.outbound_port,
            nameservers=[r for r in resolvers if r is not None] or None,
            relay=parse_hostport(s.smtp.relay_host, 25) if s.smtp.relay_host else None,
            retry_schedule=tuple(s.smtp.retry_schedule),
            max_age=s.smtp.max_queue_age,
            mta_sts=s.smtp.outbound_mta_sts,
            ca_file=self._config_relative(s.smtp.outbound_ca_file),
            https_port=s.smtp.outbound_https_port,
            sts_cache=self.ctx.config.data_dir / "mta-sts-cache.json",
            lease=s.smtp.queue_lease,
        )

    def inbound_auth(self) -> InboundAuth | None:
        s = self.ctx.settings
        if not s.smtp.inbound_auth:
            return None
        servers = [parse_hostport(e, 53) for e in s.smtp.inbound_resolvers]
        return InboundAuth.from_settings(
            s.server.hostname,
            [r for r in servers if r is not None],
            s.smtp.inbound_dns_timeout,
            s.smtp.dmarc_reject_action,
            s.smtp.auth_temperror_action,
            s.smtp.dmarc_reject_action_domains,
            s.smtp.inbound_verify_processes,
        )

    def _config_relative(self, name: str) -> str:
        """A file named in the settings, relative to the config file's folder ("" stays)."""
        return str(self.ctx.config.relative(name)) if name else ""

    async def bounce(self, sender: str, data: bytes) -> None:
        """A DSN for `sender` (our SRS addresses unwrapped): into their mailbox when hosted
        here, else queued with the null sender (so a bounce never bounces)."""
        if self.runtime is not None:
            await return_to_sender(self.runtime, sender, data)

    async def start(self) -> list[str]:
        ctx, loop = self.ctx, self.ctx.loop
        settings = ctx.settings
        smtp, hostname = settings.smtp, settings.server.hostname
        if settings.server.log_level != "debug":
            logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command
        self.store = shared_store(self._store_root, settings.store.url)
        recovered = await loop.run_in_executor(None, self.store.recover)
        if recovered["added"] or recovered["removed"]:
            log.info("mail store recovery: %s", recovered)
        self.queue = OutboundQueue(ctx.config.queue_dir)
        limits = Limits.from_settings(smtp)
        self.tracker = ConnectionTracker(
            limits.max_connections_per_address, DataBudget(data_memory_cap(limits))
        )
        runtime = Runtime(
            ctx.directory,
            self.store,
            Deliverer(
                self.store,
                self.queue,
                settings.tnef.mode,
                on_queued=self._queued,
            ),
            limits,
            hostname,
            Routing.from_settings(settings, ctx.config.data_dir),
            self.inbound_auth(),
        )
        self.runtime = runtime
        runtime.filters = self.filters
        # Sieve runs in the mail store's delivery path; redirects get an SRS sender as forwards
        runtime.deliverer.sieve = Filter(ctx.directory, hostname)
        runtime.deliverer.redirect_sender = lambda sender, box: srs_sender(
            sender, box, runtime.routing, ctx.directory.is_mail_domain
        )
        signer = DkimSigner(ctx.directory, ctx.config.dkim_dir)
        if runtime.mailauth is not None:  # our checks are in the A-R: vouch for them on forwards
            authserv_id = runtime.mailauth.authserv_id
            runtime.sealer = lambda data, domain: signer.arc_seal(data, domain, authserv_id)
            runtime.deliverer.redirect_sealer = runtime.sealer  # Sieve redirects, likewise
        tls = ctx.certs.ssl_context()
        common: dict[str, Any] = dict(
            limits=limits,
            tracker=self.tracker,
            hostname=hostname,
            loop=loop,
            timeout=limits.idle_timeout,
            enable_SMTPUTF8=True,
            decode_data=False,
        )
        addresses = list(settings.server.listen)
        plan = [
            (
                "smtp-mx",
                smtp.mx_port,
                "smtp.mx_port",
                factory(lambda: MxHandler(runtime), allow_auth=False, tls_context=tls, **common),
                None,
                "",
            ),
            (
                "submission",
                smtp.submission_port,
                "smtp.submission_port",
                factory(
                    lambda: SubmissionHandler(
                        runtime, ctx.authenticator, smtp.check_header_from, signer
                    ),
                    allow_auth=True,
                    tls_context=tls,
                    require_starttls=True,
                    auth_required=True,
                    auth_require_tls=True,
                    **common,
                ),
                None,
                " (STARTTLS)",
            ),
            (
                "submissions",
                smtp.submissions_port,
                "smtp.submissions_port",
                factory(
                    lambda: SubmissionHandler(
                        runtime, ctx.authenticator, smtp.check_header_from, signer
                    ),
                    allow_auth=True,
                    implicit_tls=True,
                    auth_required=True,
                    **common,
                ),
                tls,
                " (TLS)",
            ),
        ]
        lines: list[str] = []
        try:
            for label, port, key, make, ssl_ctx, note in plan:
                servers = await listen_tcp(loop, make, addresses, port, key, ssl=ssl_ctx)
                self.servers += servers
                for server in servers:
                    for sock in server.sockets:
                        host, bound = sock.getsockname()[:2]
                        self.ports.setdefault(label, bound)
                        lines.append(f"{label} {fmt_addr(host, bound)}{note}")
        except BaseException:
            await self._close_servers()
            release_store(self._store_root)
            self.store = None
            raise
        workers = runtime.mailauth.workers() if runtime.mailauth is not None else None
        if workers is not None:
            self._starting = loop.create_task(workers.start())
        outbound = self.outbound_settings()
        self.dkim_keeper = DkimKeeper(
            ctx.directory,
            ctx.config.dkim_dir,
            make_resolver(outbound.nameservers),
            # a replaced key's record stays while mail it signed may still be queued anywhere
            keep_seconds=int(smtp.max_queue_age + 2 * 86400),
        )
        self.dkim_keeper.start()
        if smtp.outbound_enabled:
            state = await loop.run_in_executor(None, QueueState.open, state_location(ctx.config))
            self.runner = QueueRunner(self.queue, state, outbound, self.bounce)
            self.runner.start(shared_bus(state_location(ctx.config)))
            relay = (
                f"via {smtp.relay_host}" if smtp.relay_host else f"to MX port {smtp.outbound_port}"
            )
            log.info("outbound delivery from %s %s", self.queue.root, relay)
        return lines

    async def _close_servers(self) -> None:
        for server in self.servers:
            server.close()
        if self.tracker is not None:
            for session in list(self.tracker.sessions):
                session.shutdown()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        self.servers = []

    def _queued(self, queue_id: str) -> None:
        """Mail for other domains was queued: the runner looks now, not at its next pass."""
        if self.runner is not None:
            self.runner.wake(queue_id)

    async def stop(self) -> None:
        if self.dkim_keeper is not None:
            keeper, self.dkim_keeper = self.dkim_keeper, None
            await keeper.stop()
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await runner.stop()
            release_bus(state_location(self.ctx.config))
            await self.ctx.loop.run_in_executor(None, runner.state.close)
        await self._close_servers()
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._starting
            self._starting = None
        if self.runtime is not None and self.runtime.mailauth is not None:
            self.runtime.mailauth.close()
        if self.store is not None:
            self.store = None
            await self.ctx.loop.run_in_executor(None, release_store, self._store_root)
