"""The pure resolver, fed with built packets: every answering rule of the issue."""

from __future__ import annotations

import struct

import pytest
from dnslib import EDNS0, QTYPE, RCODE, DNSRecord, EDNSOption

from swissbox.directory.model import Record
from swissbox.dns.resolver import OUR_PAYLOAD, Resolver, header_response, parse_query
from swissbox.dns.zone import ZoneSet, ZoneView
from tests.unit.dns.kit import ZONE, ask, domain, query, records, resolver

R = resolver()


def names(rrs: list) -> list[str]:
    return [str(rr.rname) for rr in rrs]


def types(rrs: list) -> list[str]:
    return [QTYPE[rr.rtype] for rr in rrs]


def opt_of(reply: DNSRecord):
    opts = [rr for rr in reply.ar if rr.rtype == QTYPE.OPT]
    assert len(opts) <= 1
    return opts[0] if opts else None


def test_authoritative_answer_sets_aa_never_ra():
    reply = ask(R, "web.example.test", "A")
    assert reply.header.rcode == RCODE.NOERROR
    assert reply.header.aa == 1 and reply.header.ra == 0 and reply.header.qr == 1
    assert reply.header.id == 4242 and reply.header.rd == 1
    assert [str(rr.rdata) for rr in reply.rr] == ["192.0.2.80"]
    assert reply.rr[0].ttl == 300


def test_rd_clear_is_echoed_clear():
    assert ask(R, "web.example.test", "A", rd=False).header.rd == 0


def test_question_case_is_echoed():
    reply = ask(R, "WeB.ExAmple.TEST", "A")
    assert str(reply.q.qname) == "WeB.ExAmple.TEST."
    assert names(reply.rr) == ["WeB.ExAmple.TEST."]


def test_outside_every_zone_is_refused():
    for name in ("example.org", "test", ".", "notexample.test"):
        reply = ask(R, name, "A")
        assert reply.header.rcode == RCODE.REFUSED, name
        assert reply.header.aa == 0 and not reply.rr


def test_nxdomain_has_soa_with_negative_ttl():
    reply = ask(R, "nope.example.test", "A")
    assert reply.header.rcode == RCODE.NXDOMAIN and reply.header.aa == 1
    assert not reply.rr and types(reply.auth) == ["SOA"]
    soa = reply.auth[0]
    assert str(soa.rname) == "example.test."
    assert soa.ttl == 600  # min(SOA TTL 3600, MINIMUM 600)
    assert soa.rdata.times[0] == 2026010101


def test_nodata_for_existing_name():
    reply = ask(R, "mx.example.test", "AAAA")
    assert reply.header.rcode == RCODE.NOERROR and not reply.rr
    assert types(reply.auth) == ["SOA"] and reply.auth[0].ttl == 600


def test_empty_non_terminal_is_nodata():
    for name in ("b.c.example.test", "c.example.test"):
        reply = ask(R, name, "A")
        assert reply.header.rcode == RCODE.NOERROR, name
        assert not reply.rr and types(reply.auth) == ["SOA"]


def test_apex_soa_ns_mx_and_additional():
    soa = ask(R, "example.test", "SOA")
    assert types(soa.rr) == ["SOA"] and str(soa.rr[0].rdata.mname) == "ns1.example.test."
    ns = ask(R, "example.test", "NS")
    assert sorted(str(rr.rdata) for rr in ns.rr) == ["ns1.example.test.", "ns2.elsewhere.test."]
    assert sorted(types(ns.ar)) == ["A", "AAAA"]  # glue for the in-zone name server
    mx = ask(R, "example.test", "MX")
    assert str(mx.rr[0].rdata) == "10 mx.example.test."
    assert [(str(rr.rname), str(rr.rdata)) for rr in mx.ar] == [("mx.example.test.", "192.0.2.25")]


def test_record_types():
    assert str(ask(R, "_imaps._tcp.example.test", "SRV").rr[0].rdata) == "0 1 993 mx.example.test."
    assert ask(R, "example.test", "CAA").rr[0].rdata.toZone() == '0 issue "ca.example"'
    assert ask(R, "example.test", "TXT").rr[0].rdata.data == [b"v=spf1 mx -all"]
    assert ask(R, "ns1.example.test", "AAAA").rr[0].rdata.toZone() == "2001:db8::53"
    assert ask(R, "svc.example.test", "HTTPS").rr[0].rdata.toZone() == "1 . alpn=h2,h3"


