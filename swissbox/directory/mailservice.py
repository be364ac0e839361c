"""Turning an Email Service on (`swissbox mail enable`, the demo, later the admin API): the
service row, its DNS records and the domain's first DKIM keys, in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from swissbox.directory.dkim import DkimKey, ensure_keys
from swissbox.directory.mailrecords import configured_mail_records
from swissbox.directory.model import EmailService
from swissbox.directory.store import Directory

RecordTuple = tuple[str, str, int, str]


def enable_mail(
    directory: Directory,
    key_dir: Path,
    settings: Any,
    domain: str,
    max_addresses: int | None = None,
) -> tuple[EmailService, list[RecordTuple], list[DkimKey]]:
    """Creates or updates the Email Service of `domain`; (service, its mail records, the DKIM
    keys made now: none when it has keys already). Run again after the MTA-STS mode or a port
    changed, it replaces the `_mta-sts` record (one STS record per domain, RFC 8461 3.1) and
    the SRV records of the services it announces (a client would try the old port too)."""
    name = directory.domain(domain).name
    records = configured_mail_records(name, settings)
    wanted = {(n, t, rdata) for n, t, _, rdata in records}
    replaced = {(f"_mta-sts.{name}", "TXT")} | {(n, t) for n, t, _, _ in records if t == "SRV"}
    with directory.transaction():
        stale = [
            (r.name, r.type, r.rdata)
            for owner in sorted({n for n, _ in replaced})
            for r in directory.records(name, owner)
            if (r.name, r.type) in replaced and (r.name, r.type, r.rdata) not in wanted
        ]
        if stale:
            directory.change_records(name, delete=stale)
        service = directory.enable_email(name, max_addresses, records)
        made = ensure_keys(directory, key_dir, name)
    return service, records, made
