"""RFC 2136 UPDATE with TSIG, fed as bytes; dnspython builds the requests and checks our signatures."""

from __future__ import annotations

import base64
from pathlib import Path

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swissbox.directory import Directory
from swissbox.dns import tsig
from swissbox.dns.update import Updater

SECRET = base64.b64encode(b"k" * 32).decode()
KEYRING = dns.tsigkeyring.from_text({"upd.key.": ("hmac-sha256", SECRET)})
WRONG = dns.tsigkeyring.from_text(
    {"upd.key.": ("hmac-sha256", base64.b64encode(b"x" * 32).decode())}
)
UNKNOWN = dns.tsigkeyring.from_text({"nokey.": ("hmac-sha256", SECRET)})
SCOPED = dns.tsigkeyring.from_text({"scoped.key.": ("hmac-sha256", SECRET)})


@pytest.fixture
def d(tmp_path: Path) -> Directory:
    directory = Directory(tmp_path / "db.sqlite")
    directory.add_org("acme")
    directory.add_domain("example.test", "acme", "ns1.example.test")
    directory.add_domain("other.test", "acme", "ns1.example.test")
    directory.add_tsig_key("upd.key", SECRET, "example.test")
    directory.add_tsig_key("scoped.key", SECRET, "example.test", "*.dyn.example.test")
    directory.change_records("example.test", add=[("www.example.test", "A", 300, "192.0.2.80")])
    return directory


class Harness:
    def __init__(self, directory: Directory, clock: float | None = None) -> None:
        self.changed: list[str] = []
        kwargs = {"clock": (lambda: clock)} if clock is not None else {}
        self.updater = Updater(directory, self.changed.append, **kwargs)  # type: ignore[arg-type]

    def send(self, msg: dns.update.UpdateMessage, keyring: object = KEYRING) -> dns.message.Message:
        wire = msg.to_wire()
        out = self.updater.handle(wire, "127.0.0.1", False)
        assert len(out) == 1
        return dns.message.from_wire(out[0], keyring=keyring, request_mac=msg.mac or b"")


def update(
    zone: str = "example.test", keyring: object = KEYRING, keyname: str = "upd.key."
) -> dns.update.UpdateMessage:
    if keyring is None:
        return dns.update.UpdateMessage(zone)
    return dns.update.UpdateMessage(
        zone, keyring=keyring, keyname=dns.name.from_text(keyname), keyalgorithm="hmac-sha256"
    )


def rdatas(d: Directory, name: str, rtype: str) -> list[str]:
    return sorted(r.rdata for r in d.records("example.test", name) if r.type == rtype)


def test_add_and_signed_response(d: Directory) -> None:
    h = Harness(d)
    serial = d.domain("example.test").serial
    m = update()
    m.add("h1", 60, "A", "192.0.2.1")
    m.add("h1", 60, "TXT", '"hello world"')
    m.add("h1", 60, "MX", "10 mail")
    response = h.send(m)  # from_wire verifies our TSIG with the request MAC
    assert response.rcode() == dns.rcode.NOERROR
    assert response.had_tsig
    assert rdatas(d, "h1.example.test", "A") == ["192.0.2.1"]
    assert rdatas(d, "h1.example.test", "MX") == ["10 mail.example.test."]
    assert d.domain("example.test").serial == serial + 1  # one bump for the whole update
    assert h.changed == ["example.test"]


def test_deletes(d: Directory) -> None:
    h = Harness(d)
    m = update()
    m.add("h1", 60, "A", "192.0.2.1")
    m.add("h1", 60, "A", "192.0.2.2")
    m.add("h1", 60, "AAAA", "2001:db8::1")
    h.send(m)
    m = update()
    m.delete("h1", "A", "192.0.2.1")
    assert h.send(m).rcode() == 0
    assert rdatas(d, "h1.example.test", "A") == ["192.0.2.2"]
    m = update()
    m.delete("h1", "A")
    h.send(m)
    assert rdatas(d, "h1.example.test", "A") == [] and rdatas(d, "h1.example.test", "AAAA") == [
        "2001:db8::1"
    ]
    m = update()
    m.delete("h1")
    h.send(m)
    assert d.records("example.test", "h1.example.test") == []


@pytest.mark.parametrize(
    "prereq, rcode",
    [
        (lambda m: m.present("www"), "NOERROR"),
        (lambda m: m.present("nothere"), "NXDOMAIN"),
        (lambda m: m.absent("www"), "YXDOMAIN"),
        (lambda m: m.absent("nothere"), "NOERROR"),
        (lambda m: m.present("www", "A"), "NOERROR"),
        (lambda m: m.present("www", "AAAA"), "NXRRSET"),
        (lambda m: m.absent("www", "A"), "YXRRSET"),
        (lambda m: m.absent("www", "AAAA"), "NOERROR"),
        (lambda m: m.present("www", "A", "192.0.2.80"), "NOERROR"),
        (lambda m: m.present("www", "A", "192.0.2.81"), "NXRRSET"),
        (lambda m: m.present("x.other.test.", "A"), "NOTZONE"),
    ],
)
def test_prerequisites(d: Directory, prereq, rcode: str) -> None:
    h = Harness(d)
    m = update()
    prereq(m)
    m.add("added", 60, "A", "192.0.2.9")
    response = h.send(m)
    assert dns.rcode.to_text(response.rcode()) == rcode
    assert bool(rdatas(d, "added.example.test", "A")) is (rcode == "NOERROR")


