"""Admin verbs of the IMAP package, in the `mailbox` group:

    swissbox mailbox import ADDRESS MAILDIR     folders, flags, internal dates; idempotent
    swissbox mailbox restore ADDRESS [--since DATE]   expunged mail back into "Restored"
    swissbox mailbox import-imap ADDRESS --from imaps://user@host   from another IMAP server

All three write the mail store directly, beside a running server (SQLite serialises their
index transactions with its writer's; the server sees the new messages and folders at the
next SELECT/LIST, sessions in IDLE are not told).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import os
import sys
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
    store = MailStore(env.config.mail_dir, env.config.settings.store.url)
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


def source_password(args: argparse.Namespace) -> str:
    """The source server's password: --password-file, --password-env, --password-stdin (first
    line each), else asked once on a terminal. Never an argument: others could read it."""
    if args.password_file:
        try:
            text = Path(args.password_file).read_text("utf-8")
        except OSError as exc:
            raise CommandError(f"--password-file: {exc.strerror}: {args.password_file}") from None
        return text.splitlines()[0] if text else ""
    if args.password_env:
        if args.password_env not in os.environ:
            raise CommandError(f"--password-env: {args.password_env} is not set")
        return os.environ[args.password_env]
    if args.password_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise CommandError(
            "give the source password with --password-file FILE, --password-env NAME"
            " or --password-stdin"
        )
    return getpass.getpass(f"Password of {args.source}: ")


def cmd_import_imap(args: argparse.Namespace, env: CliEnv) -> int:
    from swissbox.imap.migrate import Budget, FolderResult, copy_mailbox, without
    from swissbox.imap.source import (
        SourceError,
        check,
        connect,
        parse_list,
        parse_namespace,
        parse_url,
    )
    from swissbox.mailstore import MailStore

    address = _mailbox(env, args.address)
    try:
        url = parse_url(args.source)
    except ValueError as exc:
        raise CommandError(f"--from: {exc}") from None
    if args.limit is not None and args.limit < 1:
        raise CommandError("--limit: at least 1")
    password = source_password(args)

    def progress(r: FolderResult) -> None:
        if r.error:
            print(f"{r.source}: skipped: {r.error}", file=sys.stderr, flush=True)
        else:
            print(f"{r.folder}: {r.added + r.skipped}/{r.found}", file=sys.stderr, flush=True)

    try:
        conn = connect(url, password, args.ca_file)
    except SourceError as exc:
        raise CommandError(str(exc)) from None
    store = MailStore(env.config.mail_dir, env.config.settings.store.url)
    box = open_mailbox(store, address)
    budget = Budget(args.limit)
    try:
        prefix = ""
        if "NAMESPACE" in conn.capabilities:
            prefix = parse_namespace(check(conn.namespace(), "NAMESPACE"))
        folders = without(parse_list(check(conn.list(), "LIST"), prefix), args.exclude)
        results = copy_mailbox(conn, box, folders, budget, progress)
    except SourceError as exc:
        raise CommandError(f"{exc} (what was copied stays; run again to continue)") from None
    finally:
        box.index.close()
        store.close()
        with contextlib.suppress(Exception):
            conn.logout()
    rows = [
        {"source": r.source, "folder": r.folder, "found": r.found, "added": r.added,
         "skipped": r.skipped, **({"error": r.error} if r.error else {})}
        for r in results
    ]  # fmt: skip
    added = sum(r.added for r in results)
    lines = [
        f"{r.folder}: {r.added} new, {r.skipped} already there ({r.found} in {r.source})"
        if not r.error
        else f"{r.source}: not copied: {r.error}"
        for r in results
    ]
    lines.append(f"imported {added} messages into {address} from {url}")
    if budget.spent:
        lines.append(f"stopped after --limit {args.limit}; run again to continue")
    env.emit({"folders": rows, "added": added, "complete": not budget.spent}, "\n".join(lines))
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
    store = MailStore(env.config.mail_dir, env.config.settings.store.url)
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
    p = mbx.add_parser(
        "import-imap",
        parents=[common],
        help="copy every folder, flag and date from another IMAP server (resumable)",
    )
    p.add_argument("address")
    p.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="imaps://user@host[:port], or imap://user@host[:port] (STARTTLS)",
    )
    secret = p.add_mutually_exclusive_group()
    secret.add_argument("--password-file", metavar="FILE", help="the source password's file")
    secret.add_argument(
        "--password-env", metavar="NAME", help="environment variable holding the password"
    )
    secret.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    p.add_argument("--ca-file", metavar="FILE", help="CA certificates to trust for the source")
    p.add_argument("--limit", type=int, metavar="N", help="copy at most N messages this run")
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="FOLDER",
        help='leave out this source folder and its subfolders (e.g. "[Gmail]/All Mail");'
        " repeatable",
    )
    p.set_defaults(func=cmd_import_imap)