def test_txt_over_255_bytes_is_several_strings():
    reply = ask(R, "big.example.test", "TXT", tcp=True)
    assert [len(s) for s in reply.rr[0].rdata.data] == [250] * 8


def test_cname_chain_followed_inside_zone():
    reply = ask(R, "Chain1.example.test", "A")
    assert reply.header.rcode == RCODE.NOERROR and reply.header.aa == 1
    assert types(reply.rr) == ["CNAME", "CNAME", "CNAME", "A"]
    assert names(reply.rr) == [
        "Chain1.example.test.",
        "chain2.example.test.",
        "www.example.test.",
        "web.example.test.",
    ]


def test_cname_query_for_cname_type_returns_only_it():
    reply = ask(R, "www.example.test", "CNAME")
    assert types(reply.rr) == ["CNAME"]


def test_cname_out_of_zone_stops():
    reply = ask(R, "out.example.test", "A")
    assert reply.header.rcode == RCODE.NOERROR
    assert types(reply.rr) == ["CNAME"] and not reply.auth


def test_cname_to_missing_name_gives_nxdomain_rfc6604():
    reply = ask(R, "dangling.example.test", "A")
    assert reply.header.rcode == RCODE.NXDOMAIN
    assert types(reply.rr) == ["CNAME"] and types(reply.auth) == ["SOA"]


def test_cname_to_nodata_keeps_soa():
    reply = ask(R, "www.example.test", "MX")
    assert reply.header.rcode == RCODE.NOERROR
    assert types(reply.rr) == ["CNAME"] and types(reply.auth) == ["SOA"]


def test_cname_loop_is_cut():
    reply = ask(R, "loop1.example.test", "A")
    assert reply.header.rcode == RCODE.NOERROR
    assert types(reply.rr) == ["CNAME", "CNAME"]


def test_wildcard_synthesis_uses_query_name():
    reply = ask(R, "Any.Thing.wild.example.test", "TXT")
    assert reply.header.rcode == RCODE.NOERROR and reply.header.aa == 1
    assert names(reply.rr) == ["Any.Thing.wild.example.test."]
    assert reply.rr[0].rdata.data == [b"wildcard"]


def test_wildcard_nodata_for_missing_type():
    reply = ask(R, "x.wild.example.test", "MX")
    assert reply.header.rcode == RCODE.NOERROR and not reply.rr and types(reply.auth) == ["SOA"]


def test_wildcard_not_applied_where_name_exists():
    reply = ask(R, "exists.wild.example.test", "A")  # exists with MX only
    assert reply.header.rcode == RCODE.NOERROR and not reply.rr
    reply = ask(R, "ent.wild.example.test", "A")  # empty non-terminal
    assert reply.header.rcode == RCODE.NOERROR and not reply.rr
    # below an existing name the closest encloser is that name: no wildcard there
    reply = ask(R, "x.ent.wild.example.test", "A")
    assert reply.header.rcode == RCODE.NXDOMAIN


def test_wildcard_owner_itself_and_parent():
    assert ask(R, "*.wild.example.test", "A").rr[0].rdata.toZone() == "192.0.2.99"
    reply = ask(R, "wild.example.test", "A")  # the parent is an empty non-terminal
    assert reply.header.rcode == RCODE.NOERROR and not reply.rr


def test_delegation_is_a_referral_with_glue():
    for name in ("sub.example.test", "host.sub.example.test", "a.b.sub.example.test"):
        reply = ask(R, name, "A")
        assert reply.header.rcode == RCODE.NOERROR, name
        assert reply.header.aa == 0 and not reply.rr
        assert "NS" in types(reply.auth)
        assert all(str(rr.rname) == "sub.example.test." for rr in reply.auth)
        assert [(str(rr.rname), str(rr.rdata)) for rr in reply.ar] == [
            ("ns.sub.example.test.", "192.0.2.54")
        ]


def test_ds_at_delegation_is_answered_by_parent():
    reply = ask(R, "sub.example.test", "DS")
    assert reply.header.aa == 1 and types(reply.rr) == ["DS"]


