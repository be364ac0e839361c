"""Organization management verbs (they feed the directory address book):

    swissbox org member add LOGIN [--org ORG] [--role ROLE] [--name N] [--phone P] [--password-stdin]
    swissbox org member set-role LOGIN ROLE [--org ORG]        (mails the member a summary)
    swissbox org member remove LOGIN [--org ORG] (--transfer-to LOGIN | --delete-data) --confirm LOGIN
    swissbox org member list [--org ORG]
    swissbox org team add|remove TEAM [--org ORG]
    swissbox org team add-member|remove-member TEAM LOGIN [--org ORG]
    swissbox org team list [--org ORG]
    swissbox org private LOGIN on|off [--org ORG]
    swissbox account collections LOGIN                       (the member's calendars and books)

`--org` may be left out when it is unambiguous (the member belongs to one organization, or
only one organization exists).
"""

from __future__ import annotations

import argparse
from typing import Any

from swissbox.cliutil import CliEnv, CommandError, read_password
from swissbox.dav import data as dav_data
from swissbox.dav.memberhooks import send_role_summary, settle_collections
from swissbox.directory import ROLE_NAMES, ROLES, NotFound, members
from swissbox.directory.store import MailboxFate


def _dav_folder(env: CliEnv) -> Any:
    return env.config.data_dir / "dav"


def _org(env: CliEnv, args: argparse.Namespace, login: str | None = None) -> str:
    """The organization the command is about: --org, else the only one that fits."""
    if getattr(args, "org", None):
        return str(env.directory.org(args.org).name)
    if login is not None:
        try:
            orgs = [m.org for m in env.directory.memberships(login)]
        except NotFound:
            orgs = []
        if len(orgs) == 1:
            return orgs[0]
        if len(orgs) > 1:
            raise CommandError(f"{login} belongs to {', '.join(orgs)}: say which with --org")
    orgs = [o.name for o in env.directory.orgs()]
    if len(orgs) == 1:
        return orgs[0]
    raise CommandError("say which organization with --org")


# -- members ----------------------------------------------------------------------------------


def cmd_member_add(args: argparse.Namespace, env: CliEnv) -> int:
    org = _org(env, args)
    member = members.add_member(
        env.directory,
        org,
        args.login,
        args.role,
        env.hash_params,
        (lambda: read_password(args)) if args.password_stdin else None,
        args.name or "",
        args.phone or "",
        "--password-stdin",
        ask=lambda: read_password(args),
    )
    print(f"{member.account.login} is now a member of {org} as {ROLE_NAMES[member.role]}")
    return 0


