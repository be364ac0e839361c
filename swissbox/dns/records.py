"""Record input validation and the canonical presentation form stored in the directory.

`parse_record(zone, name, rtype, value, ttl)` is the one gate every write path uses (CLI,
master-file import, later DDNS/UPDATE): it resolves relative names against the zone, checks
every field, and returns `(name, TYPE, ttl, rdata)` with `name` absolute, lower case, without
the final dot, and `rdata` in canonical master-file presentation (absolute names ending in
'.'), which is what dnslib's `toZone()` prints for the record, except that character-strings
are escaped properly (dnslib does not escape '"' or '\\').

`rdata_to_rd(rtype, rdata)` turns stored rdata back into a dnslib RD object for serving.
Names inside RDATA are compressed only in the RFC 1035 types (NS, CNAME, SOA, PTR, MX...):
RFC 3597 4 forbids it in later ones, and dnslib compresses NAPTR and RP, so those two are
packed by subclasses here.
"""

from __future__ import annotations

import ipaddress
import re

from dnslib import (
    AAAA,
    CAA,
    CNAME,
    MX,
    NAPTR,
    NS,
    PTR,
    QTYPE,
    RD,
    RDMAP,
    RP,
    SRV,
    TXT,
    A,
    DNSBuffer,
    DNSLabel,
)

from swissbox.directory.model import Domain
from swissbox.directory.names import InvalidName, normalize_domain


class RecordError(ValueError):
    """A record that cannot be stored; the message says which field is wrong and why."""


# Types a user may add; SOA is synthesised from the domain row, OPT/TSIG are not data.
NAME_ONLY = {"CNAME", "NS", "PTR"}
SUPPORTED = (
    "A",
    "AAAA",
    "CAA",
    "CNAME",
    "DS",
    "HTTPS",
    "MX",
    "NAPTR",
    "NS",
    "PTR",
    "SRV",
    "SSHFP",
    "SVCB",
    "TLSA",
    "TXT",
)


class UncompressedNAPTR(NAPTR):
    """NAPTR (RFC 3403) with its replacement name never compressed."""

    def pack(self, buffer: DNSBuffer) -> None:
        buffer.pack("!HH", self.order, self.preference)
        for text in (self.flags, self.service, self.regexp):
            buffer.pack("!B", len(text))
            buffer.append(text)
        buffer.encode_name_nocompress(self.replacement)


class UncompressedRP(RP):
    """RP (RFC 1183) with both names never compressed."""

    def pack(self, buffer: DNSBuffer) -> None:
        buffer.encode_name_nocompress(self.mbox)
        buffer.encode_name_nocompress(self.txt)


# SVCB (RFC 9460) has the HTTPS wire format; dnslib only knows the HTTPS class.
RD_CLASSES = {
    **RDMAP,
    "SVCB": RDMAP["HTTPS"],
    "NAPTR": UncompressedNAPTR,
    "RP": UncompressedRP,
}
MAX_TTL = 2**31 - 1

# -- tokens -------------------------------------------------------------------------------------


def tokenize(text: str) -> list[tuple[bytes, bool]]:
    """Splits master-file rdata into (bytes, quoted) tokens; handles "..." and \\X / \\DDD."""
    out: list[tuple[bytes, bool]] = []
    data = text.encode("utf-8")
    i, n = 0, len(data)
    while i < n:
        c = data[i]
        if c in b" \t\r\n":
            i += 1
            continue
        quoted = c == ord('"')
        if quoted:
            i += 1
        buf = bytearray()
        while i < n:
            c = data[i]
            if quoted and c == ord('"'):
                i += 1
                break
            if not quoted and c in b" \t\r\n":
                break
            if not quoted and c == ord('"'):
                break
            if c == ord("\\"):
                if i + 3 < n and data[i + 1 : i + 4].isdigit():
                    value = int(data[i + 1 : i + 4])
                    if value > 255:
                        raise RecordError(f"bad escape \\{value} in {text!r}")
                    buf.append(value)
                    i += 4
                    continue
                if i + 1 >= n:
                    raise RecordError(f"dangling backslash in {text!r}")
                buf.append(data[i + 1])
                i += 2
                continue
            buf.append(c)
            i += 1
        else:
            if quoted:
                raise RecordError(f"unterminated quoted string in {text!r}")
        out.append((bytes(buf), quoted))
    return out


def quote(value: bytes) -> str:
    """A character-string in presentation form: quoted, with '"', '\\' and non-printables escaped."""
    parts = ['"']
    for b in value:
        if b in (0x22, 0x5C):
            parts.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            parts.append(chr(b))
        else:
            parts.append(f"\\{b:03d}")
    parts.append('"')
    return "".join(parts)


def split_txt(strings: list[bytes]) -> list[bytes]:
    """Each string cut into pieces of at most 255 bytes (empty strings kept)."""
    out: list[bytes] = []
    for s in strings:
        if not s:
            out.append(b"")
        for i in range(0, len(s), 255):
            out.append(s[i : i + 255])
    return out


