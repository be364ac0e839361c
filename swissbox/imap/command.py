"""Admin verbs of the IMAP package, in the `mailbox` group:

    swissbox mailbox import ADDRESS MAILDIR     folders, flags, internal dates; idempotent
    swissbox mailbox restore ADDRESS [--since DATE]   expunged mail back into "Restored"

Both work on the mail store directly (best with the server stopped; a running server sees
the new messages and folders at the next SELECT/LIST).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from swissbox.cliutil import CliEnv, CommandError


def open_mailbox(store: Any, address: str) -> Any:
    """The mailbox without the recovery pass when it already has an index: a running server
    owns recovery (reconciling here could index a file its writer is about to commit)."""
    from swissbox.mailstore import MailboxStore
    from swissbox.mailstore.paths import INDEX_NAME, mailbox_dir

    path = mailbox_dir(store.root, address)
    if (path / INDEX_NAME).exists():
        return MailboxStore(store, address, path)
    return store.mailbox(address)


def _mailbox(env: CliEnv, address: str) -> str:
    mailbox = env.directory.mailbox(address)
    if mailbox is None:
        raise CommandError(f"no mailbox {address!r}")
    return mailbox.address


def cmd_import(args: argparse.Namespace, env: CliEnv) -> int:
    from swissbox.mailstore import MailStore
    from swissbox.mailstore.importer import import_maildir, source_folders

    address = _mailbox(env, args.address)
    source = Path(args.maildir)
    if not source.is_dir():
        raise CommandError(f"{source}: not a folder")
    if not any(source_folders(source)):
        raise CommandError(
            f"{source}: not a Maildir (no cur/ or new/ in it, nor in a .Folder or folder below)"
        )
    store = MailStore(env.config.data_dir / "mail")
    box = open_mailbox(store, address)
    try:
        result = import_maildir(box, source)
    finally:
        box.index.close()
        store.close()
    env.emit(
        {"folders": result.folders, "added": result.added, "skipped": result.skipped},
        f"imported {result.added} messages into {address} ({result.folders} folders,"
        f" {result.skipped} already there)",
    )
    return 0


def parse_since(text: str) -> float:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--since: not a date (YYYY-MM-DD[THH:MM]): {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def cmd_restore(args: argparse.Namespace, env: CliEnv) -> int:
    from swissbox.mailstore import MailStore, retention

    address = _mailbox(env, args.address)
    since = parse_since(args.since) if args.since else None
    store = MailStore(env.config.data_dir / "mail")
    box = open_mailbox(store, address)
    try:
        count = retention.restore(box, since)
    finally:
        box.index.close()
        store.close()
    env.emit({"restored": count}, f"restored {count} messages into {address}/Restored")
    return 0


def add_commands(sub: Any, common: Any, groups: dict[str, Any] | None = None) -> None:
    if not groups or "mailbox" not in groups:
        return
    mbx = groups["mailbox"]
    p = mbx.add_parser(
        "import", parents=[common], help="import a Maildir (folders, flags, dates) into a mailbox"
    )
    p.add_argument("address")
    p.add_argument("maildir")
    p.set_defaults(func=cmd_import)
    p = mbx.add_parser(
        "restore", parents=[common], help="bring expunged messages back into a Restored folder"
    )
    p.add_argument("address")
    p.add_argument("--since", metavar="DATE", help="only messages expunged since DATE")
    p.set_defaults(func=cmd_restore)
