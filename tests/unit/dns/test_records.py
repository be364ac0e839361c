"""Input validation and canonical rdata (records.py) and master files (masterfile.py)."""

from __future__ import annotations

import pytest

from swissbox.directory.model import Record
from swissbox.dns.masterfile import conflicts, parse_ttl, read_zone, write_zone
from swissbox.dns.records import RecordError, parse_record, quote, rdata_to_rd, tokenize
from tests.unit.dns.kit import domain

Z = "example.test"


@pytest.mark.parametrize(
    ("name", "rtype", "value", "expected"),
    [
        ("@", "MX", "10 mx", ("example.test", "MX", "10 mx.example.test.")),
        ("WWW", "cname", "Web", ("www.example.test", "CNAME", "web.example.test.")),
        ("www.example.test.", "A", "192.0.2.1", ("www.example.test", "A", "192.0.2.1")),
        ("*.x", "A", "192.0.2.1", ("*.x.example.test", "A", "192.0.2.1")),
        ("v6", "AAAA", "2001:DB8:0::1", ("v6.example.test", "AAAA", "2001:db8::1")),
        ("@", "TXT", "v=spf1 mx -all", ("example.test", "TXT", '"v=spf1 mx -all"')),
        ("@", "TXT", '"a" "b c"', ("example.test", "TXT", '"a" "b c"')),
        ("@", "TXT", '"say \\"hi\\""', ("example.test", "TXT", '"say \\"hi\\""')),
        ("@", "CAA", '0 issue "ca.example"', ("example.test", "CAA", '0 issue "ca.example"')),
        (
            "_s._tcp",
            "SRV",
            "0 1 587 mx",
            ("_s._tcp.example.test", "SRV", "0 1 587 mx.example.test."),
        ),
        ("@", "MX", "0 .", ("example.test", "MX", "0 .")),
        ("r", "PTR", "host.other.test.", ("r.example.test", "PTR", "host.other.test.")),
        (
            "d",
            "DS",
            "1 8 1 " + "ab" * 10 + " " + "CD" * 10,
            ("d.example.test", "DS", "1 8 1 " + "AB" * 10 + "CD" * 10),
        ),
        ("s", "HTTPS", "1 web alpn=h2", ("s.example.test", "HTTPS", "1 web.example.test. alpn=h2")),
        (
            "_dns",
            "SVCB",
            "1 web port=853",
            ("_dns.example.test", "SVCB", "1 web.example.test. port=853"),
        ),
    ],
)
def test_canonical_forms(name, rtype, value, expected):
    owner, t, ttl, rdata = parse_record(Z, name, rtype, value, 300)
    assert (owner, t, rdata) == expected and ttl == 300
    rdata_to_rd(t, rdata)


def test_long_txt_is_split_into_255_byte_strings():
    _, _, _, rdata = parse_record(Z, "@", "TXT", "x" * 600, 60)
    assert [len(s) for s, _ in tokenize(rdata)] == [255, 255, 90]
    rd = rdata_to_rd("TXT", rdata)
    assert [len(s) for s in rd.data] == [255, 255, 90]


def test_quote_round_trip():
    raw = b'a"b\\c\x00\xff tab\t'
    assert tokenize(quote(raw)) == [(raw, True)]


@pytest.mark.parametrize(
    ("name", "rtype", "value", "message"),
    [
        ("x.other.test.", "A", "192.0.2.1", "outside the zone"),
        ("a..b", "A", "192.0.2.1", "empty label"),
        ("x.*", "A", "192.0.2.1", "label"),
        ("@", "A", "192.0.2", "not an IPv4"),
        ("@", "A", "2001:db8::1", "not an IPv4"),
        ("@", "AAAA", "192.0.2.1", "not an IPv6"),
        ("@", "MX", "mx", "PREFERENCE EXCHANGE"),
        ("@", "MX", "70000 mx", "0 to 65535"),
        ("@", "SRV", "0 1 mx", "PRIORITY"),
        ("@", "SOA", "a b 1 2 3 4 5", "SOA"),
        ("@", "NULL", "x", "not supported"),
        ("@", "CAA", "0 is-sue x", "CAA tag"),
        ("@", "CNAME", "a..b", "empty label"),
        ("@", "TXT", '"unterminated', "unterminated"),
        ("@", "DS", "1 8 2 xyz", "hexadecimal"),
        ("@", "DS", "1 8 2 abcd", "32 bytes"),
        ("*.w", "NS", "ns", "wildcard"),
    ],
)
def test_invalid_input_refused(name, rtype, value, message):
    with pytest.raises(RecordError, match=message):
        parse_record(Z, name, rtype, value, 300)


