"""Every admin verb does all or nothing: a bad argument found late leaves the database exactly
as it was (compared as an SQL dump), prints no success line, and exits 1 with one error line."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.stack import Stack

DDNS_PW = "Router1Pass\n"


def dump(stack: Stack) -> str:
    with closing(sqlite3.connect(stack.data / "swissbox.db")) as c:
        return "\n".join(c.iterdump())


def serial(stack: Stack, zone: str = "example.test") -> int:
    domains = json.loads(stack.cli("domain", "list", "--json", check=True).stdout)
    return int(next(d["serial"] for d in domains if d["domain"] == zone))


def assert_refused(stack: Stack, args: tuple[str, ...], stdin: str | None, fragment: str) -> None:
    before = dump(stack)
    result = stack.cli(*args, stdin=stdin)
    errors = result.stderr.splitlines()
    assert result.returncode == 1, (args, result.stdout, result.stderr)
    assert len(errors) == 1 and errors[0].startswith("swissbox: error:"), result.stderr
    assert fragment in errors[0], errors[0]
    assert result.stdout == "", result.stdout
    assert dump(stack) == before, f"{args} changed the database"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """acme hosts example.test with mail, a mailbox, and DDNS user router1 on nas.example.test."""
    with Stack(tmp_path_factory.mktemp("atomic")) as stack:
        stack.provision(mailboxes={"info@example.test": "mailbox-secret"})
        stack.cli("ddns", "add", "nas.example.test", "--user", "router1", "--password-stdin",
                  stdin=DDNS_PW, check=True)  # fmt: skip
        yield stack


REFUSED = [
    # the case: a new user and host, then a bad address
    (
        "ddns add nas2.example.test --user u2 --password-stdin --ip 300.1.1.1",
        DDNS_PW,
        "--ip '300.1.1.1' is not an IP address",
    ),
    ("ddns add nas2.example.test --user router1 --ip 300.1.1.1", None, "not an IP address"),
    (
        "ddns add nas.elsewhere.test --user u2 --password-stdin",
        DDNS_PW,
        "not inside any domain hosted here",
    ),
    ("ddns add nas.example.test --user u2 --password-stdin", DDNS_PW, "already a DDNS host"),
    ("ddns add bad..example.test --user u2 --password-stdin", DDNS_PW, "empty label"),
    (
        "ddns add nas2.example.test --user u2 --password-stdin --owner nobody@example.test",
        DDNS_PW,
        "no account",
    ),
    ("ddns add nas2.example.test --user u2 --password-stdin", "weakpassword\n", "upper-case"),
    ("ddns add nas2.example.test --user router1 --owner x@example.test", None, "--owner"),
    ("mailbox add x@example.test --password-stdin --quota -5", "longpassword\n", "--quota"),
    ("mailbox passwd nobody@example.test --password-stdin", "longpassword\n", "no mailbox"),
    ("ddns passwd nobody --password-stdin", DDNS_PW, "no DDNS user 'nobody'"),
    ("mail enable example.test --max-addresses -1", None, "--max-addresses"),
    (
        "dns tsig add k1 --zone example.test --name a.example.test,b.elsewhere.test",
        None,
        "outside the zone",
    ),
    # demo: org and account would be made, then its domain is already someone else's
    ("demo", None, "already hosted"),
]


@pytest.mark.parametrize("command, stdin, fragment", REFUSED, ids=[c for c, _, _ in REFUSED])
def test_bad_late_argument_changes_nothing(
    hosted: Stack, command: str, stdin: str | None, fragment: str
) -> None:
    assert_refused(hosted, tuple(command.split()), stdin, fragment)


def test_dns_import_bad_late_line_changes_nothing(hosted: Stack, tmp_path: Path) -> None:
    zone = tmp_path / "zone"
    zone.write_text("www 300 IN A 192.0.2.1\nmail 300 IN A 192.0.2.2\nbad 300 IN A 300.1.1.1\n")
    assert_refused(hosted, ("dns", "import", "example.test", str(zone)), None, "line 3")


def test_dns_import_with_soa_is_one_change(hosted: Stack, tmp_path: Path) -> None:
    """Records and SOA fields in one transaction: the serial moves once, never half-imported."""
    before = serial(hosted)
    zone = tmp_path / "zone"
    zone.write_text(
        "$TTL 600\n"
        "@ IN SOA mx.example.test. hostmaster.example.test. 1 7200 900 1209600 300\n"
        "@ IN NS mx.example.test.\n"
        "www IN A 192.0.2.1\n"
    )
    hosted.cli("dns", "import", "example.test", str(zone), check=True)
    listing = hosted.cli("dns", "list", "example.test", check=True).stdout
    assert "www\t600\tIN\tA\t192.0.2.1" in listing
    assert serial(hosted) == before + 1


def test_ddns_add_prints_success_only_after_everything_is_written(hosted: Stack) -> None:
    result = hosted.cli(
        "ddns", "add", "nas3.example.test", "--user", "u3", "--password-stdin", "--ip",
        "192.0.2.30", stdin=DDNS_PW, check=True,
    )  # fmt: skip
    assert result.stdout.splitlines() == [
        "DDNS user u3 created",
        "DDNS host nas3.example.test (zone example.test) may be updated by u3",
        "nas3.example.test A 192.0.2.30",
    ]
    assert "nas3\t60\tIN\tA\t192.0.2.30" in hosted.cli("dns", "list", "example.test").stdout


def test_init_with_a_bad_hostname_writes_nothing(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    result = stack.cli("init", "--hostname", "bad..name")
    errors = result.stderr.splitlines()
    assert result.returncode == 1, result.stderr
    assert len(errors) == 1 and errors[0].startswith("swissbox: error:"), result.stderr
    assert "empty label" in errors[0]
    assert not stack.data.exists()


def test_member_remove_settles_mailboxes_and_removes_in_one_transaction(
    hosted: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The member's mailboxes are handed over or disabled only together with the removal: a
    removal that fails after that step (here forced) leaves the mailbox as it was."""
    from swissbox.cli import main
    from swissbox.directory import Conflict, Directory

    hosted.cli("account", "add", "bob@example.test", "--org", "acme", "--password-stdin",
               stdin="bob-account-pw\n", check=True)  # fmt: skip
    hosted.cli("mailbox", "grant", "info@example.test", "bob@example.test", check=True)
    before = dump(hosted)

    def refuse(*args: object) -> bool:
        raise Conflict("removal refused half-way (forced by the test)")

    monkeypatch.setattr(Directory, "remove_member", refuse)
    argv = ["org", "member", "remove", "bob@example.test", "--delete-data", "--confirm",
            "bob@example.test", "--data", str(hosted.data)]  # fmt: skip
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == ["swissbox: error: removal refused half-way (forced by the test)"]
    assert out == ""
    assert dump(hosted) == before  # info@ still opens with its password, bob still holds it