def signed_resolver() -> Resolver:
    """The sample zone with a DNSKEY at its apex: a (pre)signed zone for RFC 4035 purposes."""
    rows = records()
    rows.append(Record(999, ZONE, "DNSKEY", 300, "257 3 8 " + "AwEAAa" * 8))
    return Resolver(ZoneSet({ZONE: ZoneView.build(domain(), rows)}))


@pytest.mark.parametrize("name", ["sub.example.test", "host.sub.example.test"])
def test_referral_carries_ds_only_with_do_in_a_signed_zone(name: str) -> None:
    """RFC 4035 3.1 and 3.1.4: DS goes with a referral only when DO is set, and only from a
    signed zone (ours are unsigned unless a DNSKEY sits at the apex): what NSD and Knot do."""
    for r in (R, signed_resolver()):
        for kw in ({}, {"edns": True}, {"edns": True, "do": False}):
            reply = ask(r, name, "A", **kw)
            assert types(reply.auth) == ["NS", "NS"], kw
    reply = ask(R, name, "A", edns=True, do=True)
    assert types(reply.auth) == ["NS", "NS"]  # unsigned zone: no DS even with DO
    reply = ask(signed_resolver(), name, "A", edns=True, do=True)
    assert types(reply.auth) == ["NS", "NS", "DS"]
    assert ask(R, "sub.example.test", "DS").rr  # asked for, DS is always answered


def test_any_is_minimal():
    reply = ask(R, "example.test", "ANY")
    assert reply.header.rcode == RCODE.NOERROR and len({rr.rtype for rr in reply.rr}) == 1
    assert ask(R, "www.example.test", "ANY").rr[0].rtype == QTYPE.CNAME
    assert ask(R, "nope.example.test", "ANY").header.rcode == RCODE.NXDOMAIN


# -- EDNS ------------------------------------------------------------------------------------------


def test_edns_is_echoed_with_our_payload():
    reply = ask(R, "web.example.test", "A", edns=True, size=4096)
    opt = opt_of(reply)
    assert opt is not None and opt.rclass == OUR_PAYLOAD and opt.ttl == 0
    assert opt_of(ask(R, "web.example.test", "A")) is None  # no EDNS in, none out


def test_do_bit_echoed():
    reply = ask(R, "web.example.test", "A", edns=True, do=True)
    assert opt_of(reply).ttl & 0x8000


def test_edns_version_above_zero_gets_badvers():
    reply = ask(R, "web.example.test", "A", edns=True, version=1)
    opt = opt_of(reply)
    rcode = (opt.ttl >> 24) << 4 | reply.header.rcode
    assert rcode == 16 and not reply.rr
    assert (opt.ttl >> 16) & 0xFF == 0  # we speak version 0


def test_unknown_edns_options_and_flags_ignored():
    packet = query("web.example.test", "A", edns=True, opts=[EDNSOption(65001, b"xyz")])
    reply = DNSRecord.parse(R.respond(packet))
    assert reply.header.rcode == RCODE.NOERROR and len(reply.rr) == 1
    assert not opt_of(reply).rdata  # options are not echoed
    q = DNSRecord.question("web.example.test", "A")
    q.add_ar(EDNS0(udp_len=1232, flags="do"))
    q.ar[0].ttl |= 0x4000  # an unknown flag bit
    assert DNSRecord.parse(R.respond(bytes(q.pack()))).header.rcode == RCODE.NOERROR


def test_two_opt_records_are_formerr():
    q = DNSRecord.question("web.example.test", "A")
    q.add_ar(EDNS0(udp_len=1232))
    q.add_ar(EDNS0(udp_len=1232))
    assert DNSRecord.parse(R.respond(bytes(q.pack()))).header.rcode == RCODE.FORMERR


def test_truncation_without_edns_and_complete_over_tcp():
    reply = ask(R, "big.example.test", "TXT")
    assert reply.header.tc == 1 and not reply.rr and reply.header.rcode == RCODE.NOERROR
    full = ask(R, "big.example.test", "TXT", tcp=True)
    assert full.header.tc == 0 and len(full.rr) == 1


