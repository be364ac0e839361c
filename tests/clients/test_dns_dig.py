"""dig and kdig against the running DNS service: every behaviour, UDP and TCP, with and
without EDNS, and a small +bufsize to force truncation."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.unit.dns.kit import ServerThread, make_directory

pytestmark = pytest.mark.tools

TOOLS = ["dig", "kdig"]
TRANSPORTS = ["udp", "tcp"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    data = tmp_path_factory.mktemp("dns-dig")
    make_directory(data).close()
    with ServerThread(data, allow_transfer=["127.0.0.0/8"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def closed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    data = tmp_path_factory.mktemp("dns-dig-closed")
    make_directory(data).close()
    with ServerThread(data) as srv:
        yield srv


class Out:
    def __init__(self, text: str) -> None:
        self.text = text
        m = re.search(r"status: (\w+)", text)
        self.status = m.group(1) if m else ""
        m = re.search(r"flags: ([a-z ]*);", text, re.IGNORECASE)
        self.flags = set(m.group(1).split()) if m else set()
        self.sections: dict[str, list[list[str]]] = {}
        current = None
        for line in text.splitlines():
            head = re.match(r";; (\w+) SECTION:", line)
            if head:
                current = head.group(1)
                self.sections[current] = []
            elif not line.strip() or line.startswith(";"):
                if not line.strip():
                    current = None
            elif current:
                self.sections[current].append(line.split())
        m = re.search(r"udp(?: size)?: (\d+)", text, re.IGNORECASE)
        self.udp = int(m.group(1)) if m else None

    def rows(self, section: str) -> list[list[str]]:
        return self.sections.get(section, [])

    def types(self, section: str) -> list[str]:
        return [r[3] for r in self.rows(section)]


def run(tool: str, srv: ServerThread, *args: str, transport: str = "udp") -> Out:
    exe = require_tool(tool)
    timing = ["+time=2", "+tries=1"] if tool == "dig" else ["+timeout=2", "+retry=0"]
    cmd = [exe, f"@{srv.host}", "-p", str(srv.port), *timing, *args]
    if transport == "tcp":
        cmd.append("+tcp")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    return Out(r.stdout + r.stderr)


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("edns", ["+edns", "+noedns"])
def test_answer(server, tool, transport, edns):
    out = run(tool, server, "web.example.test", "A", edns, transport=transport)
    assert out.status == "NOERROR"
    assert "aa" in out.flags and "ra" not in out.flags
    assert out.rows("ANSWER") == [["web.example.test.", "300", "IN", "A", "192.0.2.80"]]
    assert (out.udp == 1232) if edns == "+edns" else out.udp is None


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_nxdomain_and_nodata(server, tool, transport):
    nx = run(tool, server, "nope.example.test", "A", transport=transport)
    assert nx.status == "NXDOMAIN" and "aa" in nx.flags
    assert nx.types("AUTHORITY") == ["SOA"] and nx.rows("AUTHORITY")[0][1] == "300"
    nodata = run(tool, server, "mx.example.test", "AAAA", transport=transport)
    assert nodata.status == "NOERROR" and not nodata.rows("ANSWER")
    assert nodata.types("AUTHORITY") == ["SOA"]
    ent = run(tool, server, "b.c.example.test", "A", transport=transport)
    assert ent.status == "NOERROR" and ent.types("AUTHORITY") == ["SOA"]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cname_wildcard_referral_refused(server, tool, transport):
    chain = run(tool, server, "chain1.example.test", "A", transport=transport)
    assert chain.types("ANSWER") == ["CNAME", "CNAME", "CNAME", "A"]
    wild = run(tool, server, "foo.bar.wild.example.test", "TXT", transport=transport)
    assert wild.rows("ANSWER") == [["foo.bar.wild.example.test.", "300", "IN", "TXT", '"wildcard"']]
    ref = run(tool, server, "host.sub.example.test", "A", transport=transport)
    assert ref.status == "NOERROR" and "aa" not in ref.flags and not ref.rows("ANSWER")
    assert "NS" in ref.types("AUTHORITY")
    assert ref.rows("ADDITIONAL")[0][0] == "ns.sub.example.test."
    refused = run(tool, server, "example.org", "A", transport=transport)
    assert refused.status == "REFUSED"


def test_case_is_echoed(server):
    # (kdig lower-cases the name it sends, so only dig can show the echo)
    out = run("dig", server, "WeB.ExAmPlE.tEsT", "A")
    assert out.rows("ANSWER")[0][0] == "WeB.ExAmPlE.tEsT."


@pytest.mark.parametrize("tool", TOOLS)
def test_small_bufsize_truncates_and_tcp_completes(server, tool):
    ignore = run(tool, server, "big.example.test", "TXT", "+bufsize=512", "+ignore")
    assert "tc" in ignore.flags and not ignore.rows("ANSWER")
    noedns = run(tool, server, "big.example.test", "TXT", "+noedns", "+ignore")
    assert "tc" in noedns.flags
    retried = run(tool, server, "big.example.test", "TXT", "+bufsize=512")  # falls back to TCP
    assert "tc" not in retried.flags and len(retried.rows("ANSWER")) == 1
    over_tcp = run(tool, server, "big.example.test", "TXT", transport="tcp")
    assert "tc" not in over_tcp.flags and len(over_tcp.rows("ANSWER")) == 1


@pytest.mark.parametrize("tool", TOOLS)
def test_edns_version_badvers(server, tool):
    extra = ["+noednsnegotiation"] if tool == "dig" else []
    out = run(tool, server, "web.example.test", "A", "+edns=1", *extra)
    assert out.status == "BADVERS"


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_any_is_minimal(server, tool, transport):
    out = run(tool, server, "example.test", "ANY", transport=transport)
    assert out.status == "NOERROR" and len(set(out.types("ANSWER"))) == 1


@pytest.mark.parametrize("tool", TOOLS)
def test_record_types(server, tool):
    assert run(tool, server, "example.test", "CAA").rows("ANSWER")[0][4:] == [
        "0",
        "issue",
        '"ca.example"',
    ]
    assert run(tool, server, "_imaps._tcp.example.test", "SRV").rows("ANSWER")[0][4:] == [
        "0",
        "1",
        "993",
        "mx.example.test.",
    ]
    mx = run(tool, server, "example.test", "MX")
    assert mx.rows("ANSWER")[0][4:] == ["10", "mx.example.test."]
    assert mx.rows("ADDITIONAL")[0][0] == "mx.example.test."
    assert run(tool, server, "svc.example.test", "HTTPS").types("ANSWER") == ["HTTPS"]
    svcb = run(tool, server, "_dns.svc.example.test", "SVCB").rows("ANSWER")
    assert svcb[0][3:6] == ["SVCB", "1", "web.example.test."] and "port=853" in svcb[0]


def test_notimp_opcode(server):
    out = run("dig", server, "example.test", "+opcode=2")
    assert out.status == "NOTIMP"


@pytest.mark.parametrize("tool", TOOLS)
def test_axfr_allowed_and_refused(server, closed_server, tool):
    out = run(tool, server, "example.test", "AXFR")
    rows = [line.split() for line in out.text.splitlines() if line and not line.startswith(";")]
    types = [r[3] for r in rows if len(r) > 3]
    assert types[0] == "SOA" and types[-1] == "SOA" and "A" in types and len(types) > 20
    refused = run(tool, closed_server, "example.test", "AXFR")
    assert "SOA" not in [
        r[3]
        for r in (
            line.split() for line in refused.text.splitlines() if line and not line.startswith(";")
        )
        if len(r) > 3
    ]
    assert re.search(r"REFUSED|failed", refused.text, re.IGNORECASE)


def test_dns_check_against_our_server(server, tmp_path: Path):
    """`swissbox dns check` asks our loopback server: the test zone lacks the mail records."""
    import os
    import sys

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    r = subprocess.run(
        [sys.executable, "-m", "swissbox.cli", "dns", "check", "example.test",
         "--server", f"{server.host}:{server.port}", "--data", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    assert re.search(r"differs\s+example\.test\. MX 10 localhost\.", r.stdout)
    assert re.search(r"ok\s+example\.test\. TXT \"v=spf1 mx -all\"", r.stdout)
    assert re.search(r"missing\s+_dmarc\.example\.test\. TXT", r.stdout)
    assert "put these records in the zone of your DNS provider:" in r.stdout


def test_kdig_several_queries_on_one_tcp_connection(server):
    exe = require_tool("kdig")
    r = subprocess.run(
        [exe, f"@{server.host}", "-p", str(server.port), "+tcp", "+keepopen", "+short",
         "web.example.test", "A", "mx.example.test", "A", "ns1.example.test", "AAAA"],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert r.stdout.split() == ["192.0.2.80", "192.0.2.25", "2001:db8::53"]
