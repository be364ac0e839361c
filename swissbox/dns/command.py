"""`swissbox dns ...` verbs: add, del, list, import, export, check.

Every write goes through `records.parse_record` and one `Directory.change_records` call (one
transaction, one serial bump); a refused input writes nothing. `dns check DOMAIN` asks a DNS
server (`--server IP[:PORT]`, default the system resolver) for the records `mail enable`
publishes (with the domain's DKIM key records when it is a domain of this data folder) and
says which are missing or differ, as master-file lines to copy elsewhere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from swissbox.cliutil import CliEnv, CommandError
from swissbox.directory import dkim as dkimkeys
from swissbox.directory.mailrecords import MailPorts, configured_mail_records
from swissbox.directory.names import normalize_domain
from swissbox.dns.client import QueryError, answer_rdatas, parse_server, query
from swissbox.dns.masterfile import conflicts, read_zone, relative, write_zone
from swissbox.dns.recordedit import add_record, delete_records, new_tsig_key
from swissbox.dns.records import (
    RecordError,
    canonical_rdata,
    quote,
    soa_rdata,
)


def _zone(env: CliEnv, name: str) -> Any:
    return env.directory.domain(name)


def _err(exc: RecordError) -> CommandError:
    return CommandError(str(exc))


def cmd_add(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    domain = _zone(env, args.zone)
    try:
        rec, changed = add_record(d, domain.name, args.name, args.type, args.value, args.ttl)
    except RecordError as exc:
        raise _err(exc) from None
    line = f"{rec[0]}. {rec[2]} IN {rec[1]} {rec[3]}"
    if changed:
        print(f"added {line} (serial {d.domain(domain.name).serial})")
    else:
        print(f"already present: {line}")
    return 0


def cmd_del(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    domain = _zone(env, args.zone)
    try:
        count = delete_records(d, domain.name, args.name, args.type, args.value)
    except RecordError as exc:
        raise _err(exc) from None
    print(f"deleted {count} record(s) (serial {d.domain(domain.name).serial})")
    return 0


def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    domain = _zone(env, args.zone)
    records = env.directory.records(domain.name)
    rows = [{"name": r.name, "type": r.type, "ttl": r.ttl, "rdata": r.rdata} for r in records]
    soa = soa_rdata(domain)
    if env.json:
        rows.insert(
            0, {"name": domain.name, "type": "SOA", "ttl": domain.default_ttl, "rdata": soa}
        )
    text = [f"@\t{domain.default_ttl}\tIN\tSOA\t{soa}"]
    text += [f"{relative(r.name, domain.name)}\t{r.ttl}\tIN\t{r.type}\t{r.rdata}" for r in records]
    env.emit(rows, "\n".join(text))
    return 0


def cmd_export(args: argparse.Namespace, env: CliEnv) -> int:
    domain = _zone(env, args.zone)
    sys.stdout.write(write_zone(domain, env.directory.records(domain.name)))
    return 0


def cmd_import(args: argparse.Namespace, env: CliEnv) -> int:
    """Replaces the zone's records with the file's (apex NS kept when the file has none)."""
    d = env.directory
    domain = _zone(env, args.zone)
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except (OSError, UnicodeError) as exc:
        raise CommandError(f"cannot read {args.file}: {exc}") from None
    try:
        parsed = read_zone(text, domain.name, domain.default_ttl)
    except RecordError as exc:
        raise CommandError(f"{args.file}: {exc}") from None
    new: dict[tuple[str, str, str], tuple[str, str, int, str]] = {}
    for rec in parsed.records:
        new[(rec[0], rec[1], rec[3])] = rec
    old = d.records(domain.name)
    if not any(n == domain.name and t == "NS" for n, t, _ in new):
        for r in old:
            if r.name == domain.name and r.type == "NS":
                new[(r.name, r.type, r.rdata)] = (r.name, r.type, r.ttl, r.rdata)
    records = list(new.values())
    # RRsets share one TTL: the first one read wins
    first_ttl: dict[tuple[str, str], int] = {}
    for name, rtype, ttl, _ in records:
        first_ttl.setdefault((name, rtype), ttl)
    records = [(n, t, first_ttl[(n, t)], r) for n, t, _, r in records]
    problems = conflicts(records, domain.name)
    if problems:
        raise CommandError(f"{args.file}: " + "; ".join(problems[:5]))
    keep = {(n, t, r) for n, t, _, r in records}
    delete: list[tuple[str, str | None, str | None]] = [
        (r.name, r.type, r.rdata) for r in old if (r.name, r.type, r.rdata) not in keep
    ]
    soa = {k: v for k, v in parsed.soa.items() if _soa_value(domain, k) != v}
    changed = d.replace_zone(domain.name, delete, records, soa)
    domain = d.domain(domain.name)
    print(
        f"{domain.name}: {len(records)} records from {args.file} ({len(delete)} removed,"
        f" {changed - len(delete) if changed else 0} added or changed), serial {domain.serial}"
    )
    return 0


def _soa_value(domain: Any, key: str) -> Any:
    return getattr(domain, key if key == "default_ttl" else f"soa_{key}")


# -- check ---------------------------------------------------------------------------------------


def mail_ports(env: CliEnv) -> MailPorts:
    return MailPorts.from_settings(env.config.settings)


def _canonical_answer(rtype: str, rd: Any) -> str:
    if rtype == "TXT":
        return " ".join(quote(bytes(s)) for s in rd.data)
    try:
        return canonical_rdata("invalid", rtype, rd.toZone()).lower()
    except RecordError:
        return str(rd.toZone()).lower()


def check_records(
    server: tuple[str, int], expected: list[tuple[str, str, int, str]]
) -> list[dict[str, Any]]:
    """For each expected record: status ok / missing / differs, with what the server has."""
    results = []
    answers: dict[tuple[str, str], list[str]] = {}
    for name, rtype, ttl, rdata in expected:
        key = (name, rtype)
        if key not in answers:
            reply = query(server, name, rtype)
            answers[key] = [
                _canonical_answer(rtype, rd) for rd in answer_rdatas(reply, name, rtype)
            ]
        have = answers[key]
        want = rdata if rtype == "TXT" else rdata.lower()
        if want in have:
            status = "ok"
        elif rtype == "TXT":
            # one TXT RRset holds unrelated strings: it "differs" only if a same-kind one exists
            prefix = rdata.split("=", 1)[0]
            status = "differs" if any(h.startswith(prefix) for h in have) else "missing"
        else:
            status = "differs" if have else "missing"
        results.append(
            {
                "name": name,
                "type": rtype,
                "ttl": ttl,
                "rdata": rdata,
                "status": status,
                "have": have,
            }
        )
    return results


def _dkim_records(env: CliEnv, domain: str) -> list[tuple[str, str, int, str]]:
    """The records of the DKIM keys `domain` has here (none without a data folder)."""
    if not env.config.initialized:
        return []
    return [key.record() for key in dkimkeys.live_keys(env.directory, domain)]


def cmd_check(args: argparse.Namespace, env: CliEnv) -> int:
    try:
        server = parse_server(args.server)
    except QueryError as exc:
        raise CommandError(str(exc)) from None
    try:
        domain = normalize_domain(args.domain)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    expected = configured_mail_records(domain, env.config.settings) + _dkim_records(env, domain)
    try:
        results = check_records(server, expected)
    except QueryError as exc:
        raise CommandError(str(exc)) from None
    bad = [r for r in results if r["status"] != "ok"]
    lines = [f"asked {server[0]} port {server[1]} about {domain}:"]
    for r in results:
        line = f"  {r['status']:8} {r['name']}. {r['type']} {r['rdata']}"
        if r["status"] == "differs":
            line += f"  (found: {' | '.join(r['have'])})"
        lines.append(line)
    if bad:
        lines.append("put these records in the zone of your DNS provider:")
        lines += [f"{r['name']}.\t{r['ttl']}\tIN\t{r['type']}\t{r['rdata']}" for r in bad]
    else:
        lines.append("all mail records are in place")
    env.emit({"server": f"{server[0]}:{server[1]}", "records": results}, "\n".join(lines))
    return 1 if bad else 0


# -- TSIG keys (RFC 2136 UPDATE) --------------------------------------------------------------------


def cmd_tsig_add(args: argparse.Namespace, env: CliEnv) -> int:
    """A new hmac-sha256 key for ZONE; prints the secret once (base64), as nsupdate -y wants."""
    try:
        key, secret = new_tsig_key(env.directory, args.keyname, args.zone, args.name)
    except RecordError as exc:
        raise _err(exc) from None
    zone, pattern = env.directory.domain(key.zone), key.name_pattern
    scope = pattern or f"any name in {zone.name}"
    print(f"TSIG key {key.name} for {zone.name} ({scope}), algorithm {key.algorithm}")
    print(f"secret: {secret}")
    print(f"nsupdate -y {key.algorithm}:{key.name}:{secret}")
    return 0


def cmd_tsig_list(args: argparse.Namespace, env: CliEnv) -> int:
    keys = env.directory.tsig_keys()
    rows = [
        {"name": k.name, "zone": k.zone, "algorithm": k.algorithm, "names": k.name_pattern}
        for k in keys
    ]
    text = "\n".join(f"{k.name}\t{k.zone}\t{k.algorithm}\t{k.name_pattern or '*'}" for k in keys)
    env.emit(rows, text)
    return 0


def cmd_tsig_del(args: argparse.Namespace, env: CliEnv) -> int:
    env.directory.remove_tsig_key(args.keyname)
    print(f"TSIG key {args.keyname} removed")
    return 0


# -- wiring ----------------------------------------------------------------------------------------


def add_commands(sub: Any, common: argparse.ArgumentParser, groups: dict[str, Any]) -> None:
    dns = sub.add_parser("dns", help="records of hosted DNS zones")
    verbs = dns.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = verbs.add_parser(name, parents=[common], help=help)
        p.set_defaults(func=func)
        return p

    p = verb("add", cmd_add, "add a record to its RRset (NAME relative, @, *.x or absolute.)")
    p.add_argument("zone", metavar="ZONE")
    p.add_argument("name", metavar="NAME")
    p.add_argument("type", metavar="TYPE")
    p.add_argument(
        "value",
        metavar="VALUE",
        help='master-file syntax, e.g. "10 mx" or \'0 issue "ca.example"\'',
    )
    p.add_argument(
        "--ttl", type=int, metavar="N", help="seconds (default: the RRset's or the zone's)"
    )
    p = verb("del", cmd_del, "delete records (all of NAME TYPE, or the one with VALUE)")
    p.add_argument("zone", metavar="ZONE")
    p.add_argument("name", metavar="NAME")
    p.add_argument("type", metavar="TYPE")
    p.add_argument("value", metavar="VALUE", nargs="?")
    p = verb("list", cmd_list, "list the records of a zone")
    p.add_argument("zone", metavar="ZONE")
    p = verb("import", cmd_import, "replace a zone's records with an RFC 1035 master file")
    p.add_argument("zone", metavar="ZONE")
    p.add_argument("file", metavar="FILE", help="master file, or - for standard input")
    p = verb("export", cmd_export, "print a zone as an RFC 1035 master file")
    p.add_argument("zone", metavar="ZONE")
    tsig = verbs.add_parser("tsig", help="TSIG keys for RFC 2136 UPDATE (nsupdate)")
    tsig_verbs = tsig.add_subparsers(dest="tsig_verb", metavar="VERB", required=True)
    p = tsig_verbs.add_parser("add", parents=[common], help="a new hmac-sha256 key; prints it")
    p.set_defaults(func=cmd_tsig_add)
    p.add_argument("keyname", metavar="KEYNAME")
    p.add_argument("--zone", required=True, metavar="ZONE")
    p.add_argument(
        "--name", metavar="PATTERN", help="names it may change, e.g. '*.dyn.example.org'"
    )
    p = tsig_verbs.add_parser("list", parents=[common], help="list TSIG keys (not their secrets)")
    p.set_defaults(func=cmd_tsig_list)
    p = tsig_verbs.add_parser("del", parents=[common], help="remove a TSIG key")
    p.set_defaults(func=cmd_tsig_del)
    p.add_argument("keyname", metavar="KEYNAME")
    p = verb("check", cmd_check, "are the mail records of DOMAIN published where it is hosted?")
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("--server", help="DNS server to ask, IP[:PORT] (default: the system resolver)")