def test_truncation_respects_client_size_and_our_cap():
    small = R.respond(query("big.example.test", "TXT", edns=True, size=600))
    assert DNSRecord.parse(small).header.tc == 1 and len(small) <= 600
    assert opt_of(DNSRecord.parse(small)) is not None  # OPT kept when truncated
    # 8 * 251 bytes do not fit our 1232 cap even when the client offers 4096
    assert ask(R, "big.example.test", "TXT", edns=True, size=4096).header.tc == 1
    fits = ask(R, "web.example.test", "A", edns=True, size=512)
    assert fits.header.tc == 0


def test_optional_additional_dropped_before_truncating():
    from swissbox.dns.resolver import Answer, parse_query

    q = parse_query(query("example.test", "MX"))
    found = R.lookup(q.question.qname, q.key, QTYPE.MX)
    assert isinstance(found, Answer) and found.additional
    found.additional = found.additional * 40  # too big for 512 bytes
    reply = DNSRecord.parse(R.pack(q, found))
    assert reply.header.tc == 0 and len(reply.rr) == 1 and not reply.ar


# -- malformed and special -------------------------------------------------------------------------


def test_short_packets_get_silence():
    for data in (b"", b"\x00", b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00"):
        assert R.respond(data) is None


def test_responses_are_never_answered():
    packet = bytearray(query("web.example.test"))
    packet[2] |= 0x80
    assert R.respond(bytes(packet)) is None


def test_garbage_after_header_is_formerr_with_id():
    data = b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05abc"
    out = R.respond(data)
    assert out is not None
    qid, flags = struct.unpack_from("!HH", out)
    assert qid == 0xABCD and flags & 0x8000 and flags & 0xF == RCODE.FORMERR
    assert flags & 0x0100  # RD echoed


def test_no_question_or_two_questions_is_formerr():
    q = DNSRecord(q=None)
    q.header.id = 7
    assert DNSRecord.parse(R.respond(bytes(q.pack()))).header.rcode == RCODE.FORMERR
    q = DNSRecord.question("web.example.test")
    q.add_question(*DNSRecord.question("mx.example.test").questions)
    assert DNSRecord.parse(R.respond(bytes(q.pack()))).header.rcode == RCODE.FORMERR


def test_other_class_refused_and_meta_types_formerr():
    q = DNSRecord.question("web.example.test", "A", "CH")
    assert DNSRecord.parse(R.respond(bytes(q.pack()))).header.rcode == RCODE.REFUSED
    q = DNSRecord.question("web.example.test", "OPT")
    assert DNSRecord.parse(R.respond(bytes(q.pack()))).header.rcode == RCODE.FORMERR


@pytest.mark.parametrize("opcode", [1, 2, 3, 6, 15])
def test_header_response_notimp_shape(opcode):
    q = DNSRecord.question("web.example.test")
    q.header.opcode = opcode
    out = header_response(bytes(q.pack()), RCODE.NOTIMP)
    reply = DNSRecord.parse(out)
    assert reply.header.opcode == opcode and reply.header.rcode == RCODE.NOTIMP
    assert reply.header.rd == 0  # RD is defined for QUERY only (ISC genreport "opcodeflg")


def test_parse_query_reads_edns_shape():
    q = parse_query(query("web.example.test", "A", edns=True, size=300, do=True))
    assert q.edns and q.udp_size == 512 and q.do  # sizes below 512 count as 512


def test_wildcard_cname_and_wildcard_below_cut():
    from swissbox.directory.model import Record
    from swissbox.dns.records import parse_record
    from swissbox.dns.zone import ZoneSet, ZoneView
    from tests.unit.dns.kit import ZONE, domain, records

    extra = [("*.alias", "CNAME", "web"), ("*.sub", "A", "192.0.2.66")]
    recs = records() + [
        Record(900 + i, *parse_record(ZONE, n, t, v, 60)) for i, (n, t, v) in enumerate(extra)
    ]
    r = type(R)(ZoneSet({ZONE: ZoneView.build(domain(), recs)}))
    reply = ask(r, "x.alias.example.test", "A")
    assert names(reply.rr) == ["x.alias.example.test.", "web.example.test."]
    assert types(reply.rr) == ["CNAME", "A"]
    below = ask(r, "x.sub.example.test", "A")  # the delegation wins over data below it
    assert below.header.aa == 0 and not below.rr and "NS" in types(below.auth)
