"""The filter as the composition root sees it: built once from [filter], handed to the SMTP
service (blocklists, limits, scanners) and wired to the mail store's transfers (Junk learning,
when rspamd is a scanner with a controller URL)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from swissbox.conf import parse_hostport
from swissbox.filter.learning import JunkLearner
from swissbox.filter.pipeline import MailFilter
from swissbox.filter.rspamd import RspamdScanner
from swissbox.mailauth.resolver import DnsResolver
from swissbox.mailstore import release_store, shared_store
from swissbox.runtime import Context

log = logging.getLogger("swissbox.filter")


def wanted(settings: Any) -> bool:
    """Whether [filter] asks for anything at all (it is off by default)."""
    f = settings
    return bool(f.scanners or f.dnsbl_zones or f.max_messages_per_hour or f.max_recipients_per_hour)


def build_filter(ctx: Context) -> MailFilter:
    """[filter] with the MX's resolver settings ([smtp] inbound_resolvers) for blocklists and
    the directory database for sending counts."""
    s = ctx.settings
    resolver = None
    if s.filter.dnsbl_zones:
        servers = [parse_hostport(e, 53) for e in s.smtp.inbound_resolvers]
        resolver = DnsResolver(
            [r for r in servers if r is not None] or None, s.smtp.inbound_dns_timeout
        )
    return MailFilter.from_settings(s.filter, resolver, ctx.directory)


class JunkLearningService:
    """Learning from moves into and out of Junk; no listeners."""

    name = "filter-learning"

    def __init__(self, ctx: Context, rspamd: RspamdScanner) -> None:
        self.ctx = ctx
        self.rspamd = rspamd
        self._root = ctx.config.mail_dir
        self._stop_observing: list[Callable[[], None]] = []
        self.learner: JunkLearner | None = None

    async def start(self) -> list[str]:
        store = shared_store(self._root, self.ctx.settings.store.url)
        timeout = self.rspamd.policy.timeout

        def fetch(address: str, folder: str, uid: int) -> bytes:
            return store.mailbox(address).fetch(folder, uid)

        async def teach(kind: str, data: bytes) -> str:
            return await asyncio.wait_for(self.rspamd.learn(kind, data), timeout)

        self.learner = JunkLearner(fetch, teach, self.ctx.settings.filter.learn_queue)
        self.learner.start()
        self._stop_observing = [store.observe_transfers(self.learner.observe)]
        log.info("filter: moves into and out of Junk teach rspamd")
        return []

    async def stop(self) -> None:
        for stop in self._stop_observing:
            stop()
        self._stop_observing = []
        if self.learner is not None:
            learner, self.learner = self.learner, None
            await learner.stop()
            await self.ctx.loop.run_in_executor(None, release_store, self._root)


def learning_service(ctx: Context, filters: MailFilter) -> JunkLearningService | None:
    """Junk learning when [filter] learn_junk is on and rspamd has a controller URL."""
    rspamd = filters.scanner("rspamd")
    f = ctx.settings.filter
    if not f.learn_junk or not f.rspamd_controller_url or not isinstance(rspamd, RspamdScanner):
        return None
    return JunkLearningService(ctx, rspamd)