DS_VALUE = "12345 8 2 " + "AB" * 32


def test_ds_at_the_apex_is_refused():
    """A DS belongs to the parent zone; a secondary (BIND) rejects a zone with one at its apex."""
    for owner in ("@", Z + "."):
        with pytest.raises(RecordError, match="parent zone"):
            parse_record(Z, owner, "DS", DS_VALUE, 300)
    with pytest.raises(RecordError, match="parent zone"):
        read_zone(f"@ 300 IN DS {DS_VALUE}\n", Z)
    assert parse_record(Z, "child", "DS", DS_VALUE, 300)[0] == "child." + Z  # a delegation's


def test_bad_ttl_refused():
    for ttl in (-1, 2**31):
        with pytest.raises(RecordError, match="TTL"):
            parse_record(Z, "@", "A", "192.0.2.1", ttl)


def test_parse_ttl_units():
    assert parse_ttl("3600") == 3600 and parse_ttl("1h30m") == 5400 and parse_ttl("1W") == 604800
    with pytest.raises(RecordError):
        parse_ttl("1x")


ZONEFILE = """\
$ORIGIN example.test.
$TTL 1h
@   IN  SOA ns1 hostmaster.example.test. (
            2024010101 ; serial (ignored)
            2h 15m 1w
            5m )
        NS  ns1
        in 600 MX 10 mx           ; class before TTL
ns1     A   192.0.2.53
mx  300 IN  a   192.0.2.25
txt     TXT hello "quoted \\"x\\"" world
$ORIGIN sub.example.test.
www     IN  CNAME @
srv     SRV 0 1 80 www
"""


def test_read_zone():
    parsed = read_zone(ZONEFILE, Z)
    assert parsed.soa == {
        "mname": "ns1.example.test",
        "rname": "hostmaster.example.test",
        "refresh": 7200,
        "retry": 900,
        "expire": 604800,
        "minimum": 300,
        "default_ttl": 3600,
    }
    assert parsed.records == [
        ("example.test", "NS", 3600, "ns1.example.test."),
        ("example.test", "MX", 600, "10 mx.example.test."),
        ("ns1.example.test", "A", 3600, "192.0.2.53"),
        ("mx.example.test", "A", 300, "192.0.2.25"),
        ("txt.example.test", "TXT", 3600, '"hello" "quoted \\"x\\"" "world"'),
        ("www.sub.example.test", "CNAME", 3600, "sub.example.test."),
        ("srv.sub.example.test", "SRV", 3600, "0 1 80 www.sub.example.test."),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("$INCLUDE other.zone\n", "not supported"),
        ("www IN CH A 192.0.2.1\n", "class IN"),
        ("www IN BOGUS 1\n", "unknown record type"),
        ("x.other.test. A 192.0.2.1\n", "outside the zone"),
        ("www A (192.0.2.1\n", "unbalanced"),
        ("  A 192.0.2.1\n", "no owner"),
        ("ok A 192.0.2.1\nbad A 1.2\n", "line 2"),
    ],
)
def test_read_zone_errors(text, message):
    with pytest.raises(RecordError, match=message):
        read_zone(text, Z)


def test_write_then_read_round_trip():
    recs = [
        Record(i, *parse_record(Z, n, t, v, 300))
        for i, (n, t, v) in enumerate(
            [("@", "NS", "ns1"), ("www", "A", "192.0.2.1"), ("@", "TXT", '"a;b" "c"'),
             ("*.w", "MX", "10 mx.other.test."), ("x", "CAA", '0 issue "ca.example"')]
        )
    ]  # fmt: skip
    text = write_zone(domain(), recs)
    parsed = read_zone(text, Z)
    assert sorted(parsed.records) == sorted((r.name, r.type, r.ttl, r.rdata) for r in recs)
    assert parsed.soa["refresh"] == 7200


def test_conflicts():
    ok = [("a.example.test", "CNAME", 60, "b."), ("b.example.test", "A", 60, "192.0.2.1")]
    assert conflicts(ok, Z) == []
    bad = [*ok, ("a.example.test", "TXT", 60, '"x"')]
    assert "beside other data" in conflicts(bad, Z)[0]
    assert "apex" in conflicts([("example.test", "CNAME", 60, "b.")], Z)[0]
    two = [("a.example.test", "CNAME", 60, "b."), ("a.example.test", "CNAME", 60, "c.")]
    assert "only one CNAME" in conflicts(two, Z)[0]
