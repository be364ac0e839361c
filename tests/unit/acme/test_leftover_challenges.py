"""A server stopped in the middle of a DNS-01 order leaves its `_acme-challenge` TXT record in
the zone; the next start takes out exactly the records it published itself."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from swissbox.acme.plan import DNS_01
from swissbox.acme.service import AcmeService
from swissbox.conf.schema import AcmeSettings
from swissbox.directory import Directory
from swissbox.directory.mailrecords import canonical

OWN = "_acme-challenge.example.test"


def service(tmp_path: Path, directory: Directory, enabled: bool) -> AcmeService:
    ctx = SimpleNamespace(
        settings=SimpleNamespace(acme=AcmeSettings(enabled=enabled)),
        config=SimpleNamespace(data_dir=tmp_path),
        directory=directory,
        emit=lambda event: None,
    )
    return AcmeService(ctx)  # type: ignore[arg-type]


def txt(directory: Directory, name: str) -> list[str]:
    return [r.rdata for r in directory.records("example.test", name) if r.type == "TXT"]


def test_a_record_left_by_a_stopped_order_is_removed_at_start(tmp_path: Path) -> None:
    directory = Directory(tmp_path / "swissbox.db")
    directory.add_org("acme")
    directory.add_domain("example.test", "acme", "ns1.example.test")
    # the operator's own record at the same name (another ACME client) must stay
    directory.change_records("example.test", add=[canonical(OWN, "TXT", 60, '"operator"')])

    first = service(tmp_path, directory, enabled=True)
    first.publish(DNS_01, "example.test", OWN, "token-a")
    first.publish(DNS_01, "example.test", OWN, "token-b")
    first.withdraw(DNS_01, "example.test", OWN, "token-b")  # this one finished
    assert sorted(txt(directory, OWN)) == ['"operator"', '"token-a"']
    # ... and the server stops here, mid-order; ACME is then turned off
    second = service(tmp_path, directory, enabled=False)
    assert asyncio.run(second.start()) == []
    assert txt(directory, OWN) == ['"operator"']
    assert second.files.challenges() == []


def test_a_leftover_in_a_zone_no_longer_hosted_is_forgotten(tmp_path: Path) -> None:
    directory = Directory(tmp_path / "swissbox.db")
    directory.add_org("acme")
    directory.add_domain("example.test", "acme", "ns1.example.test")
    service(tmp_path, directory, enabled=True).publish(DNS_01, "example.test", OWN, "t")
    directory.remove_domain("example.test")
    again = service(tmp_path, directory, enabled=False)
    asyncio.run(again.start())
    assert again.files.challenges() == []
