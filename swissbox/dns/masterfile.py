"""RFC 1035 master files: read one into validated records, write a zone out as one.

Reading handles comments, quoted strings, multi-line records in parentheses, `$ORIGIN`,
`$TTL`, blank owners (the previous owner), TTL and class in either order, TTL units
(1h30m, 2d, 1w), lower-case types. `$INCLUDE` is refused (a file names no other files).
Every record goes through `records.parse_record`; the SOA is returned apart (its timers and
names may be applied to the domain row; the serial is always ours).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from swissbox.directory.model import Domain, Record
from swissbox.directory.names import InvalidName, normalize_domain
from swissbox.dns.records import (
    MAX_TTL,
    RecordError,
    parse_record,
    qtype_code,
    quote,
    target,
    tokenize,
)

CLASSES = {"IN", "CH", "HS", "CS"}
_TTL = re.compile(r"^(\d+[wdhms]?)+$", re.IGNORECASE)
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "": 1}


def parse_ttl(text: str) -> int:
    """'3600', '1h30m', '2D' -> seconds; RecordError otherwise."""
    if not _TTL.match(text):
        raise RecordError(f"bad TTL {text!r}")
    total = sum(int(n) * _UNITS[u.lower()] for n, u in re.findall(r"(\d+)([wdhmsWDHMS]?)", text))
    if total > MAX_TTL:
        raise RecordError(f"TTL {text!r} is too large")
    return total


def logical_lines(text: str) -> list[tuple[int, bool, str]]:
    """(line number, starts with blank, text) with comments removed and (...) joined."""
    out: list[tuple[int, bool, str]] = []
    buf: list[str] = []
    depth = 0
    in_quote = False
    start_line = 1
    line_no = 1
    leading_blank = False
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and depth == 0 and not buf:
            leading_blank = c in " \t"
            start_line = line_no
            at_line_start = False
        if in_quote:
            buf.append(c)
            if c == "\\" and i + 1 < n:
                buf.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_quote = False
            elif c == "\n":
                raise RecordError(f"line {line_no}: unterminated quoted string")
            i += 1
            continue
        if c == "\\" and i + 1 < n:
            buf.append(text[i : i + 2])
            i += 2
            continue
        if c == '"':
            in_quote = True
            buf.append(c)
        elif c == ";":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif c == "(":
            depth += 1
            buf.append(" ")
        elif c == ")":
            if depth == 0:
                raise RecordError(f"line {line_no}: ')' without '('")
            depth -= 1
            buf.append(" ")
        elif c == "\n":
            line_no += 1
            if depth == 0:
                line = "".join(buf).strip()
                if line:
                    out.append((start_line, leading_blank, line))
                buf = []
                at_line_start = True
            else:
                buf.append(" ")
        else:
            buf.append(c)
        i += 1
    if depth or in_quote:
        raise RecordError(f"line {start_line}: unbalanced parentheses or quotes at end of file")
    line = "".join(buf).strip()
    if line:
        out.append((start_line, leading_blank, line))
    return out


def fields(line: str) -> list[str]:
    """Whitespace-separated fields, quoted strings kept whole (with their quotes)."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if line[i] in " \t":
            i += 1
            continue
        j = i
        if line[i] == '"':
            j += 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            j += 1
        else:
            while j < n and line[j] not in " \t":
                j += 2 if line[j] == "\\" else 1
        out.append(line[i:j])
        i = j
    return out


@dataclass
class ParsedZone:
    records: list[tuple[str, str, int, str]] = field(default_factory=list)
    soa: dict[str, int | str] = field(default_factory=dict)


