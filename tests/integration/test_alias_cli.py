"""The address verbs as an administrator types them: alias add/del/list, domain alias,
mail catch-all, mailbox forward. Each does all or nothing; list verbs speak --json."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.stack import Stack

PW = "Mailbox-pw-123"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("aliascli"))
    s.provision(mailboxes={"ann@example.test": PW, "bob@example.test": PW})
    s.cli("domain", "add", "example.org", "--org", "acme", check=True)
    yield s


def ok(stack: Stack, *args: str) -> str:
    return stack.cli(*args, check=True).stdout


def refused(stack: Stack, *args: str) -> str:
    result = stack.cli(*args)
    assert result.returncode == 1, result
    assert result.stderr.startswith("swissbox: error: ") and "Traceback" not in result.stderr
    return result.stderr


def listing(stack: Stack, *args: str) -> list[dict[str, object]]:
    return json.loads(ok(stack, "alias", "list", *args, "--json"))  # type: ignore[no-any-return]


def test_alias_verbs(stack: Stack) -> None:
    out = ok(stack, "alias", "add", "team@example.test", "ann@example.test", "far@world.test")
    assert out == (
        "alias team@example.test -> ann@example.test, far@world.test"
        " (its mailboxes may send as it)\n"
    )
    ok(stack, "alias", "add", "team@example.test", "bob@example.test", "--no-send-as")
    assert listing(stack, "example.test") == [
        {
            "address": "team@example.test",
            "kind": "alias",
            "targets": ["ann@example.test", "bob@example.test", "far@world.test"],
            "send_as": False,
        }
    ]
    assert "nobody@example.test: no mailbox or alias" in refused(
        stack, "alias", "add", "two@example.test", "ann@example.test", "nobody@example.test"
    )
    assert [r["address"] for r in listing(stack)] == ["team@example.test"]  # nothing of it
    assert "is a mailbox" in refused(stack, "alias", "add", "ann@example.test", "bob@example.test")
    assert "no Email Service" in refused(
        stack, "alias", "add", "x@nowhere.test", "ann@example.test"
    )
    assert ok(stack, "alias", "del", "team@example.test", "far@world.test") == (
        "alias team@example.test -> ann@example.test, bob@example.test\n"
    )
    assert ok(stack, "alias", "del", "team@example.test") == "alias team@example.test removed\n"
    assert "no alias" in refused(stack, "alias", "del", "team@example.test")
    assert listing(stack) == []


def test_forward_catch_all_and_domain_alias(stack: Stack) -> None:
    assert ok(stack, "mailbox", "forward", "bob@example.test", "bob@home.test", "--keep") == (
        "bob@example.test forwards to bob@home.test, keeping a copy\n"
    )
    assert "no mailbox" in refused(stack, "mailbox", "forward", "zed@example.test", "x@y.test")
    assert ok(stack, "mail", "catch-all", "example.test", "ann@example.test").startswith(
        "catch-all of example.test: unknown addresses go to ann@example.test"
    )
    out = ok(stack, "domain", "alias", "example.org", "example.test")
    assert out.startswith("domain alias example.org -> example.test; published ")
    records = ok(stack, "dns", "list", "example.org")
    assert "MX" in records and "v=spf1" in records  # its mail records came with it
    assert {(r["address"], r["kind"]) for r in listing(stack)} == {
        ("bob@example.test", "forward"),
        ("@example.test", "catch-all"),
        ("@example.org", "domain-alias"),
    }
    text = ok(stack, "alias", "list", "example.test")
    assert "bob@example.test\tforward\tbob@home.test (keeps a copy)" in text
    result = stack.cli("mailbox", "add", "x@example.org", "--password-stdin", stdin=PW + "\n")
    assert result.returncode == 1 and "is a domain alias of example.test" in result.stderr
    assert ok(stack, "domain", "alias", "example.org", "off").startswith(
        "example.org is no longer a domain alias (was of example.test)"
    )
    assert ok(stack, "mail", "catch-all", "example.test", "off") == (
        "catch-all of example.test off (was ann@example.test)\n"
    )
    assert ok(stack, "mailbox", "forward", "bob@example.test", "off") == (
        "bob@example.test no longer forwards\n"
    )
    assert "does not forward" in refused(stack, "mailbox", "forward", "bob@example.test", "off")
    assert listing(stack) == []


def test_domain_alias_is_all_or_nothing(stack: Stack) -> None:
    """A refused domain alias leaves the domain as it was: no Email Service, no records."""
    ok(stack, "org", "add", "other")
    ok(stack, "domain", "add", "other.test", "--org", "other")
    before = ok(stack, "dns", "list", "other.test")
    assert "different organizations" in refused(
        stack, "domain", "alias", "other.test", "example.test"
    )
    assert ok(stack, "dns", "list", "other.test") == before
    assert "no Email Service" in refused(stack, "mail", "catch-all", "other.test", "off")
