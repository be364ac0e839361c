"""`swissbox migrate --to LOCATION`: the directory moved to PostgreSQL (or back to SQLite)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from swissbox.cliutil import CliEnv, CommandError
from swissbox.directory.schema import MIGRATIONS
from swissbox.store.copy import TableSum, copy_tables, table_report, tables_of
from swissbox.store.open import is_postgres_url, open_database


def cmd_migrate(args: argparse.Namespace, env: CliEnv) -> int:
    source_location = env.config.directory_location
    target_location: str | Path = args.to if is_postgres_url(args.to) else Path(args.to)
    if str(target_location) == str(source_location):
        raise CommandError("the directory is already there")
    if not env.config.initialized:
        raise CommandError(f"no swissbox data in {env.config.data_dir}: nothing to migrate")
    tables = tables_of(MIGRATIONS)
    with (
        open_database(source_location, "directory") as source,
        open_database(target_location, "directory") as target,
    ):
        source.migrate(MIGRATIONS)
        target.migrate(MIGRATIONS)
        copy_tables(source, target, tables)
        before, after = table_report(source, tables), table_report(target, tables)
    rows = sum(t.rows for t in after)
    if before != after:
        differ = [a.table for a, b in zip(before, after, strict=True) if a != b]
        raise CommandError(f"copied, but these tables differ afterwards: {', '.join(differ)}")
    after += _copy_dav(env, args.to)
    after += _copy_mail(env, args.to)
    after += _copy_queue(env, args.to)
    lines = [f"{t.table:<20} {t.rows:>8} rows  sha256 {t.sha256[:16]}" for t in after]
    lines.append(f"copied {rows} rows in {len(tables)} tables; source and target checksums agree")
    if is_postgres_url(args.to):
        lines.append('now set [store] url = "<that URL>" in swissbox.toml and restart serve')
    else:
        lines.append(f"now remove [store] url from swissbox.toml; {target_location} is the copy")
    env.emit(
        [{"table": t.table, "rows": t.rows, "sha256": t.sha256} for t in after], "\n".join(lines)
    )
    return 0


def _copy_dav(env: CliEnv, to: str) -> list[TableSum]:
    """The members' calendars and address books follow the directory: into the PostgreSQL
    URL `to`, or from PostgreSQL back to `<data>/dav` (files)."""
    from swissbox.dav.data import dav_place
    from swissbox.dav.storemove import copy_dav

    source = dav_place(env.config)
    target: str | Path = to if is_postgres_url(to) else env.config.data_dir / "dav"
    if not (is_postgres_url(source) or is_postgres_url(target)):
        return []  # SQLite to SQLite: the collections stay the files they are
    before, after = copy_dav(source, target)
    if before != after:
        raise CommandError("DAV collections copied, but they differ afterwards")
    return [
        TableSum("dav: collections", after.collections, after.sha256),
        TableSum("dav: items", after.items, after.sha256),
    ]


def _copy_mail(env: CliEnv, to: str) -> list[TableSum]:
    """The mailbox indexes follow the directory (the message files stay where they are)."""
    from swissbox.mailstore.indexcopy import migrate_mail

    try:
        return migrate_mail(
            env.config.mail_dir, env.config.settings.store.url, to if is_postgres_url(to) else None
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _copy_queue(env: CliEnv, to: str) -> list[TableSum]:
    """The outbound queue's delivery state follows (its message files stay where they are)."""
    from swissbox.mailstore.queuestate import SQLITE_FILE, migrate_state, state_location

    source = state_location(env.config)
    target: str | Path = to if is_postgres_url(to) else env.config.data_dir / SQLITE_FILE
    if str(source) == str(target) or not (is_postgres_url(source) or is_postgres_url(target)):
        return []
    try:
        return [
            TableSum(f"queue: {t.table}", t.rows, t.sha256) for t in migrate_state(source, target)
        ]
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def add_commands(sub: Any, common: argparse.ArgumentParser, groups: dict[str, Any]) -> None:
    p = sub.add_parser(
        "migrate",
        parents=[common],
        help="copy the directory to PostgreSQL (--to postgresql://...) or back to a SQLite file",
        description="Copies every table of the directory to LOCATION (a postgresql:// URL or a"
        " SQLite file), replacing what is there, and compares row counts and checksums of both"
        " sides. The members' calendars and address books go with it (into PostgreSQL, or back"
        " to the files under <data>/dav). Idempotent: run it again after a change and the target matches again. Stop"
        " writes (admin verbs, DDNS) while it runs, or run it again afterwards.",
    )
    p.add_argument("--to", required=True, metavar="LOCATION", help="postgresql:// URL or file")
    p.set_defaults(func=cmd_migrate)
