"""Autoconfig (and the MTA-STS policy) on the shared HTTP site, answered only for domains with an
Email Service."""

from __future__ import annotations

from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import Request

from swissbox.autoconfig.documents import (
    MAX_REQUEST,
    MailServer,
    autodiscover_address,
    outlook,
    thunderbird,
)
from swissbox.autoconfig.mtasts import MtaStsPolicy
from swissbox.directory import Directory, split_address
from swissbox.directory.mailrecords import MtaSts
from swissbox.runtime import Context


def _not_found(request: Request) -> bytes:
    request.setResponseCode(404)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    return b"no mail service for this domain\n"


class ThunderbirdConfig(Resource):
    """GET /mail/config-v1.1.xml?emailaddress=... (also under /.well-known/autoconfig/).
    Without the parameter the domain comes from the Host header (autoconfig.DOMAIN)."""

    isLeaf = True

    def __init__(self, directory: Directory, server: MailServer) -> None:
        super().__init__()
        self.directory, self.mail = directory, server

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        args: dict[bytes, list[bytes]] = request.args or {}
        address = (args.get(b"emailaddress") or [b""])[0].decode("utf-8", "replace")
        domain = ""
        if "@" in address:
            try:
                domain = split_address(address)[1]
            except ValueError:
                domain = ""
        else:
            host = (request.getRequestHostname() or b"").decode("ascii", "replace").lower()
            domain = host.removeprefix("autoconfig.")
        if not domain or not self.directory.is_mail_domain(domain):
            return _not_found(request)
        request.setHeader(b"content-type", b"application/xml; charset=utf-8")
        return thunderbird(domain, self.mail)


class OutlookAutodiscover(Resource):
    """POST /autodiscover/autodiscover.xml with the address in the request body."""

    isLeaf = True

    def __init__(self, directory: Directory, server: MailServer) -> None:
        super().__init__()
        self.directory, self.mail = directory, server

    def render_POST(self, request: Request) -> bytes:  # noqa: N802
        body = request.content.read(MAX_REQUEST + 1) if request.content else b""
        address = autodiscover_address(body)
        if address is None or "@" not in address:
            request.setResponseCode(400)
            return b"expected an autodiscover request with EMailAddress\n"
        try:
            domain = split_address(address)[1]
        except ValueError:
            return _not_found(request)
        if not self.directory.is_mail_domain(domain):
            return _not_found(request)
        request.setHeader(b"content-type", b"application/xml; charset=utf-8")
        return outlook(address, self.mail)

    render_GET = render_POST


class AutoconfigService:
    name = "autoconfig"

    def __init__(self, ctx: Context) -> None:
        s = ctx.settings
        server = MailServer.from_settings(s)
        self.thunderbird = ThunderbirdConfig(ctx.directory, server)
        self.outlook = OutlookAutodiscover(ctx.directory, server)
        self.mta_sts = MtaStsPolicy(
            ctx.directory, MtaSts.from_settings(s).policy(s.server.hostname)
        )

    def http_resources(self) -> dict[str, Any]:
        return {
            "mail/config-v1.1.xml": self.thunderbird,
            ".well-known/autoconfig/mail/config-v1.1.xml": self.thunderbird,
            "autodiscover/autodiscover.xml": self.outlook,
            "Autodiscover/Autodiscover.xml": self.outlook,
            ".well-known/mta-sts.txt": self.mta_sts,
        }

    async def start(self) -> list[str]:
        return []

    async def stop(self) -> None:
        return None
