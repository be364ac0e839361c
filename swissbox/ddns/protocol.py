"""dyndns2 answers and the pure planning of one update request (no I/O).

`plan(request, owned, current, client_ip, policy)` turns the query parameters into one
`HostOutcome` per requested hostname: the answer line and the record changes to make.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

# Answer codes (https://help.dyn.com/remote-access-api/return-codes/), one line per hostname.
GOOD = "good"
NOCHG = "nochg"
BADAUTH = "badauth"
NOTFQDN = "notfqdn"
NOHOST = "nohost"
NUMHOST = "numhost"  # also Dyn's answer to a round robin (two addresses of one family)
ABUSE = "abuse"
BADAGENT = "badagent"
NOT_DONATOR = "!donator"  # No-IP: "a feature that is not available to that particular user"
DNSERR = "dnserr"  # our own DNS (zone store) failed; clients retry later
SERVER_FAULT = "911"

MAX_HOSTS = 20
MAX_PARAM = 2048  # longer query values are refused before parsing

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BadAddress(ValueError):
    """No address to publish: `code` is the answer (NUMHOST or NOT_DONATOR)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class UpdateRequest:
    hostnames: list[str]
    myip: str | None = None
    myipv6: str | None = None
    offline: bool = False


@dataclass(frozen=True)
class Policy:
    allow_private: bool = True


@dataclass
class HostOutcome:
    """The answer for one hostname and, for `good`, the records to set (type -> address)."""

    hostname: str
    code: str
    addresses: list[IPAddress] = field(default_factory=list)
    set_records: dict[str, str | None] = field(default_factory=dict)  # "A" -> "192.0.2.1" / None

    @property
    def line(self) -> str:
        if self.code in (GOOD, NOCHG) and self.addresses:
            return f"{self.code} {','.join(str(a) for a in self.addresses)}"
        return self.code


def parse_request(args: Mapping[str, str]) -> UpdateRequest:
    """Query parameters (first value of each) -> UpdateRequest; unknown ones are ignored."""
    raw_hosts = args.get("hostname", "")
    hosts = [h.strip() for h in raw_hosts.split(",")] if raw_hosts.strip() else []
    offline = args.get("offline", "NO").strip().upper() == "YES"
    myip = args.get("myip") or None
    myipv6 = args.get("myipv6") or None
    return UpdateRequest(hosts, myip, myipv6, offline)


def _ip(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text.strip().split("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def parse_addresses(
    myip: str | None, myipv6: str | None, client_ip: str | None, policy: Policy
) -> list[IPAddress]:
    """The addresses to publish: myip (one address or a v4,v6 pair) and myipv6.

    Text that is not an IP address is ignored and, when none is left, the client's address is
    used: Dyn's update spec says a myip that is not properly formed is ignored for the server's
    best guess (`dnserr` would tell the client our DNS failed, and make it retry for ever).
    An address that is well formed but refused raises BadAddress: two of one family (a round
    robin, NUMHOST as Dyn answers), or one this server does not publish (NOT_DONATOR: the
    unspecified and multicast addresses, and private ones when the policy forbids them).
    """
    texts = [t for t in (myip or "").split(",") if t.strip()]
    if myipv6 and myipv6.strip():
        texts.append(myipv6)
    given = [ip for ip in map(_ip, texts[:3]) if ip is not None]
    if not given and client_ip:
        given = [ip for ip in [_ip(client_ip)] if ip is not None]
    if not given:
        raise BadAddress(NOT_DONATOR, "no address")
    found: dict[int, IPAddress] = {}
    for ip in given:
        if ip.is_unspecified or ip.is_multicast or ip.is_loopback and not policy.allow_private:
            raise BadAddress(NOT_DONATOR, f"{ip} cannot be published")
        if not policy.allow_private and (ip.is_private or ip.is_reserved or ip.is_link_local):
            raise BadAddress(NOT_DONATOR, f"{ip} is a private or reserved address")
        if ip.version in found and found[ip.version] != ip:
            raise BadAddress(NUMHOST, "two addresses of the same family")
        found[ip.version] = ip
    return [found[v] for v in sorted(found)]


def _valid_fqdn(name: str) -> bool:
    labels = name.rstrip(".").split(".")
    if len(labels) < 2 or len(name) > 253:
        return False
    return all(
        0 < len(label) <= 63
        and label.replace("-", "").isalnum()
        and label.isascii()
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )


def plan(
    request: UpdateRequest,
    owned: set[str],
    current: Mapping[str, Mapping[str, set[str]]],
    client_ip: str | None,
    policy: Policy = Policy(),
) -> list[HostOutcome]:
    """One outcome per requested hostname, in order.

    `owned` are the (normalised) hostnames this user may update; `current[host][type]` the
    addresses published now. Hostnames are matched case-insensitively.
    """
    if not request.hostnames:
        return [HostOutcome("", NOTFQDN)]
    if len(request.hostnames) > MAX_HOSTS:
        return [HostOutcome(h, NUMHOST) for h in request.hostnames[: MAX_HOSTS + 1]]
    addresses: list[IPAddress] = []
    address_error: str | None = None
    if not request.offline:
        try:
            addresses = parse_addresses(request.myip, request.myipv6, client_ip, policy)
        except BadAddress as exc:
            address_error = exc.code
    outcomes = []
    for raw in request.hostnames:
        host = raw.strip().rstrip(".").lower()
        if not _valid_fqdn(host):
            outcomes.append(HostOutcome(raw, NOTFQDN))
            continue
        if host not in owned:
            outcomes.append(HostOutcome(host, NOHOST))
            continue
        if address_error:
            outcomes.append(HostOutcome(host, address_error))
            continue
        now = current.get(host, {})
        if request.offline:
            changes: dict[str, str | None] = {t: None for t in ("A", "AAAA") if now.get(t)}
            outcomes.append(HostOutcome(host, GOOD if changes else NOCHG, [], changes))
            continue
        changes = {}
        for ip in addresses:
            rtype = "A" if ip.version == 4 else "AAAA"
            if now.get(rtype) != {str(ip)}:
                changes[rtype] = str(ip)
        outcomes.append(HostOutcome(host, GOOD if changes else NOCHG, addresses, changes))
    return outcomes
