"""Operator verbs of the Manager:

swissbox audit prune [--days N]     drop audit entries older than N days
                                    (default: [manager] audit_days)
"""

from __future__ import annotations

import argparse
from typing import Any

from swissbox.cliutil import CliEnv
from swissbox.manager.auditretention import prune


def cmd_audit_prune(args: argparse.Namespace, env: CliEnv) -> int:
    days = args.days if args.days is not None else env.config.settings.manager.audit_days
    gone = prune(env.directory, days)
    env.emit({"pruned": gone, "days": days}, f"pruned {gone} audit entries older than {days} days")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def add_commands(sub: Any, common: argparse.ArgumentParser, groups: dict[str, Any]) -> None:
    audit = sub.add_parser("audit", help="the Manager's audit log")
    verbs = audit.add_subparsers(dest="verb", metavar="VERB", required=True)
    p = verbs.add_parser(
        "prune", parents=[common], help="drop entries older than [manager] audit_days"
    )
    p.add_argument("--days", type=_positive, help="keep this many days instead")
    p.set_defaults(func=cmd_audit_prune)
