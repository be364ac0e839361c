"""The dispatcher: opcodes, the wire cache, zone transfer policy."""

from __future__ import annotations

from dnslib import QTYPE, RCODE, DNSRecord

from swissbox.dns.engine import CACHE_LIMIT, Engine
from swissbox.dns.zone import ZoneSet, ZoneView
from tests.unit.dns.kit import ZONE, domain, engine, query, records


def test_cache_hit_patches_id_and_keeps_case():
    e = engine()
    first = e.handle(query("web.example.test", qid=1), "127.0.0.1", False)[0]
    second = e.handle(query("web.example.test", qid=2), "127.0.0.1", False)[0]
    assert first[2:] == second[2:] and second[:2] == b"\x00\x02"
    assert len(e.udp_cache) == 1
    other_case = DNSRecord.parse(e.handle(query("WEB.example.test"), "127.0.0.1", False)[0])
    assert str(other_case.q.qname) == "WEB.example.test."


def test_invalidate_after_zone_change():
    e = engine()
    e.handle(query("new.example.test"), "127.0.0.1", False)
    sample_records = records()
    from swissbox.directory.model import Record
    from swissbox.dns.records import parse_record

    sample_records.append(Record(999, *parse_record(ZONE, "new", "A", "192.0.2.7", 60)))
    e.zones.zones[ZONE] = ZoneView.build(domain(serial=2026010102), sample_records)
    e.invalidate()
    reply = DNSRecord.parse(e.handle(query("new.example.test"), "127.0.0.1", False)[0])
    assert str(reply.rr[0].rdata) == "192.0.2.7"


def test_cache_is_bounded():
    e = engine()
    for i in range(CACHE_LIMIT + 5):
        e.udp_cache[i.to_bytes(4, "big")] = b""
    e.handle(query("web.example.test"), "127.0.0.1", False)
    assert len(e.udp_cache) <= CACHE_LIMIT


def test_unknown_opcodes_notimp_and_update_hook():
    e = engine()
    for opcode in (1, 2, 4, 5, 6):
        q = DNSRecord.question("example.test", "SOA")
        q.header.opcode = opcode
        reply = DNSRecord.parse(e.handle(bytes(q.pack()), "127.0.0.1", False)[0])
        assert reply.header.rcode == RCODE.NOTIMP and reply.header.opcode == opcode
    e.handlers[5] = lambda data, client, tcp: [b"handled"]
    q = DNSRecord.question("example.test", "SOA")
    q.header.opcode = 5
    assert e.handle(bytes(q.pack()), "127.0.0.1", True) == [b"handled"]


def test_errors_are_not_cached():
    e = engine()
    e.handle(b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff", "127.0.0.1", False)
    assert not e.udp_cache


def axfr(e: Engine, client: str, tcp: bool = True, qtype: str = "AXFR") -> list[DNSRecord]:
    return [DNSRecord.parse(m) for m in e.handle(query(ZONE, qtype), client, tcp)]


def test_axfr_refused_unless_allowed():
    assert axfr(engine(), "127.0.0.1")[0].header.rcode == RCODE.REFUSED
    assert axfr(engine(["10.0.0.0/8"]), "127.0.0.1")[0].header.rcode == RCODE.REFUSED


def test_axfr_allowed_over_tcp():
    msgs = axfr(engine(["127.0.0.0/8", "::1"]), "127.0.0.2")
    rrs = [rr for m in msgs for rr in m.rr]
    assert rrs[0].rtype == QTYPE.SOA and rrs[-1].rtype == QTYPE.SOA
    assert all(m.header.aa for m in msgs) and msgs[0].q.qname == ZONE + "."
    assert len(rrs) == len(records()) + 2
    # IPv4-mapped client addresses match IPv4 networks
    assert axfr(engine(["127.0.0.1"]), "::ffff:127.0.0.1")[0].header.rcode == RCODE.NOERROR


def test_axfr_over_udp_refused_ixfr_over_udp_is_soa():
    e = engine(["127.0.0.1"])
    assert axfr(e, "127.0.0.1", tcp=False)[0].header.rcode == RCODE.REFUSED
    ixfr = axfr(e, "127.0.0.1", tcp=False, qtype="IXFR")[0]
    assert [rr.rtype for rr in ixfr.rr] == [QTYPE.SOA]
    full = axfr(e, "127.0.0.1", tcp=True, qtype="IXFR")
    assert sum(len(m.rr) for m in full) == len(records()) + 2


def test_big_transfer_is_split_into_messages():
    from swissbox.directory.model import Record
    from swissbox.dns.records import parse_record

    recs = [Record(i, *parse_record(ZONE, f"h{i}", "A", "192.0.2.1", 60)) for i in range(3000)]
    e = Engine(ZoneSet({ZONE: ZoneView.build(domain(), recs)}))
    e.policy.networks = engine(["127.0.0.1"]).policy.networks
    msgs = list(e.handle(query(ZONE, "AXFR"), "127.0.0.1", True))
    assert len(msgs) > 1 and all(len(m) < 65535 for m in msgs)
    assert sum(len(DNSRecord.parse(m).rr) for m in msgs) == 3002


def test_referral_ds_follows_do_on_the_cached_paths():
    """The wire table and the exact cache must not serve one DO shape's referral to another."""
    from tests.unit.dns.test_resolver import signed_resolver

    e = engine()
    e.resolver.zones = signed_resolver().zones
    e.invalidate()
    while e.warm_step():
        pass
    for _ in range(2):  # second round: from the caches
        for do, want in ((False, ["NS", "NS"]), (True, ["NS", "NS", "DS"])):
            for edns in (True,) if do else (False, True):
                out = e.handle(query("host.sub.example.test", edns=edns, do=do), "127.0.0.1", False)
                reply = DNSRecord.parse(out[0])
                assert [QTYPE[rr.rtype] for rr in reply.auth] == want, (do, edns)
