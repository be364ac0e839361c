"""The admin verbs as a person runs them: outputs, --json, and errors a person understands."""

from __future__ import annotations

import json
import re

from swissbox.auth import verify_secret
from swissbox.directory import Directory
from tests.support.stack import Stack


def test_admin_verbs_end_to_end(stack: Stack) -> None:
    stack.init()
    assert "created" in stack.cli("org", "add", "acme", check=True).stdout
    stack.cli(
        "account",
        "add",
        "Toto@abc.xyz",
        "--org",
        "acme",
        "--role",
        "legal",
        "--name",
        "Toto T",
        "--password-stdin",
        stdin="account-secret\n",
        check=True,
    )
    stack.cli("domain", "add", "abc.xyz", "--org", "acme", check=True)
    out = stack.cli("mail", "enable", "abc.xyz", "--max-addresses", "2", check=True).stdout
    assert "published" in out
    stack.cli(
        "mailbox", "add", "toto@abc.xyz", "--password-stdin", stdin="mailbox-secret\n", check=True
    )
    stack.cli("mailbox", "grant", "toto@abc.xyz", "toto@abc.xyz", check=True)
    stack.cli(
        "ddns",
        "add",
        "home.abc.xyz",
        "--user",
        "router1",
        "--password-stdin",
        "--ip",
        "192.0.2.7",
        stdin="Router1Pass\n",
        check=True,
    )
    stack.cli(
        "ddns", "add", "cam.abc.xyz", "--user", "router1", check=True
    )  # second host, same user

    accounts = json.loads(stack.cli("account", "list", "--json", check=True).stdout)
    assert accounts == [
        {
            "login": "toto@abc.xyz",
            "name": "Toto T",
            "phone": "",
            "org": "acme",
            "role": "legal",
            "private": False,
        }
    ]
    boxes = json.loads(stack.cli("mailbox", "list", "--json", check=True).stdout)
    assert [b["address"] for b in boxes] == ["toto@abc.xyz"]
    hosts = json.loads(stack.cli("ddns", "list", "--json", check=True).stdout)
    assert [h["hostname"] for h in hosts] == ["cam.abc.xyz", "home.abc.xyz"]
    domains = json.loads(stack.cli("domain", "list", "--json", check=True).stdout)
    assert domains[0]["domain"] == "abc.xyz"


def test_errors_are_one_clear_line(stack: Stack) -> None:
    stack.init()
    stack.cli("org", "add", "acme", check=True)
    cases = [
        (("org", "add", "acme"), None, "already exists"),
        (("domain", "add", "bad..name", "--org", "acme"), None, "empty label"),
        (
            ("account", "add", "a@b.test", "--org", "nope", "--password-stdin"),
            "longpassword\n",
            "no organization",
        ),
        (
            ("account", "add", "a@b.test", "--org", "acme", "--password-stdin"),
            "short\n",
            "at least 8",
        ),
        (
            ("mailbox", "add", "x@nothosted.test", "--password-stdin"),
            "longpassword\n",
            "not hosted",
        ),
    ]
    for args, stdin, fragment in cases:
        result = stack.cli(*args, stdin=stdin)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.startswith("swissbox: error:") and fragment in result.stderr, (
            result.stderr
        )
        assert "Traceback" not in result.stderr
    stack.cli("domain", "add", "abc.xyz", "--org", "acme", check=True)
    result = stack.cli("mailbox", "add", "x@abc.xyz", "--password-stdin", stdin="longpassword\n")
    assert "no Email Service" in result.stderr and "mail enable abc.xyz" in result.stderr
    stack.cli("mail", "enable", "abc.xyz", "--max-addresses", "0", check=True)
    result = stack.cli("mailbox", "add", "x@abc.xyz", "--password-stdin", stdin="longpassword\n")
    assert "limit of 0 addresses" in result.stderr
    result = stack.cli(
        "ddns", "add", "h.abc.xyz", "--user", "u1", "--password-stdin", stdin="weakpassword\n"
    )
    assert "upper-case" in result.stderr


def test_commands_before_init_say_what_to_do(stack: Stack) -> None:
    result = stack.cli("org", "list")
    assert result.returncode == 1 and "run `swissbox init` first" in result.stderr


