"""`swissbox dns ...` verbs in-process: validation, idempotence, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swissbox.cli import main
from swissbox.directory import Directory
from tests.unit.dns.kit import ZONE

Z = ZONE


@pytest.fixture
def data(tmp_path: Path) -> Path:
    with Directory(tmp_path / "swissbox.db") as d:
        d.add_org("org")
        d.add_domain(Z, "org", "ns1.example.test")
    return tmp_path


def run(data: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--data", str(data)])
    out = capsys.readouterr()
    return code, out.out, out.err


def state(data: Path) -> tuple[int, list[tuple[str, str, int, str]]]:
    with Directory(data / "swissbox.db") as d:
        return d.domain(Z).serial, [(r.name, r.type, r.ttl, r.rdata) for r in d.records(Z)]


def test_add_forms_and_idempotence(data, capsys):
    assert run(data, capsys, "dns", "add", Z, "www", "A", "192.0.2.1")[0] == 0
    assert run(data, capsys, "dns", "add", Z, "@", "MX", "10 mx")[0] == 0
    assert run(data, capsys, "dns", "add", Z, "*.wild", "TXT", "hello world")[0] == 0
    assert run(data, capsys, "dns", "add", Z, "host.example.test.", "AAAA", "2001:db8::1")[0] == 0
    assert run(data, capsys, "dns", "add", Z, "@", "CAA", '0 issue "ca.example"')[0] == 0
    serial, records = state(data)
    code, out, _ = run(data, capsys, "dns", "add", Z, "www", "A", "192.0.2.1")
    assert code == 0 and "already present" in out and state(data) == (serial, records)
    assert ("example.test", "MX", 3600, "10 mx.example.test.") in records
    assert ("*.wild.example.test", "TXT", 3600, '"hello world"') in records
    assert ("example.test", "CAA", 3600, '0 issue "ca.example"') in records


def test_rrset_shares_ttl(data, capsys):
    run(data, capsys, "dns", "add", Z, "www", "A", "192.0.2.1", "--ttl", "60")
    run(data, capsys, "dns", "add", Z, "www", "A", "192.0.2.2")  # inherits the RRset's TTL
    assert {r[2] for r in state(data)[1] if r[0] == "www.example.test"} == {60}
    run(data, capsys, "dns", "add", Z, "www", "A", "192.0.2.3", "--ttl", "120")
    assert {r[2] for r in state(data)[1] if r[0] == "www.example.test"} == {120}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("www", "A", "192.0.2.300"), "not an IPv4 address"),
        (("bad..name", "A", "192.0.2.1"), "empty label"),
        (("x.other.test.", "A", "192.0.2.1"), "outside the zone"),
        (("www", "MX", "mx"), "PREFERENCE"),
        (("@", "CNAME", "elsewhere.test."), "apex"),
        (("ns1", "CNAME", "elsewhere.test."), None),
        (("@", "SOA", "a b 1 2 3 4 5"), "SOA"),
        (("@", "DS", "12345 8 2 " + "AB" * 32), "parent zone"),
    ],
)
def test_invalid_input_refused_and_nothing_written(data, capsys, args, message):
    run(data, capsys, "dns", "add", Z, "ns1", "A", "192.0.2.53")
    before = state(data)
    code, _, err = run(data, capsys, "dns", "add", Z, *args)
    assert code == 1 and err.startswith("swissbox: error:")
    assert message is None or message in err
    assert state(data) == before


def test_cname_beside_data_both_ways(data, capsys):
    run(data, capsys, "dns", "add", Z, "www", "A", "192.0.2.1")
    code, _, err = run(data, capsys, "dns", "add", Z, "www", "CNAME", "web")
    assert code == 1 and "CNAME" in err
    run(data, capsys, "dns", "add", Z, "alias", "CNAME", "web")
    code, _, err = run(data, capsys, "dns", "add", Z, "alias", "TXT", "x")
    assert code == 1 and "CNAME" in err


def test_unknown_zone(data, capsys):
    code, _, err = run(data, capsys, "dns", "add", "other.test", "www", "A", "192.0.2.1")
    assert code == 1 and "not hosted" in err


def test_del(data, capsys):
    for ip in ("192.0.2.1", "192.0.2.2"):
        run(data, capsys, "dns", "add", Z, "www", "A", ip)
    assert run(data, capsys, "dns", "del", Z, "www", "A", "192.0.2.1")[0] == 0
    assert [r[3] for r in state(data)[1] if r[0] == "www.example.test"] == ["192.0.2.2"]
    code, _, err = run(data, capsys, "dns", "del", Z, "www", "A", "192.0.2.9")
    assert code == 1 and "no record" in err
    assert run(data, capsys, "dns", "del", Z, "www", "A")[0] == 0
    assert not [r for r in state(data)[1] if r[0] == "www.example.test"]
    code, _, err = run(data, capsys, "dns", "del", Z, "@", "NS")
    assert code == 1 and "at least one NS" in err


def test_list_json_and_export_import_round_trip(data, capsys, tmp_path):
    run(data, capsys, "dns", "add", Z, "www", "A", "192.0.2.1")
    run(data, capsys, "dns", "add", Z, "@", "TXT", '"a;b" "c"')
    code, out, _ = run(data, capsys, "dns", "list", Z, "--json")
    rows = json.loads(out)
    assert rows[0]["type"] == "SOA" and {r["type"] for r in rows} == {"SOA", "NS", "A", "TXT"}
    code, exported, _ = run(data, capsys, "dns", "export", Z)
    assert code == 0 and exported.startswith("; zone example.test")
    path = tmp_path / "zone.txt"
    path.write_text(exported)
    before = state(data)
    code, out, _ = run(data, capsys, "dns", "import", Z, str(path))
    assert code == 0 and state(data) == before  # nothing changed: no serial bump


def test_import_replaces_and_refuses_bad_files(data, capsys, tmp_path):
    run(data, capsys, "dns", "add", Z, "old", "A", "192.0.2.1")
    good = tmp_path / "good.zone"
    good.write_text("$ORIGIN example.test.\n$TTL 300\nnew A 192.0.2.2\nmail MX 10 new\n")
    assert run(data, capsys, "dns", "import", Z, str(good))[0] == 0
    names = {(r[0], r[1]) for r in state(data)[1]}
    assert ("old.example.test", "A") not in names and ("new.example.test", "A") in names
    assert (Z, "NS") in names  # the apex NS is kept when the file has none
    before = state(data)
    for text, message in (
        ("ok A 192.0.2.1\nbad A 192.0.2\n", "line 2"),
        ("a CNAME b\na A 192.0.2.1\n", "CNAME"),
        ("$INCLUDE /etc/passwd\n", "not supported"),
    ):
        bad = tmp_path / "bad.zone"
        bad.write_text(text)
        code, _, err = run(data, capsys, "dns", "import", Z, str(bad))
        assert code == 1 and message in err
        assert state(data) == before