# -- names --------------------------------------------------------------------------------------


def absolute_name(zone: str, name: str, *, owner: bool = True) -> str:
    """'@', 'www', '*.x', 'host.example.test.' -> absolute lower-case name without final dot.

    Owner names may carry a leading '*' label; target names may be '.' (the root, returned '').
    """
    name = name.strip()
    if not name:
        raise RecordError("empty name")
    if name == "@":
        full = zone
    elif name == ".":
        if owner:
            raise RecordError("the root is not inside the zone")
        return ""
    elif name.endswith("."):
        full = name[:-1]
    else:
        full = f"{name}.{zone}"
    try:
        return normalize_domain(full, allow_wildcard=owner)
    except InvalidName as exc:
        raise RecordError(str(exc)) from None


def owner_name(zone: str, name: str, origin: str | None = None) -> str:
    """The absolute owner name (relative to `origin`, default the zone), refused when it is
    outside the zone."""
    full = absolute_name(origin or zone, name)
    if full != zone and not full.endswith("." + zone):
        raise RecordError(f"{name!r} is outside the zone {zone}")
    return full


def target(zone: str, text: str) -> str:
    """A domain-name field as stored: absolute with a final dot ('.' for the root)."""
    full = absolute_name(zone, text, owner=False)
    return full + "." if full else "."


# -- parse ----------------------------------------------------------------------------------------


def _int(text: bytes | str, field: str, hi: int) -> int:
    s = text.decode() if isinstance(text, bytes) else text
    if not re.fullmatch(r"\d{1,10}", s) or int(s) > hi:
        raise RecordError(f"{field} must be a number from 0 to {hi}, not {s!r}")
    return int(s)


def _texts(tokens: list[tuple[bytes, bool]]) -> list[str]:
    return [t.decode("utf-8", "replace") for t, _ in tokens]


def _need(rtype: str, tokens: list[tuple[bytes, bool]], n: int, shape: str) -> None:
    if len(tokens) != n:
        raise RecordError(f"{rtype} wants {shape}, got {len(tokens)} field(s)")


def canonical_rdata(zone: str, rtype: str, value: str) -> str:
    """Validates `value` (master-file syntax, names relative to `zone`) -> canonical rdata."""
    rtype = rtype.upper()
    if rtype == "SOA":
        raise RecordError("the SOA is kept by swissbox (serial, timers): not added by hand")
    if rtype not in SUPPORTED:
        raise RecordError(f"record type {rtype!r} is not supported (use {', '.join(SUPPORTED)})")
    if rtype == "TXT" and '"' not in value:
        # Typed on a command line without quotes: the whole value is one string.
        tokens = [(value.strip().encode("utf-8"), True)] if value.strip() else []
    else:
        tokens = tokenize(value)
    if not tokens:
        raise RecordError(f"{rtype} needs a value")
    texts = _texts(tokens)
    if rtype == "A":
        _need(rtype, tokens, 1, "an IPv4 address")
        try:
            return str(ipaddress.IPv4Address(texts[0]))
        except ValueError:
            raise RecordError(f"{texts[0]!r} is not an IPv4 address") from None
    if rtype == "AAAA":
        _need(rtype, tokens, 1, "an IPv6 address")
        try:
            return ipaddress.IPv6Address(texts[0]).compressed
        except ValueError:
            raise RecordError(f"{texts[0]!r} is not an IPv6 address") from None
    if rtype in NAME_ONLY:
        _need(rtype, tokens, 1, "one domain name")
        return target(zone, texts[0])
    if rtype == "MX":
        _need(rtype, tokens, 2, "PREFERENCE EXCHANGE")
        return f"{_int(texts[0], 'MX preference', 65535)} {target(zone, texts[1])}"
    if rtype == "SRV":
        _need(rtype, tokens, 4, "PRIORITY WEIGHT PORT TARGET")
        nums = [
            _int(t, f"SRV {f}", 65535)
            for t, f in zip(texts, ("priority", "weight", "port"), strict=False)
        ]
        return f"{nums[0]} {nums[1]} {nums[2]} {target(zone, texts[3])}"
    if rtype == "TXT":
        strings = split_txt([t for t, _ in tokens])
        return " ".join(quote(s) for s in strings)
    if rtype == "CAA":
        _need(rtype, tokens, 3, 'FLAGS TAG "VALUE"')
        flags = _int(texts[0], "CAA flags", 255)
        tag = texts[1]
        if not re.fullmatch(r"[A-Za-z0-9]{1,15}", tag):
            raise RecordError(f"CAA tag {tag!r} must be 1-15 letters or digits")
        return f"{flags} {tag.lower()} {quote(tokens[2][0])}"
    if rtype == "DS":
        if len(tokens) < 4:
            raise RecordError("DS wants KEYTAG ALGORITHM DIGESTTYPE DIGEST")
        key_tag = _int(texts[0], "DS key tag", 65535)
        alg = _int(texts[1], "DS algorithm", 255)
        dtype = _int(texts[2], "DS digest type", 255)
        digest = "".join(texts[3:]).upper()
        if not re.fullmatch(r"([0-9A-F]{2})+", digest):
            raise RecordError("DS digest must be hexadecimal")
        want = {1: 20, 2: 32, 4: 48}.get(dtype)  # SHA-1, SHA-256, SHA-384
        if want and len(digest) != 2 * want:
            raise RecordError(f"DS digest type {dtype} wants {want} bytes ({2 * want} hex digits)")
        return f"{key_tag} {alg} {dtype} {digest}"
    if rtype in ("HTTPS", "SVCB"):
        if len(tokens) < 2:
            raise RecordError(f"{rtype} wants PRIORITY TARGET [PARAMS...]")
        _int(texts[0], f"{rtype} priority", 65535)
        texts = [texts[0], target(zone, texts[1]), *texts[2:]]
    # The rest (HTTPS params, TLSA, SSHFP, NAPTR) through dnslib's own parser.
    try:
        rd = RD_CLASSES[rtype].fromZone(texts, zone + ".")
        rd.pack(DNSBuffer())
        return str(rd.toZone())
    except RecordError:
        raise
    except Exception as exc:
        raise RecordError(f"bad {rtype} value {value!r}: {exc}") from None


