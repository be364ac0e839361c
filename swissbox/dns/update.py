"""RFC 2136 UPDATE, signed with TSIG (RFC 8945): prerequisites, then the update, atomically.

`Updater.handle(packet, client, tcp)` is the engine's opcode-5 handler. The zone is read from
the directory, the whole update is applied to an in-memory copy in order (RFC 2136 3.4.2),
and the difference is written in one directory transaction (one serial bump). The SOA and the
apex NS records are protected: updates to them are ignored, as RFC 2136 prescribes for SOA
deletion and the last apex NS.
"""

from __future__ import annotations

import fnmatch
import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dnslib import QTYPE, RD, RDMAP, DNSBuffer, DNSError, DNSHeader, DNSQuestion, DNSRecord
from dnslib.bimap import BimapError
from dnslib.buffer import BufferError

from swissbox.directory import Directory, DirectoryError, Domain, TsigKey
from swissbox.dns import tsig
from swissbox.dns.records import RecordError, canonical_rdata, check_placement, soa_rdata
from swissbox.dns.resolver import (
    C_ANY,
    C_IN,
    FORMERR,
    NOERROR,
    NXDOMAIN,
    OP_UPDATE,
    REFUSED,
    SERVFAIL,
    T_ANY,
)
from swissbox.dns.zone import T_SOA

log = logging.getLogger("swissbox.dns.update")

# RFC 2136 2.2 and 1.4: the rcodes and class the query path does not use
YXDOMAIN, YXRRSET, NXRRSET, NOTAUTH, NOTZONE = 6, 7, 8, 9, 10
C_NONE = 254
META_TYPES = {250, 251, 252, 253, 254, 255, 41}  # TSIG, IXFR, AXFR, MAILB, MAILA, ANY, OPT


@dataclass(frozen=True)
class WireRR:
    """One record of an UPDATE message; `rdata` is None for the empty (rdlength 0) forms
    that dnslib's own parser refuses."""

    rname: str
    rtype: int
    rclass: int
    ttl: int
    rdata: RD | None


@dataclass(frozen=True)
class UpdateMessage:
    id: int
    zone: str
    zone_type: int
    zocount: int
    prereqs: list[WireRR]
    updates: list[WireRR]


def parse_update(data: bytes, end: int) -> UpdateMessage:
    """Header, zone, prerequisite and update sections of data[:end] (end: where TSIG starts)."""
    buf = DNSBuffer(data[:end])
    try:
        ident, _flags, zocount, prcount, upcount, _adcount = buf.unpack("!HHHHHH")
        zone, zone_type = "", 0
        for _ in range(zocount):
            zone = str(buf.decode_name()).rstrip(".").lower()
            zone_type, _zclass = buf.unpack("!HH")
        sections: list[list[WireRR]] = [[], []]
        for section, count in ((0, prcount), (1, upcount)):
            for _ in range(count):
                name = str(buf.decode_name()).rstrip(".").lower()
                rtype, rclass, ttl, rdlength = buf.unpack("!HHIH")
                rdata = None
                if rdlength:
                    start = buf.offset
                    rdata = RDMAP.get(QTYPE.get(rtype, None), RD).parse(buf, rdlength)
                    buf.offset = start + rdlength
                sections[section].append(WireRR(name, rtype, rclass, ttl, rdata))
    except (
        BufferError,
        BimapError,
        DNSError,
        ValueError,
        IndexError,
        struct.error,
        UnicodeError,
    ) as exc:
        raise tsig.WireError(str(exc)) from None
    return UpdateMessage(ident, zone, zone_type, zocount, sections[0], sections[1])


class UpdateError(Exception):
    def __init__(self, rcode: int, why: str) -> None:
        super().__init__(why)
        self.rcode = rcode


