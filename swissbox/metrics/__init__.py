"""The process's metrics: tiny counting functions that protocols call, kept in plain dicts
and turned into Prometheus families only when scraped (`metrics.export`).

Core tier, imports nothing of swissbox and not `prometheus_client` (the CLI imports the
auth code that counts here; it should not pay for the exporter). Counting takes a lock
(hooks run on the event loop and in worker threads); the DNS hot path instead bumps
`DNS_ANSWERS`, a dict keyed by the answer's bytes, without a lock or a call (the loop
thread alone writes it), folded into `dns_queries` at scrape time.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable

_lock = threading.Lock()

now = time.perf_counter  # the clock latency hooks measure with


class Counter:
    """A counter per tuple of label values."""

    kind = "counter"

    def __init__(self, name: str, help: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.labels = name, help, labels
        self.values: dict[tuple[str, ...], float] = {}
        METRICS.append(self)

    def inc(self, *labels: str, amount: float = 1) -> None:
        with _lock:
            self.values[labels] = self.values.get(labels, 0) + amount

    def value(self, *labels: str) -> float:
        return self.values.get(labels, 0)


class Gauge(Counter):
    kind = "gauge"

    def dec(self, *labels: str) -> None:
        self.inc(*labels, amount=-1)


class Histogram:
    """Observations per tuple of label values: cumulative-later bucket counts, sum, count."""

    kind = "histogram"

    def __init__(
        self, name: str, help: str, labels: tuple[str, ...], buckets: tuple[float, ...]
    ) -> None:
        self.name, self.help, self.labels, self.buckets = name, help, labels, buckets
        # labels -> [count per bucket (+Inf last), sum]
        self.values: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}
        METRICS.append(self)

    def observe(self, seconds: float, *labels: str) -> None:
        i = bisect_left(self.buckets, seconds)
        with _lock:
            entry = self.values.get(labels)
            if entry is None:
                entry = self.values[labels] = ([0] * (len(self.buckets) + 1), [0.0])
            entry[0][i] += 1
            entry[1][0] += seconds


METRICS: list[Counter | Histogram] = []
LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

connections = Counter("swissbox_connections", "Connections accepted", ("protocol",))
connections_open = Gauge("swissbox_connections_open", "Connections open now", ("protocol",))
smtp_accepted = Counter(
    "swissbox_smtp_messages_accepted", "Messages answered 250 after DATA", ("listener",)
)
smtp_refused = Counter(
    "swissbox_smtp_refused",
    "SMTP replies refusing something (4xx/5xx), by enhanced status code",
    ("listener", "code", "reason"),
)
deliveries = Counter(
    "swissbox_deliveries",
    "Recipients delivered: local (mail store) and remote (outbound queue runner)",
    ("kind", "result"),
)
bounces = Counter("swissbox_bounces", "Delivery status notifications (bounces) sent")
delivery_seconds = Histogram(
    "swissbox_delivery_seconds",
    "Time to deliver a message: local = durable in the mail store, remote = one attempt",
    ("kind",),
    LATENCY,
)
imap_command_seconds = Histogram(
    "swissbox_imap_command_seconds",
    "Time from an IMAP command's arrival to its tagged answer (IDLE excluded)",
    ("command",),
    LATENCY,
)
dns_queries = Counter(
    "swissbox_dns_queries", "DNS messages answered", ("transport", "type", "rcode")
)
ddns_updates = Counter("swissbox_ddns_updates", "dyndns2 answers per host line", ("result",))
auth_failures = Counter("swissbox_auth_failures", "Failed logins", ("realm", "reason"))
auth_lockouts = Counter(
    "swissbox_auth_lockouts",
    "Lockouts decided: pair = identifier from one address, identifier = from everywhere,"
    " address = every identifier from one address",
    ("scope",),
)

# -- the DNS hot path ----------------------------------------------------------------------

# answer bytes after the ID -> how many times sent over UDP. The engine bumps it inline
# (`t[a] = t.get(a, 0) + 1` on the cached answer object, whose hash Python keeps), the
# scrape folds it (a bounded number of distinct answers: `fold_dns` past DNS_FOLD_AT).
DNS_ANSWERS: dict[bytes, int] = {}
DNS_FOLD_AT = 10_000  # a fold of this many takes ~10 ms (bench/dns/metrics_hook_bench.py)
RCODES: tuple[str, ...] = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED")
RCODES += ("YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE")
QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT"}
QTYPES |= {28: "AAAA", 29: "LOC", 33: "SRV", 35: "NAPTR", 43: "DS", 46: "RRSIG", 47: "NSEC"}
QTYPES |= {48: "DNSKEY", 50: "NSEC3", 52: "TLSA", 64: "SVCB", 65: "HTTPS", 99: "SPF"}
QTYPES |= {251: "IXFR", 252: "AXFR", 255: "ANY", 256: "URI", 257: "CAA"}
OPCODES = {0: "", 4: "NOTIFY", 5: "UPDATE"}


def describe_answer(tail: bytes) -> tuple[str, str]:
    """(type, rcode) of a DNS answer given without its 2-byte ID: the question's type (for
    UPDATE/NOTIFY the opcode's name), 'other' for types outside a fixed list (the label set
    stays bounded whatever clients ask)."""
    if len(tail) < 10:
        return "none", "FORMERR"
    rcode = tail[1] & 0x0F
    rcode_name = RCODES[rcode] if rcode < len(RCODES) else "other"
    opcode = (tail[0] >> 3) & 0x0F
    if opcode:
        return OPCODES.get(opcode) or "other", rcode_name
    if tail[2:4] == b"\0\0":
        return "none", rcode_name
    pos = 10
    while pos < len(tail):
        n = tail[pos]
        if n == 0 or n & 0xC0:
            pos += 1 if n == 0 else 2
            break
        pos += 1 + n
    if pos + 2 > len(tail):
        return "none", rcode_name
    return QTYPES.get(int.from_bytes(tail[pos : pos + 2], "big"), "other"), rcode_name


def fold_dns() -> None:
    """Moves `DNS_ANSWERS` into `dns_queries` (on the event loop: the only writer)."""
    if not DNS_ANSWERS:
        return
    tally = dict(DNS_ANSWERS)
    DNS_ANSWERS.clear()
    totals: dict[tuple[str, str], int] = {}
    for tail, n in tally.items():
        key = describe_answer(tail)
        totals[key] = totals.get(key, 0) + n
    for (qtype, rcode), n in totals.items():
        dns_queries.inc("udp", qtype, rcode, amount=n)


def dns_udp_answer(answer: bytes | None) -> None:
    """A UDP answer made on the slow path (not a cache hit): counted like the hits."""
    if answer is not None:
        if len(DNS_ANSWERS) >= DNS_FOLD_AT:
            fold_dns()
        tail = bytes(answer[2:])
        DNS_ANSWERS[tail] = DNS_ANSWERS.get(tail, 0) + 1


def dns_tcp_answers(answers: object) -> None:
    """The answers to one TCP message (a list, or an iterator for a zone transfer)."""
    if isinstance(answers, list):
        if answers:
            dns_queries.inc("tcp", *describe_answer(answers[0][2:]))
    else:
        dns_queries.inc("tcp", "AXFR", "NOERROR")


# -- hooks ---------------------------------------------------------------------------------


def opened(protocol: str) -> None:
    """A connection was accepted (pair with `closed`)."""
    connections.inc(protocol)
    connections_open.inc(protocol)


def closed(protocol: str) -> None:
    connections_open.dec(protocol)


def smtp_reply(listener: str, reply: str) -> None:
    """Every SMTP reply sent: a 4xx/5xx counts as refused by its enhanced code, a 250 to
    DATA ('250 2.0.0 OK: queued/delivered as ...') as an accepted message."""
    first = reply[:1]
    if first == "4" or first == "5":
        parts = reply.split(" ", 2)
        reason = parts[1] if len(parts) > 1 and parts[1][:2] in ("4.", "5.") else "-"
        smtp_refused.inc(listener, reply[:3], reason)
    elif reply.startswith("250 2.0.0 OK: "):
        smtp_accepted.inc(listener)


def delivered(kind: str, result: str, count: int = 1) -> None:
    if count:
        deliveries.inc(kind, result, amount=count)


def delivery_time(kind: str, started: float) -> None:
    """`started` is a `now()` taken when the delivery began."""
    delivery_seconds.observe(now() - started, kind)


def bounced() -> None:
    bounces.inc()


def imap_command(name: bytes, started: float) -> None:
    """A tagged answer to `name`, which arrived at `started` (0: not timed)."""
    if started and name != b"IDLE":
        imap_command_seconds.observe(now() - started, name.decode("ascii", "replace"))


DDNS_RESULTS: tuple[str, ...] = ("good", "nochg", "badauth", "notfqdn", "nohost", "numhost")
DDNS_RESULTS += ("abuse",)
DDNS_RESULTS += ("badagent", "dnserr", "911")


def ddns_answer(body: str) -> None:
    """A /nic/update answer: one result per line (`good 192.0.2.1`, `badauth`, ...)."""
    for line in body.splitlines():
        word = line.split(" ", 1)[0]
        if word:
            ddns_updates.inc(word if word in DDNS_RESULTS else "other")


def auth_failure(realm: str, reason: str) -> None:
    """`reason`: 'wrong' (unknown identifier or wrong secret) or 'locked'."""
    auth_failures.inc(realm, reason)


def lockouts(keys: Iterable[str]) -> None:
    """Lockouts decided now, by their limiter keys ('pair'/'id'/'addr' + separator + ...)."""
    for key in keys:
        scope = key.split("\x1f", 1)[0]
        auth_lockouts.inc({"id": "identifier", "addr": "address"}.get(scope, scope))


# -- values read at scrape time --------------------------------------------------------------

# name -> (help, function returning the value), e.g. the queue's size, set by the server
GAUGES: dict[str, tuple[str, Callable[[], float]]] = {}


def gauge(name: str, help: str, read: Callable[[], float]) -> None:
    GAUGES[name] = (help, read)