def cmd_member_set_role(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    org = _org(env, args, args.login)
    old = d.set_role(org, args.login, args.role)
    member = d.member(org, args.login)
    print(f"{member.account.login}: {ROLE_NAMES[old]} -> {ROLE_NAMES[args.role]} in {org}")
    if old == args.role:
        return 0
    settings = env.config.settings
    where = send_role_summary(
        d, env.config, settings.server.hostname, org, member.account.login, old, args.role
    )
    print(f"summary mail {where}")
    return 0


def cmd_member_remove(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    org = _org(env, args, args.login)
    removal = members.check_removal(
        d, org, args.login, args.confirm, args.transfer_to, args.delete_data
    )
    login, target = removal.login, removal.transfer_to
    other_orgs = [m.org for m in d.memberships(login) if m.org != org]
    collections = dav_data.collections(dav_data.dav_place(env.config), login)
    fates, account_deleted = members.remove_member(d, removal)
    print(f"{login} removed from {org} (directory, teams, mailbox grants)")
    for line in mailbox_fate_lines(login, fates) or [f"  {login} used no mailbox of {org}"]:
        print(line)
    if not account_deleted:
        print(
            f"the account stays (member of {', '.join(other_orgs)}): "
            f"its {len(collections)} calendars and address books stay with it"
        )
        return 0
    moved, count = settle_collections(dav_data.dav_place(env.config), login, target)
    if target is not None:
        for old, new in moved:
            print(f"  {old} -> {target}/{new}")
        print(f"account {login} deleted; {len(moved)} collections handed to {target}")
    else:
        print(f"account {login} deleted with its {count} calendars and address books")
    _forget(env, login)
    return 0


def mailbox_fate_lines(login: str, fates: list[MailboxFate]) -> list[str]:
    """One line per mailbox the removed member used: what became of it and what to do."""
    lines = []
    for f in fates:
        if f.fate == "kept":
            lines.append(
                f"  {f.address}: kept for {', '.join(f.holders)}, who also use it; its"
                f" password is unchanged (if {login} knew it: swissbox mailbox passwd {f.address})"
            )
        elif f.fate == "handed":
            lines.append(
                f"  {f.address}: handed over to {f.holders[0]} (granted); the password"
                f" {login} knew no longer opens it (new one: swissbox mailbox passwd {f.address})"
            )
        else:
            lines.append(
                f"  {f.address}: disabled: nobody holds it and no password opens it; its mail is"
                f" kept and new mail still arrives (swissbox mailbox grant/passwd to reuse it)"
            )
    return lines


def _forget(env: CliEnv, login: str) -> None:
    """Drops per-member directory settings (display colours) of a deleted account."""
    path = _dav_folder(env) / "directory.sqlite"
    if not path.exists():
        return
    from swissbox.dav.book import DirectoryBook

    book = DirectoryBook(env.directory, path)
    try:
        book.forget_login(login)
    finally:
        book.close()


def cmd_member_list(args: argparse.Namespace, env: CliEnv) -> int:
    d = env.directory
    org = _org(env, args)
    teams_of = members.teams_of_members(d, org)
    rows: list[dict[str, Any]] = [
        {
            "login": m.account.login,
            "name": m.account.display_name,
            "role": m.role,
            "private": m.private,
            "teams": teams_of.get(m.account.login, []),
        }
        for m in d.members(org)
    ]
    text = "\n".join(
        "\t".join([r["login"], r["role"], "private" if r["private"] else "", ",".join(r["teams"])])
        for r in rows
    )
    env.emit(rows, text)
    return 0


# -- teams ------------------------------------------------------------------------------------


def cmd_team_add(args: argparse.Namespace, env: CliEnv) -> int:
    org = _org(env, args)
    env.directory.add_team(org, args.team)
    print(f"team {args.team} created in {org}")
    return 0


def cmd_team_remove(args: argparse.Namespace, env: CliEnv) -> int:
    org = _org(env, args)
    env.directory.remove_team(org, args.team)
    print(f"team {args.team} removed from {org}")
    return 0


def cmd_team_add_member(args: argparse.Namespace, env: CliEnv) -> int:
    org = _org(env, args, args.login)
    env.directory.add_team_member(org, args.team, args.login)
    print(f"{args.login} is in team {args.team}")
    return 0


def cmd_team_remove_member(args: argparse.Namespace, env: CliEnv) -> int:
    org = _org(env, args, args.login)
    env.directory.remove_team_member(org, args.team, args.login)
    print(f"{args.login} left team {args.team}")
    return 0


def cmd_team_list(args: argparse.Namespace, env: CliEnv) -> int:
    teams = env.directory.teams(_org(env, args))
    rows = [{"team": t["name"], "members": t["members"]} for t in teams]
    env.emit(rows, "\n".join(f"{t['name']}\t{','.join(t['members'])}" for t in teams))
    return 0


# -- private entries --------------------------------------------------------------------------


def cmd_private(args: argparse.Namespace, env: CliEnv) -> int:
    org = _org(env, args, args.login)
    env.directory.set_private(org, args.login, args.state == "on")
    seen = "legal representatives and administrators only" if args.state == "on" else "everyone"
    print(f"directory entry of {args.login} in {org}: seen by {seen}")
    return 0


def cmd_collections(args: argparse.Namespace, env: CliEnv) -> int:
    login = env.directory.account(args.login).login
    found = dav_data.collections(dav_data.dav_place(env.config), login)
    rows = [
        {"name": c.name, "kind": c.kind, "displayname": c.displayname, "items": c.items}
        for c in found
    ]
    env.emit(rows, "\n".join(f"{c.name}\t{c.kind}\t{c.items}\t{c.displayname}" for c in found))
    return 0


# -- parser -----------------------------------------------------------------------------------


def add_commands(sub: Any, common: argparse.ArgumentParser, groups: dict[str, Any]) -> None:
    from swissbox.dav import importcmd

    importcmd.add_commands(sub, common)  # swissbox dav import
    org, account = groups["org"], groups["account"]

    def verb(
        parent: Any, name: str, func: Any, help: str, description: str | None = None
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(
            name, parents=[common], help=help, description=description or help
        )
        p.set_defaults(func=func)
        p.add_argument("--org", help="the organization (when ambiguous)")
        return p

    members = org.add_parser("member", help="add, re-role, remove and list members")
    mverbs = members.add_subparsers(dest="member_verb", metavar="VERB", required=True)
    p = verb(mverbs, "add", cmd_member_add, "add a member (a new account, or an existing one)")
    p.add_argument("login")
    p.add_argument("--role", choices=ROLES, default="collaborator")
    p.add_argument("--name", help="display name (new accounts)")
    p.add_argument("--phone", help="phone (new accounts)")
    p.add_argument("--password-stdin", action="store_true", help="password of a new account")
    p = verb(mverbs, "set-role", cmd_member_set_role, "change a role; mails the member")
    p.add_argument("login")
    p.add_argument("role", choices=ROLES)
    p = verb(
        mverbs,
        "remove",
        cmd_member_remove,
        "remove a member (irreversible): from the directory, teams and mailbox grants",
        "Irreversible. Removes LOGIN from the organization: its directory entry, its places in"
        " teams and its grants on the organization's mailboxes. Each mailbox of the"
        " organization that LOGIN used (granted, or the one that is LOGIN) stays as it is for"
        " the other accounts that hold a grant on it; else it is handed to --transfer-to LOGIN"
        " (granted, with a password nobody knows) or, with --delete-data, disabled (no password"
        " opens it; its mail is kept). When this was the account's last organization, the"
        " account is deleted and its calendars and address books are handed to --transfer-to"
        " LOGIN (another member) or deleted (--delete-data); otherwise they stay with the"
        " account. Repeat the login with --confirm.",
    )
    p.add_argument("login")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--transfer-to", metavar="LOGIN", help="hand calendars and books to LOGIN")
    what.add_argument("--delete-data", action="store_true", help="delete calendars and books")
    p.add_argument("--confirm", metavar="LOGIN", help="the removed login again")
    verb(mverbs, "list", cmd_member_list, "list members with role, private flag and teams")

    teams = org.add_parser("team", help="teams (group cards in the directory)")
    tverbs = teams.add_subparsers(dest="team_verb", metavar="VERB", required=True)
    verb(tverbs, "add", cmd_team_add, "create a team").add_argument("team")
    verb(tverbs, "remove", cmd_team_remove, "delete a team").add_argument("team")
    p = verb(tverbs, "add-member", cmd_team_add_member, "put a member into a team")
    p.add_argument("team")
    p.add_argument("login")
    p = verb(tverbs, "remove-member", cmd_team_remove_member, "take a member out of a team")
    p.add_argument("team")
    p.add_argument("login")
    verb(tverbs, "list", cmd_team_list, "list teams and their members")

    p = verb(org, "private", cmd_private, "hide a directory entry from collaborators (on|off)")
    p.add_argument("login")
    p.add_argument("state", choices=("on", "off"))

    p = account.add_parser(
        "collections", parents=[common], help="an account's calendars and address books"
    )
    p.set_defaults(func=cmd_collections)
    p.add_argument("login")
