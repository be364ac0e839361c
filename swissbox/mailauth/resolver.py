"""The DNS the mail authentication checks use: an async `Resolver` protocol (tests and callers
pass one in) and its implementation on dnspython's async stub resolver.

`lookup(name, rdtype)` answers the records as text (TXT: the strings of one record joined),
`[]` when the name does not exist or has no such records (NXDOMAIN/NODATA: what RFC 7208
counts as a void lookup), and raises `DnsTempError` for timeouts and server failures.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.resolver


class DnsTempError(Exception):
    """The answer could not be had now (timeout, SERVFAIL, REFUSED): a temperror."""


class Resolver(Protocol):
    async def lookup(self, name: str, rdtype: str) -> list[str]: ...


CACHED_ANSWERS = 10_000


class DnsResolver:
    """dnspython's async resolver on the given servers ((ip, port) pairs), or on the system's
    resolv.conf when none are given. No search domains: every name is absolute.

    Answers found are kept until their TTL runs out, as text, in front of dnspython's own
    cache: asking dnspython's cache costs ~0.3 ms CPU a lookup (building the query, the
    name, the response object), and the MX asks four to six names per message."""

    def __init__(
        self,
        nameservers: list[tuple[str, int]] | None = None,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._answers: OrderedDict[tuple[str, str], tuple[float, list[str]]] = OrderedDict()
        if nameservers:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [
                dns.nameserver.Do53Nameserver(ip, port) for ip, port in nameservers
            ]
        else:
            self._resolver = dns.asyncresolver.Resolver()
        self._resolver.lifetime = timeout
        self._resolver.timeout = min(timeout, 2.0)
        self._resolver.cache = dns.resolver.LRUCache(10_000)

    async def lookup(self, name: str, rdtype: str) -> list[str]:
        qname = name if name.endswith(".") else name + "."
        key = (qname.lower(), rdtype)
        kept = self._answers.get(key)
        if kept is not None:
            if kept[0] > self._clock():
                self._answers.move_to_end(key)
                return list(kept[1])
            del self._answers[key]
        try:
            answer = await self._resolver.resolve(qname, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.YXDOMAIN):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            raise DnsTempError(f"{name} {rdtype}: {exc.__class__.__name__}") from None
        except dns.exception.DNSException as exc:  # a name that cannot be asked (too long...)
            if isinstance(exc, (dns.name.LabelTooLong, dns.name.NameTooLong, dns.name.EmptyLabel)):
                return []
            raise DnsTempError(f"{name} {rdtype}: {exc.__class__.__name__}") from None
        out = []
        for rr in answer:
            if rdtype == "TXT":
                out.append(b"".join(rr.strings).decode("utf-8", "replace"))
            elif rdtype == "MX":
                out.append(rr.exchange.to_text().rstrip("."))
            elif rdtype == "PTR":
                out.append(rr.target.to_text().rstrip("."))
            else:
                out.append(rr.to_text())
        if answer.rrset is not None:
            self._answers[key] = (self._clock() + answer.rrset.ttl, out)
            if len(self._answers) > CACHED_ANSWERS:
                self._answers.popitem(last=False)
        return list(out)
