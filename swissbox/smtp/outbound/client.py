"""One delivery attempt over SMTP to the routes of one domain (aiosmtplib).

STARTTLS is used whenever offered (opportunistic, without certificate checks, as MTAs do
between each other), unless the recipient domain's MTA-STS policy enforces TLS: then `tls` is
a verifying context, and a route without STARTTLS or without a certificate valid for its host
name is skipped (4.7.5). Every recipient gets the reply that decides it; a route that cannot
be reached, or that fails before RCPT, sends us on to the next route.
"""

from __future__ import annotations

import functools
import logging
import ssl
from dataclasses import dataclass

import aiosmtplib

from swissbox.smtp.outbound.mx import Route

log = logging.getLogger("swissbox.smtp.outbound")


class TlsRequired(aiosmtplib.SMTPException):
    """The route does not offer STARTTLS, and the recipient's policy requires it."""


def _tls_failure(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) is a TLS failure rather than a network one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError | TlsRequired):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True)
class Reply:
    code: int
    text: str
    remote: str

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


@functools.cache
def _context() -> ssl.SSLContext:
    """Built once and shared: creating one loads the system CA store (~20 ms), unused here."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def attempt(
    routes: list[Route],
    port: int,
    helo: str,
    sender: str,
    recipients: list[str],
    data: bytes,
    timeout: float = 60.0,
    tls: ssl.SSLContext | None = None,
) -> dict[str, Reply]:
    """A reply per recipient; temporary 4xx for all when no route could take the message."""
    last = Reply(451, "4.4.1 no mail server could be reached", "")
    for route in routes:
        for address in route.addresses:
            try:
                return await _session(
                    address, route.host, port, helo, sender, recipients, data, timeout, tls
                )
            except aiosmtplib.SMTPResponseException as exc:
                last = Reply(exc.code, exc.message, route.host)
                if exc.code >= 500:
                    return {r: last for r in recipients}  # refused the session or sender for good
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                if tls is not None and _tls_failure(exc):
                    why = f"4.7.5 {route.host} [{address}]: TLS required by MTA-STS failed"
                    last = Reply(451, f"{why} ({exc.__class__.__name__}: {exc})"[:300], route.host)
                else:
                    last = Reply(
                        451, f"4.4.1 {route.host} [{address}]: {exc.__class__.__name__}", route.host
                    )
            log.info("outbound: %s [%s] failed: %s", route.host, address, last)
    return {r: last for r in recipients}


async def _session(
    address: str,
    host: str,
    port: int,
    helo: str,
    sender: str,
    recipients: list[str],
    data: bytes,
    timeout: float,
    tls: ssl.SSLContext | None = None,
) -> dict[str, Reply]:
    client = aiosmtplib.SMTP(
        hostname=address,
        port=port,
        local_hostname=helo,
        timeout=timeout,
        start_tls=False,
        use_tls=False,
        tls_context=_context(),
    )
    await client.connect()
    try:
        await client.ehlo()
        if tls is not None:
            if not client.supports_extension("starttls"):
                raise TlsRequired("STARTTLS not offered")
            await client.starttls(server_hostname=host, tls_context=tls)
            await client.ehlo()
        elif client.supports_extension("starttls"):
            await client.starttls(tls_context=_context())
            await client.ehlo()
        await client.mail(sender)
        replies: dict[str, Reply] = {}
        accepted = []
        for rcpt in recipients:
            try:
                response = await client.rcpt(rcpt)
                replies[rcpt] = Reply(response.code, response.message, host)
                accepted.append(rcpt)
            except aiosmtplib.SMTPRecipientRefused as exc:
                replies[rcpt] = Reply(exc.code, exc.message, host)
        if accepted:
            try:
                response = await client.data(data)
                for rcpt in accepted:
                    replies[rcpt] = Reply(response.code, response.message, host)
            except aiosmtplib.SMTPDataError as exc:
                for rcpt in accepted:
                    replies[rcpt] = Reply(exc.code, exc.message, host)
        return replies
    finally:
        try:
            await client.quit()
        except aiosmtplib.SMTPException:
            client.close()
