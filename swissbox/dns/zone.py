"""Immutable in-memory views of hosted zones, built from the directory's rows.

A `ZoneView` maps lower-case absolute names (no final dot) to their RRsets (dnslib RD objects
grouped by type code), knows every name that exists (including empty non-terminals), the
delegation points below the apex, and the SOA synthesised from the domain row. A `ZoneSet`
finds the zone of a query name by the longest hosted suffix. No I/O here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from dnslib import QTYPE, RD, SOA, DNSLabel

from swissbox.directory.model import Domain, Record
from swissbox.dns.records import RecordError, qtype_code, rdata_to_rd

log = logging.getLogger("swissbox.dns")

T_SOA, T_NS, T_CNAME, T_A, T_AAAA, T_DS, T_DNSKEY = (
    QTYPE.SOA,
    QTYPE.NS,
    QTYPE.CNAME,
    QTYPE.A,
    QTYPE.AAAA,
    QTYPE.DS,
    QTYPE.DNSKEY,
)


class RRset:
    """One RRset: type code, TTL and the canonical rdata texts as stored. The dnslib objects
    are made on demand (`rdatas`): queries are answered from precomputed bytes, so they are
    only needed to build answers, which keeps big zones small and quick to load."""

    __slots__ = ("rtype", "ttl", "texts", "_fixed")

    def __init__(
        self, rtype: int, ttl: int, texts: tuple[str, ...] = (), fixed: tuple[RD, ...] = ()
    ) -> None:
        self.rtype, self.ttl, self.texts, self._fixed = rtype, ttl, texts, fixed

    @property
    def rdatas(self) -> tuple[RD, ...]:
        if self._fixed:
            return self._fixed
        name = QTYPE.get(self.rtype)
        out = []
        for text in self.texts:
            try:
                out.append(rdata_to_rd(name, text))
            except RecordError as exc:
                log.warning("unusable %s record %r: %s", name, text, exc)
        return tuple(out)


def name_key(labels: Iterable[bytes]) -> str:
    """Wire labels -> lookup key: lower-case, '.'-joined; a '.' or '\\' inside a label is
    escaped (\\046, \\092) so such a name never collides with a stored one."""
    return ".".join(
        lab.lower().replace(b"\\", b"\\092").replace(b".", b"\\046").decode("latin-1")
        for lab in labels
    )


def label_key(label: DNSLabel) -> str:
    return name_key(label.label)


@dataclass
class ZoneView:
    origin: str
    serial: int
    soa: RRset
    negative_ttl: int
    nodes: dict[str, dict[int, RRset]] = field(default_factory=dict)
    existing: set[str] = field(default_factory=set)
    cuts: set[str] = field(default_factory=set)
    records: int = 0
    # a DNSKEY at the apex: the zone is (pre)signed, so DNSSEC records go with DO answers
    signed: bool = False

    @classmethod
    def build(cls, domain: Domain, records: Iterable[Record]) -> ZoneView:
        origin = domain.name
        soa_rd = SOA(
            DNSLabel(domain.soa_mname + "."),
            DNSLabel(domain.soa_rname + "."),
            (
                domain.serial,
                domain.soa_refresh,
                domain.soa_retry,
                domain.soa_expire,
                domain.soa_minimum,
            ),
        )
        soa_ttl = domain.default_ttl
        soa = RRset(T_SOA, soa_ttl, fixed=(soa_rd,))
        view = cls(origin, domain.serial, soa, min(soa_ttl, domain.soa_minimum))
        grouped: dict[tuple[str, int], tuple[int, list[str]]] = {}
        codes: dict[str, int] = {}
        count = 0
        for rec in records:
            code = codes.get(rec.type)
            if code is None:
                try:
                    code = codes[rec.type] = qtype_code(rec.type)
                except RecordError as exc:
                    log.warning("zone %s: skipping %s %s: %s", origin, rec.name, rec.type, exc)
                    continue
            if code == T_SOA:
                continue
            if code == T_DS and rec.name == origin:
                # the parent's record (older versions let it in): secondaries reject the zone
                log.warning(
                    "zone %s: DS at the apex is not served (it belongs in the parent)", origin
                )
                continue
            key = (rec.name, code)
            if key in grouped:
                grouped[key][1].append(rec.rdata)
            else:
                grouped[key] = (rec.ttl, [rec.rdata])
            count += 1
        nodes = view.nodes
        nodes[origin] = {T_SOA: soa}
        for (name, code), (ttl, texts) in grouped.items():
            nodes.setdefault(name, {})[code] = RRset(code, ttl, tuple(texts))
        view.records = count + 1
        view.signed = T_DNSKEY in nodes[origin]
        suffix = "." + origin
        existing = view.existing
        existing.add(origin)
        for name in nodes:
            if name == origin or not name.endswith(suffix):
                continue
            # the name and every ancestor up to the apex exist (empty non-terminals)
            n = name
            while n != origin and n not in existing:
                existing.add(n)
                n = n.split(".", 1)[1]
            if T_NS in nodes[name]:
                view.cuts.add(name)
        return view

    def soa_record_set(self) -> RRset:
        return self.soa


class ZoneSet:
    """The hosted zones by origin; `find(key)` returns the zone holding a name key."""

    def __init__(self, zones: dict[str, ZoneView] | None = None) -> None:
        self.zones: dict[str, ZoneView] = zones or {}

    def find(self, key: str, *, parent_of_apex: bool = False) -> ZoneView | None:
        zones = self.zones
        if not zones or not key:
            return None
        name = key
        if parent_of_apex:  # DS lives in the parent zone
            if "." not in name:
                return zones.get(key)
            name = name.split(".", 1)[1]
        while True:
            zone = zones.get(name)
            if zone is not None:
                return zone
            dot = name.find(".")
            if dot < 0:
                break
            name = name[dot + 1 :]
        return zones.get(key) if parent_of_apex else None
