"""ddclient and inadyn against the running stack; `dig` at our DNS confirms each result."""

from __future__ import annotations

import base64
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.support.stack import Stack

USER, PASSWORD = "router1", "Router1Pass"


def provision_ddns(stack: Stack) -> None:
    """toto@ as mailbox and account; home.example.test for USER, cam.example.test for another."""
    stack.provision(
        mailboxes={"toto@example.test": "mailbox-pw-1"},
        accounts={"toto@example.test": "account-pw-1"},
    )
    stack.cli(
        "ddns",
        "add",
        "home.example.test",
        "--user",
        USER,
        "--password-stdin",
        stdin=PASSWORD + "\n",
        check=True,
    )
    stack.cli(
        "ddns",
        "add",
        "cam.example.test",
        "--user",
        "other",
        "--password-stdin",
        stdin="Other1Pass\n",
        check=True,
    )


@pytest.fixture
def ddns_stack(stack: Stack):
    provision_ddns(stack)
    stack.start()
    yield stack
    stack.stop()


def dig(stack: Stack, name: str, rtype: str) -> list[str]:
    out = subprocess.run(
        [
            require_tool("dig"),
            "+short",
            "+time=2",
            "+tries=2",
            "-p",
            str(stack.ports["dns"]),
            "@127.0.0.1",
            name,
            rtype,
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    return sorted(out.stdout.split())


def ddclient(
    stack: Stack,
    tmp: Path,
    ip: str,
    *,
    password: str = PASSWORD,
    host: str = "home.example.test",
    force: bool = False,
) -> str:
    conf = tmp / "ddclient.conf"
    conf.write_text(
        "daemon=0\nsyslog=no\nssl=no\nprotocol=dyndns2\n"
        f"use=ip, ip={ip}\nserver=127.0.0.1:{stack.ports['http']}\n"
        f"login={USER}\npassword='{password}'\n{host}\n"
    )
    conf.chmod(0o600)
    args = [
        require_tool("ddclient"),
        "-daemon=0",
        "-foreground",
        "-noquiet",
        "-file",
        str(conf),
        "-cache",
        str(tmp / "ddclient.cache"),
    ]
    if force:
        args.append("-force")
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


def test_ddclient(ddns_stack: Stack, tmp_path: Path) -> None:
    out = ddclient(ddns_stack, tmp_path, "192.0.2.33")
    assert "SUCCESS" in out and "good" in out, out
    assert dig(ddns_stack, "home.example.test", "A") == ["192.0.2.33"]
    out = ddclient(ddns_stack, tmp_path, "192.0.2.33", force=True)
    assert "nochg" in out, out
    out = ddclient(ddns_stack, tmp_path, "192.0.2.44", password="WrongPass9", force=True)
    assert "badauth" in out, out
    out = ddclient(ddns_stack, tmp_path, "192.0.2.44", host="cam.example.test", force=True)
    assert "nohost" in out, out
    assert dig(ddns_stack, "home.example.test", "A") == ["192.0.2.33"]
    assert dig(ddns_stack, "cam.example.test", "A") == []


def test_ddclient_is_told_an_address_is_refused(stack: Stack, tmp_path: Path) -> None:
    """A well-formed address the server will not publish is a client error that ddclient
    reports as failed (not dnserr: 'DNS error, contact support', retried for ever)."""
    stack.settings["ddns"] = {"allow_private_addresses": False}
    provision_ddns(stack)
    stack.start()
    try:
        out = ddclient(stack, tmp_path, "10.0.0.5")
        assert "!donator" in out and "FAILED" in out and "SUCCESS" not in out, out
        assert dig(stack, "home.example.test", "A") == []
        # ddclient now waits for its user; the host itself still takes a public address
        # (the documentation ranges 192.0.2.0/24 etc. count as reserved here)
        answer = get(stack, "/nic/update?hostname=home.example.test&myip=9.9.9.9")[1]
        assert answer == "good 9.9.9.9\n"
    finally:
        stack.stop()


def inadyn(stack: Stack, tmp: Path, ip: str, *, password: str = PASSWORD) -> str:
    v6 = ":" in ip
    conf = tmp / "inadyn.conf"
    conf.write_text(
        "period = 300\nverify-address = false\n"
        + ("allow-ipv6 = true\n" if v6 else "")
        + "custom swissbox {\n"
        f"    username = {USER}\n    password = {password}\n    ssl = false\n"
        f'    ddns-server = "127.0.0.1:{stack.ports["http"]}"\n'
        '    ddns-path = "/nic/update?hostname=%h&myip=%i"\n'
        f'    checkip-command = "/bin/echo {ip}"\n'
        "    hostname = home.example.test\n}\n"
    )
    result = subprocess.run(
        [
            require_tool("inadyn"),
            "--once",
            "--foreground",
            "-f",
            str(conf),
            "--cache-dir",
            str(tmp / f"cache-{ip}"),
            "-P",
            str(tmp / "inadyn.pid"),
            "-l",
            "info",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp,
    )
    return result.stdout + result.stderr


def test_inadyn_ipv4_and_ipv6(ddns_stack: Stack, tmp_path: Path) -> None:
    out = inadyn(ddns_stack, tmp_path, "192.0.2.60")
    assert "Successful" in out, out
    assert dig(ddns_stack, "home.example.test", "A") == ["192.0.2.60"]
    out = inadyn(ddns_stack, tmp_path, "2001:db8::60")
    assert "Successful" in out, out
    assert dig(ddns_stack, "home.example.test", "AAAA") == ["2001:db8::60"]
    assert dig(ddns_stack, "home.example.test", "A") == ["192.0.2.60"]  # the other family stays
    out = inadyn(ddns_stack, tmp_path, "192.0.2.61", password="WrongPass9")
    assert "Successful" not in out, out
    assert dig(ddns_stack, "home.example.test", "A") == ["192.0.2.60"]


def get(
    stack: Stack,
    path: str,
    user: str | None = USER,
    password: str = PASSWORD,
    agent: str | None = "test/1.0",
) -> tuple[int, str, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{stack.ports['http']}{path}")
    request.add_header("User-Agent", agent or "")  # empty: urllib then sends no agent of its own
    if user is not None:
        request.add_header(
            "Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), dict(err.headers)


def test_protocol_answers_and_bad_input(ddns_stack: Stack) -> None:
    s = ddns_stack
    status, body, headers = get(
        s, "/nic/update?hostname=home.example.test&myip=192.0.2.1", user=None
    )
    assert status == 401 and "WWW-Authenticate" in headers
    assert (
        get(s, "/nic/update?hostname=home.example.test&myip=192.0.2.1", agent=None)[1]
        == "badagent\n"
    )
    # credentials of the other realms fail, even for the same identifier string
    assert (
        get(
            s,
            "/nic/update?hostname=home.example.test",
            user="toto@example.test",
            password="mailbox-pw-1",
        )[1]
        == "badauth\n"
    )
    assert (
        get(
            s,
            "/nic/update?hostname=home.example.test",
            user="toto@example.test",
            password="account-pw-1",
        )[1]
        == "badauth\n"
    )
    serial_before = dig(s, "example.test", "SOA")
    for query, answer in [
        ("hostname=home.example.test&myip=0.0.0.0", "!donator\n"),
        ("hostname=home.example.test&myip=192.0.2.1,192.0.2.2", "numhost\n"),
        ("hostname=bad_name.example.test&myip=192.0.2.1", "notfqdn\n"),
        ("hostname=home.elsewhere.test&myip=192.0.2.1", "nohost\n"),
        (
            "hostname=" + ",".join(f"h{i}.example.test" for i in range(21)) + "&myip=192.0.2.1",
            "numhost\n" * 21,
        ),
        ("hostname=home.example.test&myip=" + "1" * 5000, "notfqdn\n"),
    ]:
        status, body, _ = get(s, "/nic/update?" + query)
        assert (status, body) == (200, answer), query
    assert dig(s, "example.test", "SOA") == serial_before  # nothing changed in the zone
    # a malformed myip is ignored for the caller's address, as Dyn specifies (curl, as a user
    # testing by hand would)
    answer = subprocess.run(
        [
            require_tool("curl"),
            "-sS",
            "-u",
            f"{USER}:{PASSWORD}",
            "-A",
            "curl-test/1.0",
            f"http://127.0.0.1:{s.ports['http']}/nic/update?hostname=home.example.test&myip=999.1.1.1",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout
    assert answer == "good 127.0.0.1\n"
    assert dig(s, "home.example.test", "A") == ["127.0.0.1"]
    status, body, _ = get(s, "/v3/update?hostname=home.example.test&myip=192.0.2.9,2001:db8::9")
    assert body == "good 192.0.2.9,2001:db8::9\n"
    assert dig(s, "home.example.test", "AAAA") == ["2001:db8::9"]
    assert get(s, "/nic/update?hostname=home.example.test&offline=YES")[1] == "good\n"
    assert dig(s, "home.example.test", "A") == []
    status, body, _ = get(s, "/checkip", user=None)
    assert "Current IP Address: 127.0.0.1" in body
