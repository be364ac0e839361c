"""`swissbox migrate --to`: a single-box installation's directory moved to PostgreSQL, checked
by counts and checksums, idempotent, served from there; and back to a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype

from swissbox.directory import Directory
from tests.support.stack import Stack


def report(result: Any) -> dict[str, tuple[int, str]]:
    return {t["table"]: (t["rows"], t["sha256"]) for t in json.loads(result.stdout)}


def a_records(stack: Stack, name: str) -> set[str]:
    reply = dns.query.udp(
        dns.message.make_query(name, dns.rdatatype.A),
        "127.0.0.1",
        port=stack.ports["dns"],
        timeout=5,
    )
    return {rr.to_text() for rrset in reply.answer for rr in rrset}


def test_migrate_to_postgresql_and_back(tmp_path: Path, postgres: Any) -> None:
    url = postgres.new_database()
    with Stack(tmp_path / "box") as stack:
        stack.provision(
            mailboxes={"toto@example.test": "mailbox-pw-1", "info@example.test": "mailbox-pw-2"},
            accounts={"toto@elsewhere.org": "account-pw-1"},
        )
        stack.cli("mailbox", "grant", "info@example.test", "toto@elsewhere.org", check=True)
        stack.cli("dns", "add", "example.test", "www", "A", "192.0.2.80", check=True)
        stack.cli(
            "ddns", "add", "nas.example.test", "--user", "router1", "--password-stdin",
            stdin="Router1Pass\n", check=True,
        )  # fmt: skip
        stack.cli("alias", "add", "sales@example.test", "toto@example.test", check=True)

        first = stack.cli("migrate", "--to", url, "--json", check=True)
        copied = report(first)
        assert copied["mailboxes"][0] == 2 and copied["records"][0] > 5
        assert copied["mailbox_grants"][0] == 1 and copied["ddns_hosts"][0] == 1
        # idempotent: again, the same target
        assert report(stack.cli("migrate", "--to", url, "--json", check=True)) == copied
        # a change made meanwhile on the box is carried by the next run
        stack.cli("dns", "add", "example.test", "mail2", "A", "192.0.2.25", check=True)
        assert report(stack.cli("migrate", "--to", url, "--json", check=True)) != copied

        # served from PostgreSQL: the box's config now points there
        stack.settings["store"] = {"url": url}
        stack.write_config()
        (stack.data / "swissbox.db").rename(stack.data / "swissbox.db.before-migration")
        stack.start()
        assert a_records(stack, "www.example.test") == {"192.0.2.80"}
        assert a_records(stack, "mail2.example.test") == {"192.0.2.25"}
        assert "toto@example.test" in stack.cli("mailbox", "list", check=True).stdout
        stack.stop()

        # and back to a SQLite file: same rows, same checksums
        back = tmp_path / "back.sqlite"
        returned = report(stack.cli("migrate", "--to", str(back), "--json", check=True))
        with Directory(back) as d:
            assert {m.address for m in d.mailboxes()} == {"info@example.test", "toto@example.test"}
        # the copy back carries every row of PostgreSQL: the same checksums as the first copy
        # there plus the later record
        assert returned["mailboxes"] == copied["mailboxes"]
        assert returned["records"][0] == copied["records"][0] + 1
