"""The admin verbs as a person runs them: outputs, --json, and errors a person understands."""

from __future__ import annotations

import json

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
