"""The authoritative resolver: query bytes + zone set -> response bytes. No I/O, no clock.

Rules (RFC 1034 4.3.2, 2181, 2308, 4592, 6604, 6891, 8482):
- AA on authoritative answers, RA never; names outside every hosted zone get REFUSED.
- NXDOMAIN vs NODATA (empty non-terminals are NODATA), with the zone's SOA in the authority
  section at the negative TTL min(SOA TTL, SOA MINIMUM).
- CNAME chains are followed inside the zone (loops stopped); the final rcode is the last name's.
- Wildcards synthesise answers only where the name does not exist below the closest encloser.
- Delegations (NS below the apex) give referrals: NS in authority, glue in additional, AA clear.
  DS at a delegation point is answered by the parent (this zone).
- The question is echoed as sent (case included); owner names use the question's case.
- EDNS(0): OPT answered with payload 1232 and the DO bit echoed; version > 0 -> BADVERS;
  unknown options ignored. A UDP response larger than the client's size is sent with TC=1 and
  empty sections (the additional section is dropped first when it is only optional).
- Referrals carry the child's DS only when DO is set and the zone is signed (RFC 4035 3.1,
  3.1.4; what NSD and Knot do); DS asked for by type is always answered.
- ANY gets one RRset (RFC 8482). Malformed queries: FORMERR when the 12-byte header can be read,
  nothing otherwise; responses (QR=1) never answered; unknown opcodes NOTIMP. Malformed includes
  a question name over 255 octets or with a label over 63, and an OPT outside the additional
  section (RFC 6891 6.1.1). A FORMERR is the bare header, as NSD sends it: ID, opcode and RD
  echoed, no question and no OPT (RFC 6891 7).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from dnslib import EDNS0, QTYPE, RR, DNSHeader, DNSLabel, DNSQuestion, DNSRecord

from swissbox.dns.zone import (
    T_A,
    T_AAAA,
    T_CNAME,
    T_DS,
    T_NS,
    RRset,
    ZoneSet,
    ZoneView,
    label_key,
)

OUR_PAYLOAD = 1232
MAX_CHAIN = 12
MAX_NAME_OCTETS, MAX_LABEL_OCTETS = 255, 63  # RFC 1035 2.3.4

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
BADVERS = 16
OP_QUERY, OP_NOTIFY, OP_UPDATE = 0, 4, 5
T_OPT, T_ANY, T_AXFR, T_IXFR = 41, 255, 252, 251
META_TYPES = {T_OPT, 249, 250}  # OPT, TKEY, TSIG are never questions
C_IN, C_ANY = 1, 255


def header_response(data: bytes, rcode: int) -> bytes | None:
    """A bare header-only response (ID and opcode echoed, RD too for QUERY, the only opcode
    that defines it) or None when no header is readable."""
    if len(data) < 12:
        return None
    qid, flags = struct.unpack_from("!HH", data)
    if flags & 0x8000:
        return None
    opcode = flags & 0x7800
    echoed = opcode | (flags & 0x0100 if opcode == OP_QUERY else 0)
    return struct.pack("!HHHHHH", qid, 0x8000 | echoed | (rcode & 0xF), 0, 0, 0, 0)


@dataclass
class Query:
    """A parsed query: the dnslib record, its single question, and the EDNS shape."""

    record: DNSRecord
    question: DNSQuestion
    key: str
    edns: bool = False
    edns_version: int = 0
    udp_size: int = 512
    do: bool = False

    @property
    def qtype(self) -> int:
        return int(self.question.qtype)


def name_fits(name: DNSLabel) -> bool:
    """False for a name that no DNS message may carry: a label over 63 octets (dnslib reads
    the reserved 01/10 length prefixes as lengths) or over 255 octets in all."""
    labels = name.label
    if any(len(label) > MAX_LABEL_OCTETS for label in labels):
        return False
    return sum(len(label) + 1 for label in labels) + 1 <= MAX_NAME_OCTETS


def parse_query(data: bytes) -> Query | bytes | None:
    """Query, or the bytes of an error response (FORMERR/NOTIMP), or None (stay silent)."""
    if len(data) < 12:
        return None
    flags = struct.unpack_from("!H", data, 2)[0]
    if flags & 0x8000:
        return None  # a response: never answer (no reflection loops)
    try:
        record = DNSRecord.parse(data)
    except Exception:  # DNSError in practice; whatever it is, the packet is malformed
        return header_response(data, FORMERR)
    if len(record.questions) != 1 or not name_fits(record.questions[0].qname):
        return header_response(data, FORMERR)
    if any(rr.rtype == T_OPT for rr in (*record.rr, *record.auth)):
        return header_response(data, FORMERR)
    question = record.questions[0]
    query = Query(record, question, label_key(question.qname))
    opts = [rr for rr in record.ar if rr.rtype == T_OPT]
    if len(opts) > 1 or (opts and opts[0].rname.label):
        return header_response(data, FORMERR)
    if opts:
        opt = opts[0]
        query.edns = True
        query.udp_size = max(512, int(opt.rclass))
        query.edns_version = (opt.ttl >> 16) & 0xFF
        query.do = bool(opt.ttl & 0x8000)
    return query


@dataclass
class Answer:
    """What the lookup found, before packing."""

    rcode: int = NOERROR
    aa: bool = True
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)
    # additional records that may be dropped to fit (answers' extras) vs required glue
    glue_required: bool = False
    # the query's DO bit: DNSSEC records (a referral's DS) are added only when set
    dnssec_ok: bool = False


def rrs(owner: DNSLabel, rrset: RRset, ttl: int | None = None) -> list[RR]:
    t = rrset.ttl if ttl is None else ttl
    return [RR(owner, rrset.rtype, 1, t, rd) for rd in rrset.rdatas]


def _targets(rrset: RRset) -> list[DNSLabel]:
    out = []
    for rd in rrset.rdatas:
        for attr in ("label", "target", "mx"):
            value = getattr(rd, attr, None)
            if isinstance(value, DNSLabel):
                out.append(value)
                break
    return out


class Resolver:
    """Answers queries from a ZoneSet; the zone set may be replaced between queries."""

    def __init__(self, zones: ZoneSet) -> None:
        self.zones = zones

    # -- lookup ---------------------------------------------------------------------------------

    def lookup(self, qname: DNSLabel, key: str, qtype: int, *, do: bool = False) -> Answer | None:
        """The answer for one name and type (`do`: the query's DO bit); None when no hosted
        zone holds the name."""
        zone = self.zones.find(key, parent_of_apex=qtype == T_DS)
        if zone is None:
            return None
        out = Answer(dnssec_ok=do)
        self._lookup(zone, qname, key, qtype, out, set())
        return out

    def _negative(self, zone: ZoneView, out: Answer, rcode: int) -> None:
        out.rcode = rcode
        out.authority = rrs(DNSLabel(zone.origin + "."), zone.soa, zone.negative_ttl)

    def _lookup(
        self, zone: ZoneView, owner: DNSLabel, key: str, qtype: int, out: Answer, seen: set[str]
    ) -> None:
        seen.add(key)
        origin = zone.origin
        existing = zone.existing
        # 1. delegation points between the apex and the name
        if zone.cuts and key != origin:
            rel = key[: -len(origin) - 1].split(".")
            name = origin
            for label in reversed(rel):
                name = f"{label}.{name}"
                if name in zone.cuts:
                    if name == key and qtype == T_DS:
                        break
                    if out.answer:  # inside a CNAME chain: stop at the cut
                        return
                    self._referral(zone, name, out)
                    return
                if name not in existing:
                    break
        # 2. the name itself, or a wildcard at the closest encloser
        node = zone.nodes.get(key)
        if node is None and key not in existing:
            ce = key.split(".", 1)[1] if "." in key else ""
            while ce and ce != origin and ce not in existing:
                ce = ce.split(".", 1)[1]
            wild = f"*.{ce}"
            if wild in existing:
                node = zone.nodes.get(wild, {})
            else:
                self._negative(zone, out, NXDOMAIN)
                return
        node = node or {}
        if qtype == T_ANY and node:
            # RFC 8482: one RRset is enough
            one = node[T_CNAME] if T_CNAME in node else node[min(node)]
            out.answer += rrs(owner, one)
            return
        rrset = node.get(qtype)
        if rrset is not None:
            out.answer += rrs(owner, rrset)
            if qtype in (QTYPE.MX, QTYPE.SRV, T_NS):
                self._additional(zone, rrset, out)
            return
        cname = node.get(T_CNAME)
        cname_rds = cname.rdatas if cname is not None and qtype != T_CNAME else ()
        if cname is not None and cname_rds:
            out.answer += [RR(owner, T_CNAME, 1, cname.ttl, cname_rds[0])]
            target = cname_rds[0].label
            tkey = label_key(target)
            if tkey in seen or len(seen) >= MAX_CHAIN:
                return
            if tkey == origin or tkey.endswith("." + origin):
                self._lookup(zone, target, tkey, qtype, out, seen)
            return
        self._negative(zone, out, NOERROR)

    def _referral(self, zone: ZoneView, cut: str, out: Answer) -> None:
        ns = zone.nodes[cut][T_NS]
        out.aa = False
        out.authority = rrs(DNSLabel(cut + "."), ns)
        ds = zone.nodes[cut].get(T_DS) if out.dnssec_ok and zone.signed else None
        if ds is not None:
            out.authority += rrs(DNSLabel(cut + "."), ds)
        self._additional(zone, ns, out, glue=True)
        out.glue_required = True

    def _additional(self, zone: ZoneView, rrset: RRset, out: Answer, glue: bool = False) -> None:
        """A/AAAA of in-zone targets (glue below cuts only for referrals)."""
        seen = {(rr.rname, rr.rtype) for rr in out.additional}
        suffix = "." + zone.origin
        for target in _targets(rrset):
            tkey = label_key(target)
            if not (tkey == zone.origin or tkey.endswith(suffix)):
                continue
            node = zone.nodes.get(tkey)
            if not node:
                continue
            if not glue and self._below_cut(zone, tkey):
                continue
            for t in (T_A, T_AAAA):
                if t in node and (target, t) not in seen:
                    out.additional += rrs(target, node[t])
                    seen.add((target, t))

    @staticmethod
    def _below_cut(zone: ZoneView, key: str) -> bool:
        if not zone.cuts or key == zone.origin:
            return False
        name = key
        while name != zone.origin and "." in name:
            if name in zone.cuts:
                return True
            name = name.split(".", 1)[1]
        return False

    # -- packets --------------------------------------------------------------------------------

    def respond(self, data: bytes, *, tcp: bool = False) -> bytes | None:
        """Full path for a QUERY packet (AXFR/IXFR are the transfer module's)."""
        query = parse_query(data)
        if query is None or isinstance(query, bytes):
            return query
        return self.respond_query(query, tcp=tcp)

    def respond_query(self, query: Query, *, tcp: bool = False) -> bytes | None:
        record = query.record
        if record.header.opcode != OP_QUERY:
            return self.error(query, NOTIMP)
        if query.edns and query.edns_version > 0:
            return self.error(query, BADVERS)
        qtype = query.qtype
        if qtype in META_TYPES:
            return self.error(query, FORMERR)
        if query.question.qclass not in (C_IN, C_ANY):
            return self.error(query, REFUSED)
        if qtype in (T_AXFR, T_IXFR):
            return self.error(query, REFUSED)  # transfers are handled before this, over TCP
        found = self.lookup(query.question.qname, query.key, qtype, do=query.do)
        if found is None:
            return self.error(query, REFUSED)
        return self.pack(query, found, tcp=tcp)

    def _reply(self, query: Query, rcode: int, aa: bool) -> DNSRecord:
        h = query.record.header
        header = DNSHeader(
            id=h.id, qr=1, opcode=h.opcode, aa=int(aa), rd=h.rd, cd=h.cd, rcode=rcode & 0xF
        )
        reply = DNSRecord(header, q=query.question)
        if query.edns:
            flags = "do" if query.do else ""
            reply.add_ar(EDNS0(udp_len=OUR_PAYLOAD, ext_rcode=rcode >> 4, version=0, flags=flags))
        return reply

    def error(self, query: Query, rcode: int) -> bytes:
        return bytes(self._reply(query, rcode, False).pack())

    def pack(self, query: Query, found: Answer, *, tcp: bool = False) -> bytes:
        reply = self._reply(query, found.rcode, found.aa)
        reply.rr = found.answer
        reply.auth = found.authority
        opt = reply.ar
        reply.ar = found.additional + opt
        wire = bytes(reply.pack())
        limit = 65535 if tcp else min(query.udp_size, OUR_PAYLOAD) if query.edns else 512
        if len(wire) <= limit:
            return wire
        if found.additional and not found.glue_required:
            reply.ar = opt
            wire = bytes(reply.pack())
            if len(wire) <= limit:
                return wire
        reply.rr, reply.auth, reply.ar = [], [], opt
        reply.header.tc = 1
        return bytes(reply.pack())
