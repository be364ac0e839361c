"""Operator verbs for an account's second factor and app passwords (the person manages
their own through the Manager's `/me/2fa` and `/me/app-passwords`):

    swissbox account 2fa LOGIN status|disable       disable: the recovery path for a lost phone
    swissbox account app-passwords LOGIN            list (name, scope, address, created, used)
    swissbox account app-password-revoke LOGIN ID
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from swissbox.cliutil import CliEnv, CommandError
from swissbox.directory.model import NotFound


def _when(stamp: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(stamp)) if stamp else "never"


def cmd_2fa(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    try:
        d.account(args.login)
        if args.action == "disable":
            done = d.disable_totp(args.login)
            print(f"{args.login}: two-factor authentication " + ("off" if done else "was not on"))
            return 0
        state = d.totp_state(args.login)
    except NotFound as exc:
        raise CommandError(str(exc)) from None
    row = {
        "login": args.login,
        "enabled": state is not None and state.confirmed is not None,
        "enrolling": state is not None and state.confirmed is None,
        "recovery_codes_left": d.recovery_codes_left(args.login),
    }
    status = "on" if row["enabled"] else "enrolling" if row["enrolling"] else "off"
    env.emit(row, f"{args.login}: {status}, {row['recovery_codes_left']} recovery codes left")
    return 0


def cmd_app_passwords(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    try:
        d.account(args.login)
    except NotFound as exc:
        raise CommandError(str(exc)) from None
    rows: list[dict[str, Any]] = [
        {
            "id": a.id,
            "name": a.name,
            "scope": "dav" if a.realm == "account" else "imap-smtp",
            "address": a.mailbox,
            "created": a.created,
            "last_used": a.last_used,
        }
        for a in d.app_passwords(args.login)
    ]
    text = "\n".join(
        f"{r['id']}\t{r['scope']}\t{r['address'] or '-'}\t{r['name']}\t"
        f"created {_when(r['created'])}\tused {_when(r['last_used'])}"
        for r in rows
    )
    env.emit(rows, text)
    return 0


def cmd_app_password_revoke(args: argparse.Namespace, env: CliEnv) -> int:
    try:
        gone = env.directory.revoke_app_password(args.login, args.id)
    except NotFound as exc:
        raise CommandError(str(exc)) from None
    if not gone:
        raise CommandError(f"{args.login} has no app password #{args.id}")
    print(f"app password #{args.id} of {args.login} revoked")
    return 0


def add_commands(sub: Any, common: argparse.ArgumentParser, groups: dict[str, Any]) -> None:
    account = groups["account"]

    def verb(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = account.add_parser(name, parents=[common], help=help)
        p.set_defaults(func=func)
        p.add_argument("login")
        return p

    p = verb("2fa", cmd_2fa, "an account's two-factor authentication: status, or disable it")
    p.add_argument("action", choices=("status", "disable"))
    verb("app-passwords", cmd_app_passwords, "list an account's app passwords")
    p = verb("app-password-revoke", cmd_app_password_revoke, "revoke one of its app passwords")
    p.add_argument("id", type=int)
