"""Composition root: config -> core -> services on one event loop, ordered shutdown.

Twisted's asyncio reactor is installed on our loop before anything imports the reactor, so
aiosmtpd/asyncio services and Twisted services (IMAP, HTTP) share one thread.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from typing import Any

from swissbox.auth import Authenticator, HashParams, RateLimiter, VerifiedCache, VerifyPool
from swissbox.conf import Config
from swissbox.directory import Directory
from swissbox.health import HealthApp, Readiness
from swissbox.logformat import configure as configure_logging
from swissbox.runtime import BindError, Context, HttpApp, Service
from swissbox.tls import CertPaths, TlsError, check_certificate, configured_paths

log = logging.getLogger("swissbox")
STOP_TIMEOUT = 4.0


def build_context(config: Config, loop: asyncio.AbstractEventLoop) -> Context:
    a = config.settings.auth
    directory = Directory(config.directory_location)
    limiter = RateLimiter(
        a.max_failures_per_identifier,
        a.max_failures_per_address,
        a.lockout_seconds,
        a.failure_delay_base,
        a.failure_delay_max,
        distributed_addresses=a.lockout_distributed_addresses,
        trusted_networks=a.trusted_networks,
        board=directory,  # lockouts hold on every front end sharing the database
    )
    authenticator = Authenticator(
        directory,
        HashParams.from_settings(a),
        limiter,
        VerifiedCache(ttl=a.login_cache_seconds),
        VerifyPool(a.verify_workers, a.verify_queue, a.verify_timeout),
    )
    return Context(config, directory, authenticator, serving_paths(config), loop)


def serving_paths(config: Config) -> CertPaths:
    """The ACME certificate when [acme] is on and it is usable, else the configured one."""
    if config.settings.acme.enabled:
        from swissbox.acme.files import AcmeFiles

        acme = AcmeFiles(config.data_dir)
        if acme.has_certificate():
            try:
                check_certificate(acme.paths)
                return acme.paths
            except TlsError as exc:
                log.warning("acme: not serving %s", exc)
    return configured_paths(config)


def build_services(ctx: Context) -> list[Service]:
    """Every enabled service in start order; HTTP last, with what the others mount on it.

    Imported here, not at module level: Twisted's asyncio reactor must be installed first.
    """
    from swissbox.autoconfig.service import AutoconfigService
    from swissbox.dav.service import DavService
    from swissbox.ddns.service import DdnsService
    from swissbox.dns.service import DnsService
    from swissbox.filter.service import build_filter, learning_service, wanted
    from swissbox.http import HttpService
    from swissbox.imap.service import ImapService
    from swissbox.metrics.export import MetricsService, watch_queue
    from swissbox.smtp.service import SmtpService

    s = ctx.settings
    services: list[Service] = []
    acme = None
    if s.acme.enabled:
        from swissbox.acme.service import AcmeService

        acme = AcmeService(ctx)  # started last: HTTP-01 answers need the HTTP listener
    readiness = Readiness(s, ctx.directory.location)
    if s.metrics.enabled:
        services.append(MetricsService(ctx))
    if s.dns.enabled:
        services.append(DnsService(ctx))
    filters = None
    if wanted(s.filter):
        filters = build_filter(ctx)
        learning = learning_service(ctx, filters)
        if learning is not None:
            services.append(learning)
    if s.smtp.enabled:
        smtp = SmtpService(ctx, filters)
        services.append(smtp)
        watch_queue(ctx.config.queue_dir)
        if s.smtp.outbound_enabled:
            readiness.add("queue runner", lambda: None if _runner_alive(smtp) else "not running")
    if s.imap.enabled:
        services.append(ImapService(ctx))
    if s.managesieve.enabled:
        from swissbox.managesieve.service import ManageSieveService

        services.append(ManageSieveService(ctx))
    if s.http.enabled:
        # HTTP applications: no listeners of their own, they mount onto the shared site.
        apps: list[HttpApp] = [DdnsService(ctx), DavService(ctx), AutoconfigService(ctx)]
        apps.append(HealthApp(readiness))
        from swissbox.manager.service import ManagerService

        apps.append(ManagerService(ctx))
        if acme is not None:
            apps.append(acme)
        http = HttpService(ctx)
        for app in apps:
            for path, resource in app.http_resources().items():
                http.mount(path, resource)
        services += [*(a for a in apps if a is not acme), http]
    if acme is not None:
        services.append(acme)
    return services


def _runner_alive(smtp: Any) -> bool:
    """Whether the SMTP service's outbound queue runner is running (for readiness)."""
    runner = smtp.runner
    return runner is not None and bool(runner.alive)


GC_THRESHOLDS = (20_000, 20, 20)  # Python's (700, 10, 10) collects every few messages


def settle_garbage_collector() -> None:
    """Once every service runs: what exists now (modules, settings, caches) is moved out of the
    collector's reach (`gc.freeze`), and young objects are collected less often. A message's
    objects die by reference counting; the cyclic collector only ever found the long-lived
    ones again and again (2-3% of the server's CPU under SMTP load, perf)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serve(config: Config) -> int:
    """Runs every enabled service until SIGTERM/SIGINT; returns the process exit status."""
    server = config.settings.server
    configure_logging(server.log_level, server.log_format, sys.stderr)
    if not config.initialized:
        print(f"swissbox: no data in {config.data_dir}: run `swissbox init` first", file=sys.stderr)
        return 2
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    from twisted.internet import asyncioreactor

    asyncioreactor.install(loop)
    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor
    try:
        ctx = build_context(config, loop)
        check_certificate(ctx.tls)
        services = build_services(ctx)
    except TlsError as exc:
        print(f"swissbox: {exc}", file=sys.stderr)
        return 2
    started: list[Service] = []
    state: dict[str, Any] = {"exit": 0, "stopping": False}

    async def shutdown() -> None:
        if state["stopping"]:
            return
        state["stopping"] = True
        log.info("stopping")
        ctx.authenticator.close()  # logins still waiting answer "try later" at once
        for service in reversed(started):
            try:
                await asyncio.wait_for(service.stop(), STOP_TIMEOUT / max(1, len(started)) + 0.5)
            except Exception as exc:  # keep stopping the others
                log.warning("%s did not stop cleanly: %s", service.name, exc)
        ctx.directory.close()
        reactor.stop()

    async def startup() -> None:
        for service in services:
            try:
                lines = await service.start()
            except BindError as exc:
                print(f"swissbox: {exc}", file=sys.stderr)
                state["exit"] = 2
                await shutdown()
                return
            except Exception:
                log.exception("%s failed to start", service.name)
                state["exit"] = 1
                await shutdown()
                return
            started.append(service)
            for line in lines:
                log.info("listening: %s", line)
        log.info("ready (data in %s)", config.data_dir)
        settle_garbage_collector()

    def on_signal() -> None:
        asyncio.ensure_future(shutdown())

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    reactor.callWhenRunning(lambda: asyncio.ensure_future(startup()))
    reactor.run(installSignalHandlers=False)
    return int(state["exit"])
