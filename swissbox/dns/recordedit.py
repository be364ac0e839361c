"""Adding and deleting records of a hosted zone with every check of `swissbox dns add/del`
(master-file syntax, RRset TTLs, CNAME and apex rules): one place for the CLI and the admin
API. Each function writes in one `Directory.change_records` call, or raises RecordError."""

from __future__ import annotations

import base64
import secrets

from swissbox.directory import Directory, TsigKey
from swissbox.dns.masterfile import conflicts
from swissbox.dns.records import RecordError, canonical_rdata, owner_name, parse_record

Rec = tuple[str, str, int, str]  # name (absolute, no final dot), type, ttl, rdata


def add_record(
    d: Directory, zone: str, name: str, rtype: str, value: str, ttl: int | None = None
) -> tuple[Rec, bool]:
    """Adds one record to its RRset: (the record, whether anything changed). TTL defaults
    to the RRset's, else the zone's."""
    domain = d.domain(zone)
    owner = owner_name(domain.name, name)
    existing = d.records(domain.name, owner)
    rtype = rtype.upper()
    same = [r for r in existing if r.type == rtype]
    if ttl is None:
        ttl = same[0].ttl if same else domain.default_ttl
    rec = parse_record(domain.name, name, rtype, value, ttl)
    merged = [(r.name, r.type, r.ttl, r.rdata) for r in existing if (r.type, r.rdata) != rec[1::2]]
    problems = conflicts([*merged, rec], domain.name)
    if problems:
        raise RecordError("; ".join(problems))
    return rec, bool(d.change_records(domain.name, add=[rec]))


def delete_records(d: Directory, zone: str, name: str, rtype: str, value: str | None = None) -> int:
    """Deletes NAME TYPE (all of them, or the one with VALUE); returns how many went.
    The SOA and the apex's last NS stay."""
    domain = d.domain(zone)
    rtype = rtype.upper()
    owner = owner_name(domain.name, name)
    if rtype == "SOA":
        raise RecordError("the SOA cannot be deleted (remove the domain instead)")
    rdata = canonical_rdata(domain.name, rtype, value) if value else None
    existing = d.records(domain.name, owner)
    doomed = [r for r in existing if r.type == rtype and (rdata is None or r.rdata == rdata)]
    if not doomed:
        what = f"{owner} {rtype}" + (f" {rdata}" if rdata else "")
        raise RecordError(f"no record {what} in {domain.name}")
    if owner == domain.name and rtype == "NS":
        left = [r for r in existing if r.type == "NS" and r not in doomed]
        if not left:
            raise RecordError("the zone apex must keep at least one NS record")
    d.change_records(domain.name, delete=[(owner, rtype, rdata)])
    return len(doomed)


def new_tsig_key(d: Directory, keyname: str, zone: str, names: str | None) -> tuple[TsigKey, str]:
    """A new hmac-sha256 key for `zone`, limited to `names` (comma-separated names or
    `*.x` patterns inside the zone; None: any name in it). Returns (key, base64 secret):
    the secret is shown this once."""
    domain = d.domain(zone)
    pattern = ""
    if names:
        patterns = []
        for item in names.split(","):
            item = item.strip().rstrip(".").lower()
            body = item[2:] if item.startswith("*.") else item
            if body != domain.name and not body.endswith("." + domain.name):
                raise RecordError(f"--name {item!r} is outside the zone {domain.name}")
            patterns.append(item)
        pattern = ",".join(patterns)
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    return d.add_tsig_key(keyname, secret, domain.name, pattern), secret
