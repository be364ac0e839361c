"""`swissbox dav import ADDRESS|LOGIN FILE...`: .vcf/.ics files into an account's address book
or calendar (`--collection NAME` for another one), idempotent by UID (see importer.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from swissbox.cliutil import CliEnv, CommandError
from swissbox.dav.data import dav_place
from swissbox.directory import NotFound


def account_login(env: CliEnv, who: str) -> str:
    """The account: `who` itself, or the account owning the mailbox `who`."""
    d = env.directory
    try:
        return str(d.account(who).login)
    except NotFound:
        pass
    mailbox = d.mailbox(who)
    if mailbox is not None:
        owners = [
            u.login for u in d.mailbox_users([mailbox]).get(mailbox.id, []) if u.access == "own"
        ]
        if len(owners) == 1:
            return owners[0]
    raise CommandError(f"no account {who!r} (nor a mailbox owned by one)")


def cmd_dav_import(args: argparse.Namespace, env: CliEnv) -> int:
    from swissbox.dav.importer import ImportRefused, import_objects, split

    login = account_login(env, args.who)
    parsed = []
    for name in args.files:
        try:
            text = Path(name).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{name}: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            parsed.append((name, *split(text)))
        except ImportRefused as exc:
            raise CommandError(f"{name}: {exc}") from None
    rows, lines = [], []
    for name, tag, objects in parsed:
        try:
            r = import_objects(dav_place(env.config), login, tag, objects, args.collection)
        except (ImportRefused, ValueError) as exc:
            raise CommandError(f"{name}: {exc}") from None
        rows.append({"file": name, "collection": r.collection, "added": r.added,
                     "updated": r.updated, "unchanged": r.unchanged})  # fmt: skip
        lines.append(
            f"{name}: {r.added} new, {r.updated} updated, {r.unchanged} unchanged in {r.collection}"
        )
    env.emit(rows, "\n".join(lines))
    return 0


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    dav = sub.add_parser("dav", help="calendars and address books (CalDAV/CardDAV)")
    verbs = dav.add_subparsers(dest="dav_verb", metavar="VERB", required=True)
    p = verbs.add_parser(
        "import",
        parents=[common],
        help="import .vcf/.ics files into an account's address book or calendar (by UID)",
    )
    p.add_argument("who", metavar="ADDRESS|LOGIN", help="the account, or a mailbox it owns")
    p.add_argument("files", metavar="FILE", nargs="+", help=".vcf or .ics (many items each)")
    p.add_argument(
        "--collection", metavar="NAME", help="another collection of the account (made if missing)"
    )
    p.set_defaults(func=cmd_dav_import)
