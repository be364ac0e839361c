"""Composition root: config -> core -> services on one event loop, ordered shutdown.

Twisted's asyncio reactor is installed on our loop before anything imports the reactor, so
aiosmtpd/asyncio services and Twisted services (IMAP, HTTP) share one thread.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from swissbox.auth import Authenticator, HashParams, RateLimiter, VerifiedCache
from swissbox.conf import Config
from swissbox.directory import Directory
from swissbox.runtime import BindError, Context, Service
from swissbox.tls import CertPaths, TlsError, check_certificate

log = logging.getLogger("swissbox")
STOP_TIMEOUT = 4.0

# (settings section whose `enabled` flag gates it, module, class); order = start order.
SERVICES = (
    ("dns", "swissbox.dns.service", "DnsService"),
    ("smtp", "swissbox.smtp.service", "SmtpService"),
    ("imap", "swissbox.imap.service", "ImapService"),
    # HTTP applications: no listeners of their own, they offer `http_resources()`.
    ("http", "swissbox.ddns.service", "DdnsService"),
    ("http", "swissbox.dav.service", "DavService"),
    ("http", "swissbox.autoconfig.service", "AutoconfigService"),
)


def tls_paths(config: Config) -> CertPaths:
    tls = config.settings.tls
    if tls.cert:
        base = config.config_path.parent if config.config_path else Path.cwd()
        return CertPaths(base / tls.cert, base / tls.key)
    return CertPaths(
        config.tls_dir / "server.pem", config.tls_dir / "server.key", config.tls_dir / "ca.pem"
    )


def build_context(config: Config, loop: asyncio.AbstractEventLoop) -> Context:
    a = config.settings.auth
    limiter = RateLimiter(
        a.max_failures_per_identifier,
        a.max_failures_per_address,
        a.lockout_seconds,
        a.failure_delay_base,
        a.failure_delay_max,
    )
    directory = Directory(config.db_path)
    authenticator = Authenticator(
        directory,
        HashParams(a.argon2_memory_kib, a.argon2_iterations, a.argon2_lanes),
        limiter,
        VerifiedCache(ttl=a.login_cache_seconds),
    )
    return Context(config, directory, authenticator, tls_paths(config), loop)


def build_services(ctx: Context) -> list[Service]:
    from swissbox.http import HttpService

    services: list[Service] = []
    for section, module_name, class_name in SERVICES:
        if not getattr(ctx.settings, section).enabled:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                log.debug("%s: not built into this version", section)
                continue
            raise
        services.append(getattr(module, class_name)(ctx))
    if ctx.settings.http.enabled:
        http = HttpService(ctx)
        for service in services:  # protocols that offer HTTP resources mount them here
            for path, resource in getattr(service, "http_resources", dict)().items():
                http.mount(path, resource)
        services.append(http)
    return services


def serve(config: Config) -> int:
    """Runs every enabled service until SIGTERM/SIGINT; returns the process exit status."""
    logging.basicConfig(
        level=config.settings.server.log_level.upper(),
        format="swissbox: %(message)s"
        if sys.stderr.isatty()
        else "%(asctime)s swissbox %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not config.db_path.exists():
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

    def on_signal() -> None:
        asyncio.ensure_future(shutdown())

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    reactor.callWhenRunning(lambda: asyncio.ensure_future(startup()))
    reactor.run(installSignalHandlers=False)
    return int(state["exit"])
