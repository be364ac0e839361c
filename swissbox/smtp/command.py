"""`swissbox mail dkim ...` verbs: list the DKIM keys of mail domains and rotate them.

`rotate` publishes a new key pair at once; it signs only after its records' TTL has passed
and once the server has seen the records in DNS; the server then retires the old pair and
withdraws its records after the queue lifetime (`swissbox.directory.dkim`).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from swissbox.cliutil import CliEnv
from swissbox.directory import dkim as dkimkeys


def _when(epoch: int | None) -> str:
    return "-" if epoch is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def cmd_dkim_list(args: argparse.Namespace, env: CliEnv) -> int:
    every = dkimkeys.keys(env.directory, args.domain)
    if not args.all:
        every = [k for k in every if k.withdrawn is None]
    now = time.time()
    by_domain: dict[str, list[dkimkeys.DkimKey]] = {}
    for key in every:
        by_domain.setdefault(key.domain, []).append(key)
    rows, lines = [], []
    for key in every:
        state = dkimkeys.state(key, by_domain[key.domain], now)
        rows.append(
            {
                "domain": key.domain,
                "selector": key.selector,
                "algorithm": key.algorithm,
                "state": state,
                "record": f"{key.name}. {dkimkeys.KEY_TTL} IN TXT {key.record()[3]}",
                "created": key.created,
                "sign_from": key.sign_from,
                "confirmed": key.confirmed,
                "retired": key.retired,
                "withdraw_at": key.withdraw_at,
                "withdrawn": key.withdrawn,
            }
        )
        detail = {
            "signing": f"since {_when(max(key.sign_from, key.confirmed or 0))}",
            "retired": f"record withdrawn {_when(key.withdraw_at)}",
            "withdrawn": _when(key.withdrawn),
            "published, waiting for caches": f"signs from {_when(key.sign_from)}",
        }.get(state, "")
        lines.append(f"{key.domain}\t{key.selector}\t{key.algorithm}\t{state}\t{detail}".rstrip())
    env.emit(rows, "\n".join(lines))
    return 0


def cmd_dkim_rotate(args: argparse.Namespace, env: CliEnv) -> int:
    made = dkimkeys.rotate(env.directory, env.config.dkim_dir, args.domain)
    for key in made:
        print(f"published {key.name} ({key.algorithm})")
    print(
        f"the new keys sign from {_when(made[0].sign_from)} (after the records' TTL), once the"
        " server has seen them in DNS; the old keys sign until then, and their records are"
        " withdrawn once no queued mail can need them"
    )
    return 0


def add_commands(sub: Any, common: Any, groups: dict[str, Any] | None = None) -> None:
    if not groups or "mail" not in groups:
        return
    dkim = groups["mail"].add_parser("dkim", help="DKIM keys of mail domains")
    verbs = dkim.add_subparsers(dest="dkim_verb", metavar="VERB", required=True)
    p = verbs.add_parser("list", parents=[common], help="the DKIM keys and what each does now")
    p.add_argument("domain", nargs="?")
    p.add_argument("--all", action="store_true", help="withdrawn keys too")
    p.set_defaults(func=cmd_dkim_list)
    p = verbs.add_parser(
        "rotate", parents=[common], help="publish a new key pair to replace the current one"
    )
    p.add_argument("domain")
    p.set_defaults(func=cmd_dkim_rotate)