def parse_record(
    zone: str, name: str, rtype: str, value: str, ttl: int, origin: str | None = None
) -> tuple[str, str, int, str]:
    """User input -> (absolute owner, TYPE, ttl, canonical rdata); RecordError when invalid.

    Relative names (owner and targets) are completed with `origin` (a master file's $ORIGIN),
    by default the zone itself.
    """
    try:
        zone = normalize_domain(zone)
    except InvalidName as exc:
        raise RecordError(f"zone {exc}") from None
    origin = normalize_domain(origin) if origin else zone
    owner = owner_name(zone, name, origin)
    rtype = rtype.strip().upper()
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_TTL:
        raise RecordError(f"TTL must be a number of seconds from 0 to {MAX_TTL}")
    rdata = canonical_rdata(origin, rtype, value)
    rdata_to_rd(rtype, rdata)  # what we store must load again
    check_placement(zone, owner, rtype)
    if rtype == "NS" and owner.startswith("*"):
        raise RecordError("a wildcard name cannot carry NS records")
    return owner, rtype, ttl, rdata


def check_placement(zone: str, owner: str, rtype: str) -> None:
    """RecordError for a type that may not sit at this owner: a DS at the zone's own apex
    (it is the parent's record; secondaries such as BIND reject a zone carrying one)."""
    if rtype == "DS" and owner == zone:
        raise RecordError(
            f"a DS record for {zone} belongs in the parent zone (give it to the registrar),"
            " not at the apex of the zone itself"
        )


def soa_rdata(domain: Domain) -> str:
    """The SOA swissbox synthesises from the domain row, as one line of presentation form."""
    return (
        f"{domain.soa_mname}. {domain.soa_rname}. {domain.serial} {domain.soa_refresh}"
        f" {domain.soa_retry} {domain.soa_expire} {domain.soa_minimum}"
    )


# -- stored rdata -> dnslib ------------------------------------------------------------------------


def _label(text: str) -> DNSLabel:
    return DNSLabel(text)


def rdata_to_rd(rtype: str, rdata: str) -> RD:
    """Canonical rdata (absolute names) -> a dnslib RD object ready to pack."""
    tokens = tokenize(rdata)
    texts = _texts(tokens)
    try:
        if rtype == "A":
            return A(texts[0])
        if rtype == "AAAA":
            return AAAA(texts[0])
        if rtype == "CNAME":
            return CNAME(_label(texts[0]))
        if rtype == "NS":
            return NS(_label(texts[0]))
        if rtype == "PTR":
            return PTR(_label(texts[0]))
        if rtype == "MX":
            return MX(_label(texts[1]), int(texts[0]))
        if rtype == "SRV":
            return SRV(int(texts[0]), int(texts[1]), int(texts[2]), _label(texts[3]))
        if rtype == "TXT":
            return TXT([t for t, _ in tokens])
        if rtype == "CAA":
            return CAA(int(texts[0]), texts[1], tokens[2][0].decode("utf-8", "replace"))
        rd = RD_CLASSES[rtype].fromZone(texts, "")
        return rd
    except (IndexError, ValueError, KeyError) as exc:
        raise RecordError(f"stored {rtype} rdata {rdata!r} is unusable: {exc}") from None


def qtype_code(rtype: str) -> int:
    """'MX' -> 15 (dnslib's table; 'TYPE65' style accepted)."""
    rtype = rtype.upper()
    if rtype.startswith("TYPE") and rtype[4:].isdigit():
        return int(rtype[4:])
    if rtype not in QTYPE.reverse:
        raise RecordError(f"unknown record type {rtype!r}")
    return int(QTYPE.reverse[rtype])
