"""twisted.web glue for dyndns2: /nic/update (and /v2/update, /v3/update) and /checkip."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, threads
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from swissbox import metrics
from swissbox.auth import Authenticator
from swissbox.ddns import protocol as p
from swissbox.ddns.abuse import AbuseGuard
from swissbox.directory import Directory
from swissbox.http import (
    Networks,
    basic_credentials,
    client_address,
    credentials_allowed,
    send_answer,
)

log = logging.getLogger("swissbox.ddns")


class _Text(Resource):
    isLeaf = True

    @staticmethod
    def _finish(request: Request, body: str, code: int = 200) -> None:
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        data = body.encode()
        # A length instead of chunked encoding: ddclient 3.10 cannot read chunked bodies.
        request.setHeader(b"content-length", str(len(data)).encode())
        send_answer(request, data)


class CheckIp(_Text):
    """`/checkip`: `Current IP Address: 1.2.3.4`, as checkip.dyndns.org answers."""

    def __init__(self, trusted: Networks) -> None:
        super().__init__()
        self.trusted = trusted

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        ip = client_address(request, self.trusted) or ""
        return (
            "<html><head><title>Current IP Check</title></head>"
            f"<body>Current IP Address: {ip}</body></html>\n"
        ).encode()


class NicUpdate(_Text):
    """GET /nic/update?hostname=...&myip=...: Basic auth in the ddns realm, one line per host.

    Over plain HTTP from outside `plain_networks`, unless `allow_plain_http`, every request is
    answered `badagent` (dyndns2: "HTTP method not permitted", the client stops until its user
    reconfigures it) before its credentials are read, and no Basic challenge invites them."""

    def __init__(
        self,
        directory: Directory,
        authenticator: Authenticator,
        default_ttl: int,
        policy: p.Policy,
        trusted: Networks,
        guard: AbuseGuard | None = None,
        on_change: Callable[[], None] = lambda: None,
        plain_networks: Networks = (),
        allow_plain_http: bool = True,
    ) -> None:
        super().__init__()
        self.on_change = on_change
        self.directory = directory
        self.authenticator = authenticator
        self.default_ttl = default_ttl
        self.policy = policy
        self.trusted = trusted
        self.guard = guard or AbuseGuard()
        self.plain_networks = plain_networks
        self.allow_plain_http = allow_plain_http

    def render_GET(self, request: Request) -> Any:  # noqa: N802
        defer.ensureDeferred(self._handle(request)).addErrback(self._fault, request)
        return NOT_DONE_YET

    @staticmethod
    def _finish(request: Request, body: str, code: int = 200) -> None:
        metrics.ddns_answer(body)
        _Text._finish(request, body, code)

    render_POST = render_GET

    def _fault(self, failure: Any, request: Request) -> None:
        log.error("ddns update failed: %s", failure.getTraceback())
        self._finish(request, p.SERVER_FAULT + "\n")

    async def _handle(self, request: Request) -> None:
        if not self.allow_plain_http and not credentials_allowed(request, self.plain_networks):
            log.info(
                "ddns: plain HTTP from %s refused (HTTPS, or [ddns] allow_plain_http = true)",
                client_address(request, self.trusted),
            )
            return self._finish(request, p.BADAGENT + "\n")
        if not request.getHeader(b"user-agent"):
            return self._finish(request, p.BADAGENT + "\n")
        args: dict[str, str] = {}
        raw_args: dict[bytes, list[bytes]] = request.args or {}
        for key, values in raw_args.items():
            value = values[0] if values else b""
            if len(value) > p.MAX_PARAM or len(key) > 64:
                return self._finish(request, p.NOTFQDN + "\n")
            args[key.decode("latin-1").lower()] = value.decode("utf-8", "replace")
        creds = basic_credentials(request.getHeader(b"authorization"))
        if creds is None:
            request.setHeader(b"www-authenticate", b'Basic realm="swissbox DDNS"')
            return self._finish(request, p.BADAUTH + "\n", 401)
        user, password = creds
        caller = client_address(request, self.trusted)
        result = await defer.Deferred.fromFuture(
            asyncio.ensure_future(
                self.authenticator.authenticate_async("ddns", user, password, caller)
            )
        )
        if result.busy:
            return self._finish(request, p.SERVER_FAULT + "\n")  # dyndns2: try again later
        if not result.ok:
            return self._finish(request, p.BADAUTH + "\n")
        username = result.identifier or user
        update = p.parse_request(args)
        lines = await threads.deferToThread(self._apply, username, update, caller)
        if any(line.startswith(p.GOOD) for line in lines):
            self.on_change()  # DNS answers from the new records at once
        self._finish(request, "\n".join(lines) + "\n")

    def _apply(self, username: str, update: p.UpdateRequest, caller: str | None) -> list[str]:
        """Runs in a pool thread: reads the user's hosts, plans, writes every change."""
        hosts = {h.hostname: h for h in self.directory.ddns_hosts(username)}
        current: dict[str, dict[str, set[str]]] = {}
        for name in {h.strip().rstrip(".").lower() for h in update.hostnames}:
            host = hosts.get(name)
            if host is None:
                continue
            for record in self.directory.records(host.zone, name):
                if record.type in ("A", "AAAA"):
                    current.setdefault(name, {}).setdefault(record.type, set()).add(record.rdata)
        lines = []
        for outcome in p.plan(update, set(hosts), current, caller, self.policy):
            if outcome.code in (p.GOOD, p.NOCHG) and self.guard.blocked(outcome.hostname):
                lines.append(p.ABUSE)
                continue
            if outcome.code == p.GOOD:
                host = hosts[outcome.hostname]
                try:
                    self.directory.set_ddns_addresses(
                        host, outcome.set_records, self.default_ttl, update.offline
                    )
                except Exception:
                    log.exception("ddns: could not update %s", host.hostname)
                    lines.append(p.DNSERR)
                    continue
                log.info("ddns: %s %s by %s", host.hostname, outcome.line, username)
            if outcome.code in (p.GOOD, p.NOCHG):
                self.guard.record(outcome.hostname, outcome.code == p.GOOD)
            lines.append(outcome.line)
        return lines
