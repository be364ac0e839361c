"""Pure decisions of the ACME client: which names to ask for, when to renew, how long to back
off after a failure. No I/O and no clock: the caller passes `now`."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Per-domain prefixes the hosted mail domains are reached under (their CNAMEs point at the host
# name): Thunderbird autoconfig, Outlook autodiscover, the MTA-STS policy host. DAV is served on
# the host name itself (the _caldavs/_carddavs SRV targets).
MAIL_DOMAIN_PREFIXES = ("autoconfig.", "autodiscover.", "mta-sts.")
MAX_NAMES = 100  # Let's Encrypt's limit of names on one certificate
MAX_RETRY_SECONDS = 86400.0
HTTP_01, DNS_01 = "http-01", "dns-01"


@dataclass(frozen=True)
class NamePlan:
    """The names to put on the certificate (host name first) and why others were left out."""

    names: list[str]
    left_out: list[str]


def _issuable(name: str) -> str | None:
    """Why a CA will not issue for `name`, or None."""
    bare = name.removeprefix("*.")
    try:
        ipaddress.ip_address(bare)
        return "an IP address"
    except ValueError:
        pass
    if "." not in bare or bare == "localhost" or bare.endswith(".localhost"):
        return "not a public DNS name"
    if "*" in bare:
        return "a wildcard only as the first label"
    return None


def wanted_names(
    hostname: str,
    mail_domains: Iterable[str],
    extra: Iterable[str],
    challenge: str,
    zone_of: Callable[[str], str | None],
) -> NamePlan:
    """The host name, each mail domain's autoconfig./autodiscover./mta-sts. names and `extra`,
    keeping those the CA can issue and `challenge` can prove (dns-01: in a zone hosted here,
    as `zone_of` tells; http-01: no wildcards)."""
    candidates = [hostname]
    for domain in sorted(mail_domains):
        candidates += [prefix + domain for prefix in MAIL_DOMAIN_PREFIXES]
    candidates += list(extra)
    names: list[str] = []
    left_out: list[str] = []
    for raw in candidates:
        name = raw.strip().rstrip(".").lower()
        if not name or name in names:
            continue
        why = _issuable(name)
        if why is None and challenge == HTTP_01 and name.startswith("*."):
            why = "a wildcard needs the dns-01 challenge"
        if why is None and challenge == DNS_01 and zone_of(name.removeprefix("*.")) is None:
            why = "not in a zone hosted here (dns-01 answers only in our own zones)"
        if why is None and len(names) >= MAX_NAMES:
            why = f"more than {MAX_NAMES} names on one certificate"
        if why:
            left_out.append(f"{name}: {why}")
        else:
            names.append(name)
    return NamePlan(names, left_out)


def renewal_reason(
    names: list[str] | None,
    not_after: dt.datetime | None,
    wanted: list[str],
    now: dt.datetime,
    renew_days: int,
) -> str | None:
    """Why the certificate (its names and expiry; None when there is none) must be renewed
    now, or None when it is good as it is."""
    if not wanted:
        return None
    if names is None or not_after is None:
        return "no certificate yet"
    missing = sorted(set(wanted) - set(names))
    if missing:
        return f"names to add: {', '.join(missing)}"
    if not_after - now <= dt.timedelta(days=renew_days):
        return f"expires {not_after:%Y-%m-%d}, within {renew_days} days"
    return None


def retry_delay(failures: int, base: float, cap: float = MAX_RETRY_SECONDS) -> float:
    """Seconds to wait after `failures` failures in a row: base, 2 base, 4 base... up to cap."""
    if failures <= 0:
        return 0.0
    return min(cap, base * 2.0 ** min(failures - 1, 60))
