"""swissbox.metrics and its exposition: counting hooks in, Prometheus text format out (read
back with prometheus_client's own parser); the DNS answer description on dnslib packets."""

from __future__ import annotations

import pytest
from dnslib import RCODE, RR, DNSRecord
from prometheus_client.parser import text_string_to_metric_families

from swissbox import metrics
from swissbox.metrics.export import make_registry, render


def samples() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(render(make_registry()).decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def get(name: str, **labels: str) -> float:
    return samples().get((name, frozenset(labels.items())), 0.0)


def answer(name: str, qtype: str, rcode: int = RCODE.NOERROR, opcode: int = 0) -> bytes:
    q = DNSRecord.question(name, qtype)
    q.header.opcode = opcode
    r = q.reply()
    r.header.rcode = rcode
    if rcode == RCODE.NOERROR and opcode == 0:
        r.add_answer(*RR.fromZone(f"{name} 60 IN A 192.0.2.1"))
    return bytes(r.pack())


@pytest.mark.parametrize(
    ("packet", "expected"),
    [
        (answer("www.example.test", "A"), ("A", "NOERROR")),
        (answer("nope.example.test", "AAAA", RCODE.NXDOMAIN), ("AAAA", "NXDOMAIN")),
        (answer("example.test", "MX", RCODE.REFUSED), ("MX", "REFUSED")),
        (answer("example.test", "TYPE4242", RCODE.NOERROR), ("other", "NOERROR")),
        (answer("example.test", "SOA", RCODE.NOTAUTH, opcode=5), ("UPDATE", "NOTAUTH")),
        (b"\x00\x01\x80\x01" + b"\x00" * 8, ("none", "FORMERR")),  # no question
        (b"\x00\x01\x80", ("none", "FORMERR")),  # shorter than a header
        (answer("a." * 60 + "test", "TXT")[:40], ("none", "NOERROR")),  # cut in the name
    ],
    ids=lambda value: "-".join(value) if isinstance(value, tuple) else "packet",
)
def test_describe_answer(packet: bytes, expected: tuple[str, str]) -> None:
    assert metrics.describe_answer(packet[2:]) == expected


def test_dns_tally_is_folded_at_scrape() -> None:
    hit = answer("www.example.test", "A")[2:]
    before = get("swissbox_dns_queries_total", transport="udp", type="A", rcode="NOERROR")
    for _ in range(5):  # what Engine.handle_udp does on a cache hit
        metrics.DNS_ANSWERS[hit] = metrics.DNS_ANSWERS.get(hit, 0) + 1
    metrics.dns_udp_answer(answer("www.example.test", "A"))  # a miss: the same answer
    metrics.dns_udp_answer(None)  # silence: not counted
    after = get("swissbox_dns_queries_total", transport="udp", type="A", rcode="NOERROR")
    assert after - before == 6
    assert metrics.DNS_ANSWERS == {}


def test_dns_tally_folds_itself_when_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "DNS_FOLD_AT", 3)
    for i in range(10):
        metrics.dns_udp_answer(answer(f"h{i}.example.test", "A", RCODE.NXDOMAIN))
        assert len(metrics.DNS_ANSWERS) <= 3


def test_smtp_replies_by_enhanced_code() -> None:
    key = ("swissbox_smtp_refused_total", "unit")
    before = get(key[0], listener="unit", code="550", reason="5.1.1")
    accepted = get("swissbox_smtp_messages_accepted_total", listener="unit")
    metrics.smtp_reply("unit", "550 5.1.1 <x@y>: Recipient address rejected: User unknown")
    metrics.smtp_reply("unit", "250 2.1.5 Recipient OK")  # not a message
    metrics.smtp_reply("unit", "250 2.0.0 OK: queued as ABC")
    metrics.smtp_reply("unit", "500 Error: bad syntax")  # no enhanced code
    assert get(key[0], listener="unit", code="550", reason="5.1.1") - before == 1
    assert get(key[0], listener="unit", code="500", reason="-") >= 1
    assert get("swissbox_smtp_messages_accepted_total", listener="unit") - accepted == 1


def test_histogram_buckets_are_cumulative() -> None:
    h = metrics.Histogram("swissbox_test_seconds", "test", ("k",), (0.1, 1.0))
    try:
        for seconds in (0.05, 0.5, 0.5, 5.0):
            h.observe(seconds, "x")
        assert get("swissbox_test_seconds_bucket", k="x", le="0.1") == 1
        assert get("swissbox_test_seconds_bucket", k="x", le="1.0") == 3
        assert get("swissbox_test_seconds_bucket", k="x", le="+Inf") == 4
        assert get("swissbox_test_seconds_count", k="x") == 4
        assert get("swissbox_test_seconds_sum", k="x") == pytest.approx(6.05)
    finally:
        metrics.METRICS.remove(h)


def test_ddns_answers_and_lockout_scopes() -> None:
    good = get("swissbox_ddns_updates_total", result="good")
    other = get("swissbox_ddns_updates_total", result="other")
    metrics.ddns_answer("good 192.0.2.1\nnochg 192.0.2.2\nsomething odd\n")
    assert get("swissbox_ddns_updates_total", result="good") - good == 1
    assert get("swissbox_ddns_updates_total", result="other") - other == 1
    scopes = ("pair", "identifier", "address")
    before = {s: get("swissbox_auth_lockouts_total", scope=s) for s in scopes}
    metrics.lockouts(
        ["pair\x1fmailbox\x1fa@b\x1f1.2.3.4", "id\x1fmailbox\x1fa@b", "addr\x1f1.2.3.4"]
    )
    assert all(get("swissbox_auth_lockouts_total", scope=s) - before[s] == 1 for s in scopes)


def test_a_failing_gauge_reading_does_not_fail_the_scrape() -> None:
    def broken() -> float:
        raise OSError("gone")

    metrics.gauge("swissbox_test_broken", "test", broken)
    metrics.gauge("swissbox_test_fine", "test", lambda: 7)
    try:
        assert get("swissbox_test_fine") == 7
        assert ("swissbox_test_broken", frozenset()) not in samples()
    finally:
        del metrics.GAUGES["swissbox_test_broken"], metrics.GAUGES["swissbox_test_fine"]


def test_every_name_is_prefixed_and_labels_are_bounded() -> None:
    names = {name for name, _ in samples()}
    assert names and all(n.startswith("swissbox_") for n in names)
    seen = set()
    for qtype in range(0, 65536, 7):  # whatever type a client asks, the label set stays small
        q = DNSRecord.question("x.test", "A")
        q.questions[0].qtype = qtype
        seen.add(metrics.describe_answer(q.reply().pack()[2:])[0])
    assert seen <= {*metrics.QTYPES.values(), "other"} and "other" in seen
