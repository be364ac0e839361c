"""The DAV application: no listener of its own, it mounts onto the shared twisted.web site.

Radicale runs in a thread pool of its own (not the reactor's shared one), started with the
service and stopped with it; requests queue until the pool runs.
"""

from __future__ import annotations

from typing import Any

from twisted.python.threadpool import ThreadPool
from twisted.web.wsgi import WSGIResource

from swissbox.dav.app import build_application
from swissbox.dav.book import DirectoryBook
from swissbox.dav.data import dav_place
from swissbox.dav.memberhooks import MemberHooks
from swissbox.dav.pgstorage import open_pool
from swissbox.dav.privileges import ReadOnlyPrivileges
from swissbox.dav.resource import DavResource, WellKnown
from swissbox.dav.xmlguard import XmlDepthGuard
from swissbox.http import trusted_networks
from swissbox.runtime import ACCOUNT_REMOVED, MEMBER_ROLE_CHANGED, Context


def dav_folder(ctx: Context) -> Any:
    return ctx.config.data_dir / "dav"


class DavService:
    name = "dav"

    def __init__(self, ctx: Context) -> None:
        from twisted.internet import reactor

        self.ctx = ctx
        folder = dav_folder(ctx)
        self.book = DirectoryBook(ctx.directory, folder / "directory.sqlite")
        max_body = ctx.settings.http.max_body
        url = ctx.settings.store.url
        self.pool = open_pool(url, ctx.settings.dav.threads + 1) if url else None
        app = build_application(folder, ctx.authenticator, self.book, max_body, self.pool)
        self.app = XmlDepthGuard(ReadOnlyPrivileges(app))
        self.threads = ThreadPool(minthreads=1, maxthreads=ctx.settings.dav.threads, name="dav")
        self.wsgi = WSGIResource(reactor, self.threads, self.app)
        trusted = trusted_networks(ctx.settings.http.trusted_proxies)
        plain = trusted_networks(ctx.settings.http.plain_auth_networks)
        self.resource = DavResource(self.wsgi, ctx.authenticator, ctx.loop, trusted, plain)
        hooks = MemberHooks(
            ctx.directory,
            ctx.config,  # the notice goes to Config.mail_dir / queue_dir
            ctx.settings.server.hostname,
            self.book,
            dav_place(ctx.config),
        )
        ctx.on(MEMBER_ROLE_CHANGED, hooks.role_changed)  # from the admin API
        ctx.on(ACCOUNT_REMOVED, hooks.account_removed)

    def http_resources(self) -> dict[str, Any]:
        return {
            "dav": self.resource,
            ".well-known/caldav": WellKnown(),
            ".well-known/carddav": WellKnown(),
        }

    async def start(self) -> list[str]:
        self.threads.start()
        return []

    async def stop(self) -> None:
        await self.ctx.loop.run_in_executor(None, self.threads.stop)
        if self.pool is not None:
            await self.ctx.loop.run_in_executor(None, self.pool.close)
        self.book.close()
