"""The dyndns2 HTTP application: no listener of its own, it mounts onto the shared site."""

from __future__ import annotations

from typing import Any

from swissbox.ddns.protocol import Policy
from swissbox.ddns.resource import CheckIp, NicUpdate
from swissbox.http import trusted_networks
from swissbox.runtime import ZONE_CHANGED, Context


class DdnsService:
    name = "ddns"

    def __init__(self, ctx: Context) -> None:
        s = ctx.settings
        trusted = trusted_networks(s.http.trusted_proxies)
        self.update = NicUpdate(
            ctx.directory,
            ctx.authenticator,
            s.ddns.default_ttl,
            Policy(allow_private=s.ddns.allow_private_addresses),
            trusted,
            on_change=lambda: ctx.emit(ZONE_CHANGED),
            plain_networks=trusted_networks(s.http.plain_auth_networks),
            allow_plain_http=s.ddns.allow_plain_http,
        )
        self.checkip = CheckIp(trusted)

    def http_resources(self) -> dict[str, Any]:
        return {
            "nic/update": self.update,
            "v2/update": self.update,
            "v3/update": self.update,
            "checkip": self.checkip,
        }

    async def start(self) -> list[str]:
        return []

    async def stop(self) -> None:
        return None