def test_mailbox_import_of_a_folder_that_is_no_maildir_is_refused(
    hosted: Stack, tmp_path: Path
) -> None:
    from swissbox.mailstore.paths import mailbox_dir

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("not mail\n")
    assert_refused(
        hosted, ("mailbox", "import", "info@example.test", str(tmp_path)), None, "not a Maildir"
    )
    assert not mailbox_dir(hosted.data / "mail", "info@example.test").exists()


def test_init_does_not_ignore_a_hostname_it_would_not_use(hosted: Stack) -> None:
    config = (hosted.data / "swissbox.toml").read_text()
    assert_refused(hosted, ("init", "--hostname", "other.example.test"), None, "change it there")
    assert (hosted.data / "swissbox.toml").read_text() == config
    assert "kept" in hosted.cli("init", "--hostname", "MX.example.test.", check=True).stdout


def test_a_data_folder_that_cannot_be_used_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    stack = Stack(tmp_path / "file")  # its data folder would be inside a regular file
    result = stack.cli("init")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f"swissbox: error: {stack.data}: Not a directory"]
    broken = Stack(tmp_path / "broken")
    broken.write_config()
    (broken.data / "swissbox.db").write_text("not a database\n" * 100)
    result = broken.cli("org", "list")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"swissbox: error: database {broken.data / 'swissbox.db'}: file is not a database"
    ]
