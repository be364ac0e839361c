"""nsupdate (BIND) against the running server: RFC 2136 UPDATE signed with TSIG, checked with dig."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import require_tool
from tests.support.stack import Stack


@pytest.fixture
def dns_stack(stack: Stack):
    stack.provision()
    out = stack.cli(
        "dns",
        "tsig",
        "add",
        "router.key",
        "--zone",
        "example.test",
        "--name",
        "*.dyn.example.test",
        check=True,
    ).stdout
    secret = re.search(r"^secret: (\S+)$", out, re.M).group(1)  # type: ignore[union-attr]
    full = stack.cli("dns", "tsig", "add", "admin.key", "--zone", "example.test", check=True).stdout
    admin = re.search(r"^secret: (\S+)$", full, re.M).group(1)  # type: ignore[union-attr]
    stack.start()
    yield stack, secret, admin
    stack.stop()


def nsupdate(
    stack: Stack, key: str | None, commands: str, tcp: bool = False
) -> subprocess.CompletedProcess[str]:
    script = f"server 127.0.0.1 {stack.ports['dns']}\nzone example.test\n{commands}\nsend\n"
    args = [require_tool("nsupdate")]
    if key:
        args += ["-y", key]
    if tcp:
        args.append("-v")
    return subprocess.run(args, input=script, capture_output=True, text=True, timeout=30)


def dig(stack: Stack, name: str, rtype: str) -> list[str]:
    out = subprocess.run(
        [require_tool("dig"), "+short", "-p", str(stack.ports["dns"]), "@127.0.0.1", name, rtype],
        capture_output=True,
        text=True,
        timeout=20,
    )
    return sorted(out.stdout.split("\n")[:-1])


@pytest.mark.parametrize("tcp", [False, True])
def test_add_delete_prerequisites_and_keys(dns_stack, tcp: bool) -> None:  # type: ignore[no-untyped-def]
    stack, secret, admin = dns_stack
    key = f"hmac-sha256:router.key:{secret}"
    r = nsupdate(
        stack,
        key,
        'update add cam.dyn.example.test 60 A 192.0.2.7\nupdate add cam.dyn.example.test 60 TXT "hello world"',
        tcp,
    )
    assert r.returncode == 0, r.stderr
    assert dig(stack, "cam.dyn.example.test", "A") == ["192.0.2.7"]
    assert dig(stack, "cam.dyn.example.test", "TXT") == ['"hello world"']

    r = nsupdate(
        stack,
        key,
        "prereq nxdomain cam.dyn.example.test\nupdate add cam.dyn.example.test 60 A 192.0.2.8",
        tcp,
    )
    assert r.returncode != 0 and "YXDOMAIN" in r.stderr
    r = nsupdate(
        stack,
        key,
        "prereq yxrrset cam.dyn.example.test AAAA\nupdate add cam.dyn.example.test 60 A 192.0.2.8",
        tcp,
    )
    assert r.returncode != 0 and "NXRRSET" in r.stderr
    assert dig(stack, "cam.dyn.example.test", "A") == ["192.0.2.7"]

    r = nsupdate(
        stack,
        key,
        "prereq yxrrset cam.dyn.example.test A 192.0.2.7\nupdate delete cam.dyn.example.test A\nupdate add cam.dyn.example.test 60 AAAA 2001:db8::7",
        tcp,
    )
    assert r.returncode == 0, r.stderr
    assert dig(stack, "cam.dyn.example.test", "A") == []
    assert dig(stack, "cam.dyn.example.test", "AAAA") == ["2001:db8::7"]

    # outside the key's names, a wrong secret, an unknown key, no key: nothing changes
    r = nsupdate(stack, key, "update add www.example.test 60 A 192.0.2.9", tcp)
    assert r.returncode != 0 and "REFUSED" in r.stderr
    r = nsupdate(
        stack,
        "hmac-sha256:router.key:" + "A" * 43 + "=",
        "update add x.dyn.example.test 60 A 192.0.2.9",
        tcp,
    )
    assert r.returncode != 0 and "BADSIG" in r.stderr
    r = nsupdate(
        stack,
        f"hmac-sha256:nosuch.key:{secret}",
        "update add x.dyn.example.test 60 A 192.0.2.9",
        tcp,
    )
    assert r.returncode != 0 and "BADKEY" in r.stderr
    r = nsupdate(stack, None, "update add x.dyn.example.test 60 A 192.0.2.9", tcp)
    assert r.returncode != 0 and "REFUSED" in r.stderr
    assert dig(stack, "x.dyn.example.test", "A") == [] and dig(stack, "www.example.test", "A") == []

    # the zone-wide key may change other names, but not the SOA or the apex NS
    r = nsupdate(
        stack,
        f"hmac-sha256:admin.key:{admin}",
        "update add www.example.test 60 A 192.0.2.10\nupdate delete example.test NS",
        tcp,
    )
    assert r.returncode == 0, r.stderr
    assert dig(stack, "www.example.test", "A") == ["192.0.2.10"]
    assert dig(stack, "example.test", "NS") == ["mx.example.test."]
    r = nsupdate(stack, f"hmac-sha256:admin.key:{admin}", "update delete cam.dyn.example.test", tcp)
    assert r.returncode == 0
    assert dig(stack, "cam.dyn.example.test", "AAAA") == []


def test_tsig_verbs(stack: Stack) -> None:
    stack.provision()
    assert (
        stack.cli(
            "dns", "tsig", "add", "k1", "--zone", "example.test", "--name", "*.other.test"
        ).returncode
        == 1
    )
    stack.cli("dns", "tsig", "add", "k1", "--zone", "example.test", check=True)
    listed = stack.cli("dns", "tsig", "list", check=True).stdout
    assert "k1\texample.test\thmac-sha256" in listed and "secret" not in listed
    stack.cli("dns", "tsig", "del", "k1", check=True)
    assert stack.cli("dns", "tsig", "del", "k1").returncode == 1


def test_ds_at_the_apex_refused_by_cli_and_update(dns_stack) -> None:  # type: ignore[no-untyped-def]
    """A DS at the apex makes secondaries (BIND) reject the zone: refused on both write paths."""
    stack, _, admin = dns_stack
    ds = "12345 8 2 " + "AB" * 32
    r = stack.cli("dns", "add", "example.test", "@", "DS", ds)
    assert r.returncode == 1 and "parent zone" in r.stderr
    r = nsupdate(stack, f"hmac-sha256:admin.key:{admin}", f"update add example.test 60 DS {ds}")
    assert r.returncode != 0 and "REFUSED" in r.stderr
    assert dig(stack, "example.test", "DS") == []
    r = nsupdate(
        stack, f"hmac-sha256:admin.key:{admin}", f"update add child.example.test 60 DS {ds}"
    )
    assert r.returncode == 0, r.stderr  # the DS of a delegated child belongs here
    (got,) = dig(stack, "child.example.test", "DS")
    assert got.replace(" ", "") == ds.replace(" ", "")
