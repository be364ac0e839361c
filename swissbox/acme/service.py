"""The ACME client while the server runs: a renewal task on the event loop, the HTTP-01
answers on the shared HTTP site, DNS-01 records in our own zones.

The order itself (the `acme` library is synchronous) runs in a worker thread; whatever it needs
of the loop's objects (the challenge table, the directory, ZONE_CHANGED) it reaches through
`run_coroutine_threadsafe`. A failure keeps the certificate being served, is logged, and is
kept in <data>/acme/state.json for `swissbox status`; the next try waits retry_seconds,
doubling up to a day.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.web.resource import Resource
from twisted.web.server import Request

from swissbox.acme.files import AcmeFiles, RenewalState
from swissbox.acme.issue import IssueError, Order, issue
from swissbox.acme.plan import DNS_01, HTTP_01, NamePlan, renewal_reason, retry_delay, wanted_names
from swissbox.directory.mailrecords import canonical
from swissbox.runtime import ZONE_CHANGED, Context
from swissbox.tls import TlsError

log = logging.getLogger("swissbox.acme")
CHALLENGE_TTL = 60
LOOP_CALL_TIMEOUT = 30.0
REQUEST_POLL_SECONDS = 1.0
T = TypeVar("T")


class ChallengeResource(Resource):
    """GET /.well-known/acme-challenge/TOKEN: the key authorization while an order waits."""

    def __init__(self, answers: dict[str, str]) -> None:
        super().__init__()
        self.answers = answers

    def getChild(self, path: bytes, request: Request) -> Resource:  # noqa: N802 (Twisted API)
        return _Answer(self.answers.get(path.decode("ascii", "replace")))

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        request.setResponseCode(404)
        return b"no such challenge\n"


class _Answer(Resource):
    isLeaf = True

    def __init__(self, text: str | None) -> None:
        super().__init__()
        self.text = text

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        request.setHeader(b"content-type", b"text/plain")
        if self.text is None:
            request.setResponseCode(404)
            return b"no such challenge\n"
        return self.text.encode("ascii")


class AcmeService:
    """Keeps <data>/acme/cert.pem valid for the wanted names and the listeners serving it."""

    name = "acme"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.settings = ctx.settings.acme
        self.files = AcmeFiles(ctx.config.data_dir)
        self.answers: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None

    def http_resources(self) -> dict[str, Any]:
        return {".well-known/acme-challenge": ChallengeResource(self.answers)}

    async def start(self) -> list[str]:
        self.withdraw_leftovers()  # before `enabled`: ACME may have been turned off since
        if not self.settings.enabled:
            return []
        self._task = asyncio.ensure_future(self._run())
        return [f"acme {self.settings.challenge} via {self.settings.directory_url}"]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- renewal --------------------------------------------------------------------------

    def plan(self) -> NamePlan:
        d = self.ctx.directory
        mail_domains = [x.name for x in d.domains() if d.is_mail_domain(x.name)]

        def zone_of(name: str) -> str | None:
            zone = d.zone_for(name)
            return zone.name if zone else None

        return wanted_names(
            self.ctx.settings.server.hostname,
            mail_domains,
            self.settings.extra_names,
            self.settings.challenge,
            zone_of,
        )

    async def _run(self) -> None:
        while True:
            request = self.files.take_request()
            try:
                delay = await self.check(request)
            except Exception:  # a bug here must not end renewals for good
                log.exception("acme: renewal check failed")
                delay = self.settings.retry_seconds
            await self._sleep(delay)

    async def _sleep(self, delay: float) -> None:
        """Waits `delay` seconds, or less when `swissbox cert renew` asks (a stat per second)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + delay
        while (left := end - loop.time()) > 0 and not self.files.request.exists():
            await asyncio.sleep(min(REQUEST_POLL_SECONDS, left))

    async def check(self, request: str | None = None) -> float:
        """Renews when due and not backing off, or when asked (request "due": even while
        backing off; "force": even when not due); returns the seconds until the next look."""
        s = self.settings
        state = self.files.state()
        now = time.time()
        if state.next_attempt > now and request is None:
            return min(s.check_seconds, state.next_attempt - now)
        plan = self.plan()
        cert = self.files.certificate()
        names = _names(cert) if cert is not None else None
        reason = renewal_reason(
            names,
            cert.not_valid_after_utc if cert is not None else None,
            plan.names,
            dt.datetime.now(dt.UTC),
            s.renew_days,
        )
        if not plan.names:
            for line in plan.left_out:
                log.warning("acme: left out %s", line)
            if request is not None:
                self._answer(state, "no names to ask for: " + "; ".join(plan.left_out))
            return s.check_seconds
        if reason is None and request == "force":
            reason = "swissbox cert renew --force"
        if reason is None:
            if request is not None:
                self._answer(state, "not due: the certificate is valid and has every name")
            return s.check_seconds
        for line in plan.left_out:
            log.warning("acme: left out %s", line)
        log.info("acme: ordering a certificate for %s (%s)", ", ".join(plan.names), reason)
        done = await self.renew(plan.names, state)
        if request is not None:
            self._answer(state, "renewed" if done else f"failed: {state.last_error}")
        return min(s.check_seconds, max(0.0, self.files.state().next_attempt - time.time()))

    async def renew(self, names: list[str], state: RenewalState) -> bool:
        s = self.settings
        order = Order(
            s.directory_url,
            names,
            s.challenge,
            s.email,
            str(self.ctx.config.relative(s.ca_bundle)) if s.ca_bundle else "",
            # Secondaries need a moment to transfer the zone; without any, the CA asks us.
            s.dns_wait_seconds if self.ctx.settings.dns.notify else 0.0,
        )
        state.last_attempt = time.time()
        loop = asyncio.get_running_loop()
        try:
            key_pem = self.files.account_key_pem()
            issued = await in_thread(issue, order, key_pem, _Responder(self, loop))
            self.files.save_certificate(issued.fullchain_pem, issued.key_pem)
            cert = self.ctx.certs.load(self.files.paths)
        except (IssueError, TlsError, OSError) as exc:
            state.failures += 1
            state.last_error = str(exc)
            state.next_attempt = time.time() + retry_delay(state.failures, s.retry_seconds)
            self.files.save_state(state)
            log.warning(
                "acme: no new certificate (%s); keeping the current one, next try in %.0f s",
                exc,
                state.next_attempt - time.time(),
            )
            return False
        state.failures, state.last_error, state.next_attempt = 0, "", 0.0
        state.last_success = time.time()
        self.files.save_state(state)
        log.info(
            "acme: new certificate for %s, valid until %s, now served",
            ", ".join(names),
            f"{cert.not_valid_after_utc:%Y-%m-%d}",
        )
        return True

    def _answer(self, state: RenewalState, answer: str) -> None:
        state.answered, state.answer = time.time(), answer
        self.files.save_state(state)

    # -- challenges, on the loop ----------------------------------------------------------

    def publish(self, kind: str, domain: str, key: str, value: str) -> None:
        if kind == HTTP_01:
            self.answers[key] = value
            return
        zone, record = self._txt(key, value)
        self.files.save_challenges([*self.files.challenges(), (key, value)])
        self.ctx.directory.change_records(zone, add=[record])
        self.ctx.emit(ZONE_CHANGED)  # answer it now, NOTIFY the secondaries

    def withdraw(self, kind: str, domain: str, key: str, value: str) -> None:
        if kind == HTTP_01:
            self.answers.pop(key, None)
            return
        zone, (name, rtype, _ttl, rdata) = self._txt(key, value)
        self.ctx.directory.change_records(zone, delete=[(name, rtype, rdata)])
        self.files.save_challenges([c for c in self.files.challenges() if c != (key, value)])
        self.ctx.emit(ZONE_CHANGED)

    def withdraw_leftovers(self) -> None:
        """Takes out the DNS-01 records a server stopped mid-order left in its zones (only
        those it published itself: an operator's own `_acme-challenge` records stay)."""
        for key, value in self.files.challenges():
            try:
                self.withdraw(DNS_01, "", key, value)
            except (IssueError, LookupError) as exc:  # zone gone since: nothing left to take
                log.info("acme: challenge record %s no longer in a hosted zone (%s)", key, exc)
                self.files.save_challenges(
                    [c for c in self.files.challenges() if c != (key, value)]
                )
            else:
                log.info("acme: removed the challenge record %s left by an unfinished order", key)

    def _txt(self, name: str, value: str) -> tuple[str, tuple[str, str, int, str]]:
        zone = self.ctx.directory.zone_for(name)
        if zone is None:
            raise IssueError(f"{name}: not in a zone hosted here")
        return zone.name, canonical(name, "TXT", CHALLENGE_TTL, f'"{value}"')


class _Responder:
    """The worker thread's way to the service's publish/withdraw, run on the loop."""

    def __init__(self, service: AcmeService, loop: asyncio.AbstractEventLoop) -> None:
        self.service, self.loop = service, loop

    def _on_loop(self, fn: Callable[..., T], *args: Any) -> T:
        async def call() -> T:
            return fn(*args)

        if not self.loop.is_running():
            raise IssueError("the server is stopping")
        future = asyncio.run_coroutine_threadsafe(call(), self.loop)
        return future.result(LOOP_CALL_TIMEOUT)

    def publish(self, kind: str, domain: str, key: str, value: str) -> None:
        self._on_loop(self.service.publish, kind, domain, key, value)

    def withdraw(self, kind: str, domain: str, key: str, value: str) -> None:
        self._on_loop(self.service.withdraw, kind, domain, key, value)


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a daemon thread of its own: an order may wait minutes on the CA, and must
    neither hold a worker of the shared executor nor keep the process alive at shutdown."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = fn(*args)
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="acme-order", daemon=True).start()
    return await future


def _names(cert: Any) -> list[str]:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [n.lower() for n in san.get_values_for_type(x509.DNSName)]