def test_check_config(stack: Stack) -> None:
    stack.init()
    assert "OK" in stack.cli("check-config", check=True).stdout
    with (stack.data / "swissbox.toml").open("a") as f:
        f.write("[bogus]\nmx_port = 'x'\n")
    stack.settings["smtp"]["mx_port"] = "x"
    stack.settings["smtp"]["foo"] = 1
    stack.write_config()
    result = stack.cli("check-config")
    assert result.returncode == 2
    assert "smtp.mx_port" in result.stderr and "smtp.foo: unknown key" in result.stderr
    assert "problem" in result.stderr and "Traceback" not in result.stderr


DEMO_LOGINS = {"mailbox": "alice@example.test", "account": "alice@example.test", "ddns": "nasuser"}


def demo_passwords(banner: str) -> dict[str, str]:
    """realm -> password from the banner's 'mailbox (...)  LOGIN / PASSWORD' lines."""
    found = re.findall(r"^  (mailbox|account|DDNS user)\b.*?(\S+) / (\S+)", banner, re.M)
    return {("ddns" if kind == "DDNS user" else kind): pw for kind, _login, pw in found}


def test_demo_prints_the_passwords_it_made_only_once(stack: Stack) -> None:
    stack.write_config()  # cheap Argon2; `demo` runs init itself
    first = stack.cli("demo", check=True).stdout
    assert "demo organization created" in first
    passwords = demo_passwords(first)
    assert set(passwords) == set(DEMO_LOGINS)
    with Directory(stack.data / "swissbox.db") as d:
        for realm, login in DEMO_LOGINS.items():
            stored = d.secret_hash(realm, login)
            assert stored is not None and verify_secret(passwords[realm], stored[1]), realm
    assert f"curl -u nasuser:{passwords['ddns']} " in first

    second = stack.cli("demo", check=True).stdout
    assert "already there" in second
    for password in passwords.values():
        assert password not in second
    assert demo_passwords(second) == {}
    assert "printed once, when the demo was created" in second
    hints = [line.split(" --data")[0].strip() for line in second.splitlines() if "passwd" in line]
    assert hints == [
        "swissbox mailbox passwd alice@example.test",
        "swissbox account passwd alice@example.test",
        "swissbox ddns passwd nasuser",
    ]
    # the hints work as printed
    for hint, realm in zip(hints, ("mailbox", "account", "ddns"), strict=True):
        new = "NewDemoPass42"
        stack.cli(*hint.split()[1:], "--password-stdin", stdin=new + "\n", check=True)
        with Directory(stack.data / "swissbox.db") as d:
            stored = d.secret_hash(realm, DEMO_LOGINS[realm])
            assert stored is not None and verify_secret(new, stored[1]), realm


def test_check_config_names_the_nearest_key_and_checks_addresses(stack: Stack) -> None:
    stack.init()
    stack.settings["smtp"]["mx_prot"] = 2525
    stack.settings["smtp"]["relay_host"] = "smtp.example.net:587"
    stack.settings["server"] = {"listen": ["127.0.0.1", "127.0.0.1"]}
    stack.hostname = "mx..example.test"
    stack.write_config()
    result = stack.cli("check-config")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    problems = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert problems == [
        "smtp.mx_prot: unknown key — did you mean smtp.mx_port?",
    ]  # keys and types first: values are checked once every key is known
    del stack.settings["smtp"]["mx_prot"]
    stack.write_config()
    result = stack.cli("check-config")
    assert result.returncode == 2
    problems = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert problems == [
        "server.hostname: 'mx..example.test' is not a valid DNS name (empty label)",
        "server.listen[1]: '127.0.0.1' is listed twice",
        "smtp.relay_host: 'smtp.example.net:587': 'smtp.example.net' is not an IP address"
        " (host names are not looked up here); write 'address' or 'address:port'",
    ]
    # values a file can hold but this machine cannot use: check-config asks the machine
    stack.hostname = "mx.example.test"
    stack.settings["smtp"]["relay_host"] = "127.0.0.1:2525"
    stack.settings["server"] = {"listen": ["127.0.0.1", "192.0.2.55"]}
    stack.write_config()
    result = stack.cli("check-config")
    assert result.returncode == 2
    assert "server.listen[1]: cannot listen on '192.0.2.55': not an address of this machine" in (
        result.stderr
    )
    stack.settings["server"] = {"listen": ["127.0.0.1"]}
    stack.write_config()
    assert stack.cli("check-config", check=True).stdout.endswith(": OK\n")