def test_refusals_and_tsig_errors(d: Directory) -> None:
    h = Harness(d)
    serial = d.domain("example.test").serial
    unsigned = update(keyring=None)
    unsigned.add("a", 60, "A", "192.0.2.1")
    assert h.send(unsigned).rcode() == dns.rcode.REFUSED

    wrong = update(keyring=WRONG)
    wrong.add("a", 60, "A", "192.0.2.1")
    raw = h.updater.handle(wrong.to_wire(), "127.0.0.1", False)[0]
    with pytest.raises(dns.tsig.PeerBadSignature):
        dns.message.from_wire(raw, keyring=WRONG, request_mac=wrong.mac)

    unknown = update(keyring=UNKNOWN, keyname="nokey.")
    unknown.add("a", 60, "A", "192.0.2.1")
    raw = h.updater.handle(unknown.to_wire(), "127.0.0.1", False)[0]
    with pytest.raises(dns.tsig.PeerBadKey):
        dns.message.from_wire(raw, keyring=UNKNOWN, request_mac=unknown.mac)

    scoped = update(keyring=SCOPED, keyname="scoped.key.")
    scoped.add("www", 60, "A", "192.0.2.1")
    assert h.send(scoped, SCOPED).rcode() == dns.rcode.REFUSED
    scoped = update(keyring=SCOPED, keyname="scoped.key.")
    scoped.add("cam.dyn", 60, "A", "192.0.2.1")
    assert h.send(scoped, SCOPED).rcode() == dns.rcode.NOERROR

    foreign = update("other.test")
    foreign.add("a", 60, "A", "192.0.2.1")
    assert h.send(foreign).rcode() == dns.rcode.REFUSED  # key belongs to example.test
    notours = update("elsewhere.test")
    notours.add("a", 60, "A", "192.0.2.1")
    assert h.send(notours).rcode() == dns.rcode.NOTAUTH
    outside = update()
    outside.add("a.other.test.", 60, "A", "192.0.2.1")
    assert h.send(outside).rcode() == dns.rcode.NOTZONE
    assert d.domain("example.test").serial == serial + 1  # only the scoped add changed the zone


def test_badtime(d: Directory) -> None:
    h = Harness(d, clock=10_000.0)  # our clock is far from the signer's
    m = update()
    m.add("a", 60, "A", "192.0.2.1")
    raw = h.updater.handle(m.to_wire(), "127.0.0.1", False)[0]
    with pytest.raises(dns.tsig.PeerBadTime):
        dns.message.from_wire(raw, keyring=KEYRING, request_mac=m.mac)
    assert rdatas(d, "a.example.test", "A") == []


def test_soa_and_apex_ns_are_protected(d: Directory) -> None:
    h = Harness(d)
    m = update()
    m.delete("@", "NS")
    m.delete("@", "SOA")
    m.add("@", 60, "NS", "evil.example.")
    m.add("@", 60, "A", "192.0.2.5")
    assert h.send(m).rcode() == 0
    assert rdatas(d, "example.test", "NS") == ["ns1.example.test."]
    assert rdatas(d, "example.test", "A") == ["192.0.2.5"]
    m = update()
    m.delete("@")
    h.send(m)
    assert rdatas(d, "example.test", "NS") == ["ns1.example.test."]
    assert rdatas(d, "example.test", "A") == []


def test_ds_at_the_apex_is_refused(d: Directory) -> None:
    h = Harness(d)
    serial = d.domain("example.test").serial
    m = update()
    m.add("child", 60, "A", "192.0.2.9")
    m.add("@", 60, "DS", "12345 8 2 " + "AB" * 32)
    assert h.send(m).rcode() == dns.rcode.REFUSED
    assert d.domain("example.test").serial == serial  # nothing of the message applied
    assert rdatas(d, "child.example.test", "A") == []
    m = update()
    m.add("child", 60, "DS", "12345 8 2 " + "AB" * 32)  # at a child name: the parent's DS
    assert h.send(m).rcode() == dns.rcode.NOERROR
    m = update()
    m.delete("@", "DS")  # deleting what an older version let in stays possible
    assert h.send(m).rcode() == dns.rcode.NOERROR


def test_cname_rules(d: Directory) -> None:
    h = Harness(d)
    m = update()
    m.add("www", 60, "CNAME", "elsewhere.example.")  # www has an A: ignored
    m.add("alias", 60, "CNAME", "www")
    m.add("alias", 60, "A", "192.0.2.1")  # alias is a CNAME: ignored
    assert h.send(m).rcode() == 0
    assert rdatas(d, "www.example.test", "CNAME") == []
    assert rdatas(d, "alias.example.test", "CNAME") == ["www.example.test."]
    assert rdatas(d, "alias.example.test", "A") == []


def test_tsig_roundtrip_with_our_signer() -> None:
    key = tsig.Key("k.test", "hmac-sha256", b"s" * 32)
    msg = dns.message.make_query("example.test", "SOA").to_wire()
    signed = tsig.sign_request(msg, key, now=1000)
    record = tsig.find_tsig(signed)
    assert record is not None
    assert tsig.verify(signed, record, key, now=1000).error == 0
    assert tsig.verify(signed, record, key, now=2000).error == tsig.BADTIME
    assert (
        tsig.verify(signed[:-40] + bytes(40), tsig.find_tsig(signed[:-40] + bytes(40)), key).error
        != 0
    )  # type: ignore[arg-type]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_garbage_never_raises(d: Directory, data: bytes) -> None:
    header = b"\x12\x34\x28\x00"  # opcode 5
    out = Updater(d).handle(header + data, "127.0.0.1", False)
    assert len(out) == 1 and out[0][:2] == b"\x12\x34"