@dataclass
class ZoneState:
    """A zone's records as (name, TYPE) -> (ttl, {rdata}); the SOA included, read-only."""

    origin: str
    rrsets: dict[tuple[str, str], tuple[int, set[str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Directory, domain: Domain) -> ZoneState:
        state = cls(domain.name)
        state.rrsets[(domain.name, "SOA")] = (domain.soa_minimum, {soa_rdata(domain)})
        for r in directory.records(domain.name):
            ttl, values = state.rrsets.get((r.name, r.type), (r.ttl, set()))
            values.add(r.rdata)
            state.rrsets[(r.name, r.type)] = (ttl, values)
        return state

    def copy(self) -> ZoneState:
        return ZoneState(self.origin, {k: (t, set(v)) for k, (t, v) in self.rrsets.items()})

    def types_at(self, name: str) -> set[str]:
        return {t for (n, t), (_, v) in self.rrsets.items() if n == name and v}

    def diff(
        self, new: ZoneState
    ) -> tuple[list[tuple[str, str | None, str | None]], list[tuple[str, str, int, str]]]:
        deletes: list[tuple[str, str | None, str | None]] = []
        adds: list[tuple[str, str, int, str]] = []
        for key in set(self.rrsets) | set(new.rrsets):
            if key[1] == "SOA":
                continue
            old_ttl, old = self.rrsets.get(key, (0, set()))
            new_ttl, now = new.rrsets.get(key, (0, set()))
            deletes += [(key[0], key[1], v) for v in sorted(old - now)]
            changed_ttl = bool(now & old) and new_ttl != old_ttl
            adds += [
                (key[0], key[1], new_ttl, v) for v in sorted(now - old if not changed_ttl else now)
            ]
        return deletes, adds


def _in_zone(name: str, origin: str) -> bool:
    return name == origin or name.endswith("." + origin)


def _type(code: int) -> str:
    return str(QTYPE.get(code, f"TYPE{code}"))


class Updater:
    """Processes UPDATE messages for hosted zones; `on_change(zone)` after each applied change."""

    def __init__(
        self,
        directory: Directory,
        on_change: Callable[[str], None] = lambda zone: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.on_change = on_change
        self.clock = clock

    # -- entry point ------------------------------------------------------------------------

    def handle(self, data: bytes, client: str, tcp: bool) -> list[bytes]:
        try:
            record_tsig = tsig.find_tsig(data)
            message = parse_update(data, record_tsig.offset if record_tsig else len(data))
        except tsig.WireError:
            return [self._bare(data, FORMERR)]
        if message.zocount != 1 or message.zone_type != T_SOA:
            return [self._bare(data, FORMERR)]
        zone_name = message.zone
        verdict: tsig.Verdict | None = None
        key_row: TsigKey | None = None
        if record_tsig is not None:
            key_row = self.directory.tsig_key(record_tsig.key_name)
            key = (
                tsig.Key(key_row.name, key_row.algorithm, tsig.decode_secret(key_row.secret))
                if key_row is not None
                else None
            )
            verdict = tsig.verify(data, record_tsig, key, self.clock())
            if verdict.error:
                log.info("update of %s from %s: TSIG error %d", zone_name, client, verdict.error)
                return [self._respond(message, NOTAUTH, verdict)]
        try:
            rcode = self._process(message, zone_name, key_row, client)
        except UpdateError as exc:
            log.info("update of %s from %s refused: %s", zone_name, client, exc)
            rcode = exc.rcode
        except Exception:
            log.exception("update of %s from %s failed", zone_name, client)
            rcode = SERVFAIL
        return [self._respond(message, rcode, verdict)]

    # -- RFC 2136 section 3 -----------------------------------------------------------------

    def _process(
        self, message: UpdateMessage, zone_name: str, key_row: TsigKey | None, client: str
    ) -> int:
        """`key_row`: the verified request's key (None when unsigned)."""
        try:
            domain = self.directory.domain(zone_name)
        except DirectoryError:
            raise UpdateError(NOTAUTH, f"{zone_name} is not a zone of ours") from None
        if key_row is None:
            raise UpdateError(REFUSED, "unsigned update")
        if key_row.zone != domain.name:
            raise UpdateError(REFUSED, f"key {key_row.name} is not for {domain.name}")
        prereqs, updates = message.prereqs, message.updates
        state = ZoneState.load(self.directory, domain)
        self._check_prerequisites(state, prereqs)
        self._prescan(domain.name, updates, key_row.name_pattern)
        new = state.copy()
        for rr in updates:
            self._apply(new, rr)
        deletes, adds = state.diff(new)
        if deletes or adds:
            self.directory.change_records(domain.name, delete=deletes, add=adds)
            log.info(
                "update of %s by key %s from %s: -%d +%d",
                domain.name,
                key_row.name,
                client,
                len(deletes),
                len(adds),
            )
            self.on_change(domain.name)
        return NOERROR

    def _canonical(self, origin: str, rr: WireRR) -> tuple[str, str, str]:
        name, rtype = rr.rname, _type(rr.rtype)
        if rr.rdata is None:
            raise UpdateError(FORMERR, f"{name} {rtype}: record without data")
        try:
            rdata = canonical_rdata(origin, rtype, rr.rdata.toZone())
        except RecordError as exc:
            raise UpdateError(REFUSED, str(exc)) from None
        except Exception as exc:  # dnslib could not print what it parsed
            raise UpdateError(FORMERR, str(exc)) from None
        return name, rtype, rdata

    def _check_prerequisites(self, state: ZoneState, prereqs: list[WireRR]) -> None:
        origin = state.origin
        wanted: dict[tuple[str, str], set[str]] = {}
        for rr in prereqs:
            name = rr.rname
            if rr.ttl != 0:
                raise UpdateError(FORMERR, "prerequisite TTL must be 0")
            if not _in_zone(name, origin):
                raise UpdateError(NOTZONE, f"{name} is outside {origin}")
            rtype = _type(rr.rtype)
            empty = rr.rdata is None
            if rr.rclass == C_ANY:
                if not empty:
                    raise UpdateError(FORMERR, "class ANY prerequisite with data")
                if rr.rtype == T_ANY:
                    if not state.types_at(name):
                        raise UpdateError(NXDOMAIN, f"{name} has no records")
                elif not state.rrsets.get((name, rtype), (0, set()))[1]:
                    raise UpdateError(NXRRSET, f"{name} {rtype} does not exist")
            elif rr.rclass == C_NONE:
                if not empty:
                    raise UpdateError(FORMERR, "class NONE prerequisite with data")
                if rr.rtype == T_ANY:
                    if state.types_at(name):
                        raise UpdateError(YXDOMAIN, f"{name} is in use")
                elif state.rrsets.get((name, rtype), (0, set()))[1]:
                    raise UpdateError(YXRRSET, f"{name} {rtype} exists")
            elif rr.rclass == C_IN:
                n, t, rdata = self._canonical(origin, rr)
                wanted.setdefault((n, t), set()).add(rdata)
            else:
                raise UpdateError(FORMERR, f"prerequisite class {rr.rclass}")
        for key, values in wanted.items():
            if state.rrsets.get(key, (0, set()))[1] != values:
                raise UpdateError(NXRRSET, f"{key[0]} {key[1]} differs")

    def _prescan(self, origin: str, updates: list[WireRR], pattern: str) -> None:
        for rr in updates:
            name = rr.rname
            if not _in_zone(name, origin):
                raise UpdateError(NOTZONE, f"{name} is outside {origin}")
            if pattern and not any(
                fnmatch.fnmatchcase(name, p.strip().lower()) for p in pattern.split(",")
            ):
                raise UpdateError(REFUSED, f"{name} is outside the key's scope {pattern}")
            if rr.rclass == C_IN:
                if rr.rtype in META_TYPES:
                    raise UpdateError(FORMERR, "meta type in an update")
                if rr.rtype != T_SOA:
                    self._canonical(origin, rr)
                    try:
                        check_placement(origin, name, _type(rr.rtype))
                    except RecordError as exc:
                        raise UpdateError(REFUSED, str(exc)) from None
            elif rr.rclass == C_ANY:
                if (
                    rr.ttl != 0
                    or rr.rdata is not None
                    or (rr.rtype in META_TYPES and rr.rtype != T_ANY)
                ):
                    raise UpdateError(FORMERR, "bad class ANY update")
            elif rr.rclass == C_NONE:
                if rr.ttl != 0 or rr.rtype in META_TYPES:
                    raise UpdateError(FORMERR, "bad class NONE update")
            else:
                raise UpdateError(FORMERR, f"update class {rr.rclass}")

    def _apply(self, state: ZoneState, rr: WireRR) -> None:
        origin = state.origin
        name, rtype = rr.rname, _type(rr.rtype)
        protected = rtype == "SOA" or (rtype == "NS" and name == origin)
        if rr.rclass == C_IN:
            if protected:
                return
            _, _, rdata = self._canonical(origin, rr)
            types = state.types_at(name)
            if rtype == "CNAME" and types - {"CNAME"}:
                return
            if rtype != "CNAME" and "CNAME" in types:
                return
            if rtype == "CNAME":
                state.rrsets[(name, rtype)] = (rr.ttl, {rdata})
                return
            _, values = state.rrsets.get((name, rtype), (rr.ttl, set()))
            values.add(rdata)
            state.rrsets[(name, rtype)] = (rr.ttl, values)
        elif rr.rclass == C_ANY:
            if rr.rtype == T_ANY:
                for key in [k for k in state.rrsets if k[0] == name]:
                    if not (key[1] == "SOA" or (key[1] == "NS" and name == origin)):
                        del state.rrsets[key]
            elif not protected:
                state.rrsets.pop((name, rtype), None)
        elif rr.rclass == C_NONE and not protected:
            _, _, rdata = self._canonical(origin, rr)
            ttl, values = state.rrsets.get((name, rtype), (0, set()))
            values.discard(rdata)
            if values:
                state.rrsets[(name, rtype)] = (ttl, values)
            else:
                state.rrsets.pop((name, rtype), None)

    # -- responses --------------------------------------------------------------------------

    def _respond(self, message: UpdateMessage, rcode: int, verdict: tsig.Verdict | None) -> bytes:
        header = DNSHeader(id=message.id, qr=1, rd=0, opcode=OP_UPDATE, rcode=rcode)
        wire = bytes(DNSRecord(header, q=question_for(message.zone)).pack())
        if verdict is not None:
            wire = tsig.sign_response(wire, verdict, self.clock())
        return wire

    @staticmethod
    def _bare(data: bytes, rcode: int) -> bytes:
        ident = data[:2] if len(data) >= 2 else b"\0\0"
        flags = 0x8000 | (OP_UPDATE << 11) | rcode
        return ident + struct.pack("!HHHHH", flags, 0, 0, 0, 0)


def question_for(zone: str) -> DNSQuestion:
    return DNSQuestion(zone + ".", T_SOA)
