"""The Manager on the shared HTTP site: `/api/v1` and its web pages at `/manager/`."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from swissbox.auth import HashParams
from swissbox.http import trusted_networks
from swissbox.manager import (
    apitokens,
    auditlog,
    ddns,
    deletedmail,
    domains,
    mail,
    members,
    mysessions,
    orgs,
    routing,
    session,
    sievescripts,
    teams,
    tsig,
    twofactor,
)
from swissbox.manager.api import ApiResource, Call, Manager
from swissbox.manager.auditretention import PRUNE_EVERY, prune
from swissbox.manager.endpoint import Endpoint
from swissbox.manager.openapi import document
from swissbox.manager.schema import Doc, Obj
from swissbox.manager.web import WebResource
from swissbox.runtime import Context

log = logging.getLogger("swissbox.manager")
GROUPS = (
    session,
    mysessions,
    orgs,
    members,
    teams,
    domains,
    mail,
    routing,
    sievescripts,
    deletedmail,
    ddns,
    tsig,
    apitokens,
    auditlog,
    twofactor,
)


def endpoints() -> list[Endpoint]:
    """Every endpoint of /api/v1, the OpenAPI document's own included."""
    spec: dict[str, Any] = {}

    def openapi(call: Call) -> tuple[int, Any]:
        return 200, spec

    doc = Doc("This document (OpenAPI 3.1)", answers={200: Obj({}, open=True)})
    found = [e for group in GROUPS for e in group.ENDPOINTS]
    found.append(Endpoint("GET", "/openapi.json", openapi, doc, tag="meta", public=True))
    spec.update(json.loads(json.dumps(document(found))))  # once: the endpoints never change
    return found


def build_manager(ctx: Context) -> Manager:
    s = ctx.settings
    return Manager(
        directory=ctx.directory,
        authenticator=ctx.authenticator,
        hash_params=HashParams.from_settings(s.auth),
        hostname=s.server.hostname,
        dkim_dir=ctx.config.dkim_dir,
        settings=s,
        trusted=trusted_networks(s.http.trusted_proxies),
        plain_networks=trusted_networks(s.http.plain_auth_networks),
        mail_dir=ctx.config.mail_dir,
        emit=ctx.emit,
        emit_on_loop=lambda *args: ctx.loop.call_soon_threadsafe(ctx.emit, *args),
    )


class ManagerService:
    name = "manager"

    def __init__(self, ctx: Context) -> None:
        self.api = ApiResource(build_manager(ctx), endpoints())
        self._pruning: asyncio.Task[None] | None = None

    def http_resources(self) -> dict[str, Any]:
        return {"api/v1": self.api, "manager": WebResource(self.api)}

    async def start(self) -> list[str]:
        self._pruning = asyncio.ensure_future(self._prune_audit())
        return []

    async def _prune_audit(self) -> None:
        """Drops audit entries older than `[manager] audit_days`, now and once a day."""
        m = self.api.manager
        loop = asyncio.get_running_loop()
        while True:
            try:
                days = m.settings.manager.audit_days
                gone = await loop.run_in_executor(self.api.pool, prune, m.directory, days)
                if gone:
                    log.info("manager: pruned %d audit entries older than %d days", gone, days)
            except Exception:
                log.exception("manager: pruning the audit log failed (tried again tomorrow)")
            await asyncio.sleep(PRUNE_EVERY)

    async def stop(self) -> None:
        if self._pruning is not None:
            self._pruning.cancel()
        self.api.pool.shutdown(wait=False, cancel_futures=True)