def read_zone(text: str, zone: str, default_ttl: int = 3600) -> ParsedZone:
    """Parses a master file for `zone`; RecordError naming the line on the first problem."""
    zone = normalize_domain(zone)
    origin = zone
    ttl_default: int | None = None
    last_owner: str | None = None
    last_ttl: int | None = None
    result = ParsedZone()
    for line_no, blank, line in logical_lines(text):
        try:
            parts = fields(line)
            head = parts[0].upper()
            if head == "$ORIGIN":
                if len(parts) != 2:
                    raise RecordError("$ORIGIN wants one name")
                try:
                    origin = normalize_domain(
                        parts[1] if parts[1].endswith(".") else f"{parts[1]}.{origin}"
                    )
                except InvalidName as exc:
                    raise RecordError(str(exc)) from None
                continue
            if head == "$TTL":
                if len(parts) != 2:
                    raise RecordError("$TTL wants one value")
                ttl_default = parse_ttl(parts[1])
                continue
            if head.startswith("$"):
                raise RecordError(f"{parts[0]} is not supported")
            if blank:
                if last_owner is None:
                    raise RecordError("no owner name (the first record must name one)")
                owner = last_owner
            else:
                owner = parts.pop(0)
                if owner != "@" and not owner.endswith("."):
                    owner = f"{owner}.{origin}."
                elif owner == "@":
                    owner = origin + "."
            ttl: int | None = None
            for _ in range(2):
                if parts and parts[0].upper() in CLASSES:
                    if parts.pop(0).upper() != "IN":
                        raise RecordError("only class IN is served")
                elif parts and parts[0][0].isdigit() and _TTL.match(parts[0]):
                    ttl = parse_ttl(parts.pop(0))
            if not parts:
                raise RecordError("no record type")
            rtype = parts.pop(0).upper()
            qtype_code(rtype)  # RecordError for unknown types
            value = " ".join(parts)
            if ttl is None:
                ttl = ttl_default if ttl_default is not None else (last_ttl or default_ttl)
            last_owner, last_ttl = owner, ttl
            if rtype == "SOA":
                _read_soa(zone, origin, owner, value, ttl, result)
                continue
            if rtype == "TXT":  # master-file semantics: unquoted words are separate strings
                value = " ".join(quote(t) for t, _ in tokenize(value))
            result.records.append(parse_record(zone, owner, rtype, value, ttl, origin))
        except RecordError as exc:
            raise RecordError(f"line {line_no}: {exc}") from None
        except IndexError:
            raise RecordError(f"line {line_no}: incomplete record {line!r}") from None
    return result


def _read_soa(zone: str, origin: str, owner: str, value: str, ttl: int, out: ParsedZone) -> None:
    if normalize_domain(owner) != zone:
        raise RecordError("the SOA must be at the zone apex")
    parts = value.split()
    if len(parts) != 7:
        raise RecordError("SOA wants MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM")
    mname, rname = target(origin, parts[0]).rstrip("."), target(origin, parts[1]).rstrip(".")
    times = [parse_ttl(p) for p in parts[2:]]
    out.soa = {
        "mname": mname,
        "rname": rname,
        "refresh": times[1],
        "retry": times[2],
        "expire": times[3],
        "minimum": times[4],
        "default_ttl": ttl,
    }


# -- writing --------------------------------------------------------------------------------------


def relative(name: str, zone: str) -> str:
    if name == zone:
        return "@"
    if name.endswith("." + zone):
        return name[: -len(zone) - 1]
    return name + "."


def write_zone(domain: Domain, records: list[Record]) -> str:
    """The zone as a master file: $ORIGIN, $TTL, the SOA (multi-line), then every record."""
    z = domain.name
    lines = [
        f"; zone {z}, serial {domain.serial}, written by swissbox",
        f"$ORIGIN {z}.",
        f"$TTL {domain.default_ttl}",
        f"@\t{domain.default_ttl}\tIN\tSOA\t{domain.soa_mname}. {domain.soa_rname}. (",
        f"\t\t\t\t{domain.serial}\t; serial",
        f"\t\t\t\t{domain.soa_refresh}\t; refresh",
        f"\t\t\t\t{domain.soa_retry}\t; retry",
        f"\t\t\t\t{domain.soa_expire}\t; expire",
        f"\t\t\t\t{domain.soa_minimum} )\t; minimum",
    ]
    order = sorted(records, key=lambda r: (r.name != z, r.name.split(".")[::-1], r.type, r.rdata))
    for r in order:
        lines.append(f"{relative(r.name, z)}\t{r.ttl}\tIN\t{r.type}\t{r.rdata}")
    return "\n".join(lines) + "\n"


def conflicts(records: list[tuple[str, str, int, str]], zone: str) -> list[str]:
    """Problems of a record set as a whole: CNAME beside other data, several CNAMEs,
    CNAME at the apex."""
    by_name: dict[str, list[str]] = {}
    for name, rtype, _ttl, _rdata in records:
        by_name.setdefault(name, []).append(rtype)
    problems = []
    for name, types in sorted(by_name.items()):
        if "CNAME" not in types:
            continue
        if name == zone:
            problems.append(f"{name}: a CNAME cannot be at the zone apex (SOA and NS live there)")
        elif types.count("CNAME") > 1:
            problems.append(f"{name}: only one CNAME per name")
        elif len(types) > 1:
            others = sorted(set(types) - {"CNAME"})
            problems.append(f"{name}: a CNAME cannot sit beside other data ({', '.join(others)})")
    return problems
