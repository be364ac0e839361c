"""Admin verbs for addresses that are not mailboxes (each verb is one transaction):

    swissbox alias add ALIAS TARGET [TARGET...] [--send-as | --no-send-as]
    swissbox alias del ALIAS [TARGET...]         the alias, or only these targets
    swissbox alias list [DOMAIN]                 aliases, forwards, catch-alls, domain aliases
    swissbox domain alias ALIASDOMAIN TARGETDOMAIN|off
    swissbox mail catch-all DOMAIN TARGET|off
    swissbox mailbox forward ADDRESS TARGET|off [--keep]
    swissbox mailbox sieve ADDRESS FILE|off [--name NAME]   the active Sieve script ("-": stdin)
    swissbox mail sieve-before DOMAIN FILE|off   a Sieve script run before every mailbox's own

A target is a hosted mailbox or alias (checked to exist) or an external address (forwarded
with an SRS sender). How mail follows them: `swissbox.smtp.routing`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from swissbox.cliutil import CliEnv, CommandError
from swissbox.directory.domainalias import set_domain_alias

OFF = "off"


def _target(value: str) -> str | None:
    return None if value.lower() == OFF else value


def cmd_alias_add(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    with d.transaction():
        alias = d.add_alias(args.alias, args.targets, args.send_as)
    may = "its mailboxes may send as it" if alias.send_as else "not a sender address"
    print(f"alias {alias.address} -> {', '.join(alias.targets)} ({may})")
    return 0


def cmd_alias_del(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    with d.transaction():
        left = d.remove_alias(args.alias, args.targets or None)
    if left is None:
        print(f"alias {args.alias} removed")
    else:
        print(f"alias {left.address} -> {', '.join(left.targets)}")
    return 0


def cmd_alias_list(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    rows: list[dict[str, Any]] = []
    for alias in d.aliases(args.domain):
        rows.append(
            {
                "address": alias.address,
                "kind": "alias",
                "targets": list(alias.targets),
                "send_as": alias.send_as,
            }
        )
    for fwd in d.forwards(args.domain):
        rows.append(
            {"address": fwd.address, "kind": "forward", "targets": [fwd.target], "keep": fwd.keep}
        )
    for domain, target in d.catch_alls(args.domain).items():
        rows.append({"address": f"@{domain}", "kind": "catch-all", "targets": [target]})
    for domain, target in d.domain_aliases(args.domain).items():
        rows.append({"address": f"@{domain}", "kind": "domain-alias", "targets": [f"@{target}"]})
    lines = []
    for r in rows:
        note = " (keeps a copy)" if r.get("keep") else ""
        lines.append(f"{r['address']}\t{r['kind']}\t{', '.join(r['targets'])}{note}")
    env.emit(rows, "\n".join(lines))
    return 0


def cmd_domain_alias(args: argparse.Namespace, env: CliEnv) -> int:
    """Makes ALIASDOMAIN (a hosted domain) a mail domain whose addresses are TARGETDOMAIN's:
    its Email Service, mail DNS records and DKIM keys come with it, in the same transaction."""
    target = _target(args.target)
    before, published = set_domain_alias(
        env.directory, env.config.dkim_dir, env.config.settings, args.alias_domain, target
    )
    if target is None:
        print(f"{args.alias_domain} is no longer a domain alias (was of {before})")
    else:
        extra = f"; published {published} mail DNS records" if published else ""
        print(f"domain alias {args.alias_domain} -> {target}{extra}")
    return 0


def cmd_catch_all(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    target = _target(args.target)
    with d.transaction():
        before = d.set_catch_all(args.domain, target)
    if target is None:
        print(f"catch-all of {args.domain} off" + (f" (was {before})" if before else ""))
    else:
        print(f"catch-all of {args.domain}: unknown addresses go to {target}")
    return 0


def cmd_mailbox_forward(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    target = _target(args.target)
    if target is None and args.keep:
        raise CommandError("--keep goes with a target, not with off")
    with d.transaction():
        forward = d.set_forward(args.address, target, args.keep)
    if forward is None:
        print(f"{args.address} no longer forwards")
    else:
        keep = ", keeping a copy" if forward.keep else ", keeping no copy"
        print(f"{forward.address} forwards to {forward.target}{keep}")
    return 0


def _read_script(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None


def cmd_sieve_before(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    if args.file.lower() == OFF:
        d.set_domain_sieve_before(args.domain, None)
        print(f"{args.domain}: no Sieve script runs before the mailboxes' own")
        return 0
    d.set_domain_sieve_before(args.domain, _read_script(args.file))
    print(f"{args.domain}: the Sieve script runs before each mailbox's own")
    return 0


def cmd_mailbox_sieve(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    if args.file.lower() == OFF:
        d.activate_sieve_script(args.address, None)
        print(f"{args.address}: no Sieve script runs")
        return 0
    d.put_sieve_script(args.address, args.name, _read_script(args.file), activate=True)
    print(f"{args.address}: Sieve script {args.name!r} is active")
    return 0


def add_commands(sub: Any, common: argparse.ArgumentParser, groups: dict[str, Any]) -> None:
    alias = sub.add_parser("alias", help="addresses that deliver to other addresses")
    verbs = alias.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(parent: Any, name: str, func: Any, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, parents=[common], help=help)
        p.set_defaults(func=func)
        return p

    p = verb(verbs, "add", cmd_alias_add, "an alias (or more targets for one)")
    p.add_argument("alias", metavar="ALIAS")
    p.add_argument("targets", metavar="TARGET", nargs="+", help="mailbox, alias or external")
    p.add_argument(
        "--send-as",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="its mailboxes may send as it (default for a new alias: yes)",
    )
    p = verb(verbs, "del", cmd_alias_del, "remove an alias, or only some of its targets")
    p.add_argument("alias", metavar="ALIAS")
    p.add_argument("targets", metavar="TARGET", nargs="*")
    p = verb(verbs, "list", cmd_alias_list, "aliases, forwards, catch-alls and domain aliases")
    p.add_argument("domain", metavar="DOMAIN", nargs="?")

    if "domain" in groups:
        p = verb(
            groups["domain"],
            "alias",
            cmd_domain_alias,
            "every address of ALIASDOMAIN reaches the same one of TARGETDOMAIN",
        )
        p.add_argument("alias_domain", metavar="ALIASDOMAIN")
        p.add_argument("target", metavar="TARGETDOMAIN|off")
    if "mail" in groups:
        p = verb(groups["mail"], "catch-all", cmd_catch_all, "where unknown addresses go")
        p.add_argument("domain", metavar="DOMAIN")
        p.add_argument("target", metavar="TARGET|off")
        p = verb(
            groups["mail"], "sieve-before", cmd_sieve_before, "a Sieve script for the whole domain"
        )
        p.add_argument("domain", metavar="DOMAIN")
        p.add_argument("file", metavar="FILE|off", help='a Sieve script ("-": standard input)')
    if "mailbox" in groups:
        p = verb(groups["mailbox"], "forward", cmd_mailbox_forward, "send a mailbox's mail on")
        p.add_argument("address", metavar="ADDRESS")
        p.add_argument("target", metavar="TARGET|off")
        p.add_argument("--keep", action="store_true", help="a copy stays in the mailbox too")
        p = verb(groups["mailbox"], "sieve", cmd_mailbox_sieve, "filter a mailbox's mail (Sieve)")
        p.add_argument("address", metavar="ADDRESS")
        p.add_argument("file", metavar="FILE|off", help='a Sieve script ("-": standard input)')
        p.add_argument("--name", default="main", help="the script's name (default: main)")
