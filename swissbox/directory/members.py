"""The rules of adding and removing organization members, shared by the CLI
(`swissbox org member ...`) and the admin API, so that both refuse the same things."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from swissbox.auth import HashParams, WeakPassword, hashed_new_secret
from swissbox.directory.model import DirectoryError, Member, NotFound
from swissbox.directory.store import Directory, MailboxFate

Password = str | Callable[[], str] | None  # a callable is asked only for a new account


def add_member(
    d: Directory,
    org: str,
    login: str,
    role: str,
    params: HashParams,
    password: Password = None,
    name: str = "",
    phone: str = "",
    password_option: str = "a password",
    ask: Callable[[], str] | None = None,
) -> Member:
    """An existing account joins `org` with `role` (no password may be given: its own stays);
    a new account is created with `password` (else the one `ask` returns), which must pass
    the account realm's rule. A callable password is read only when it is needed."""
    try:
        d.account(login)
        exists = True
    except NotFound:
        exists = False
    if exists:
        if password is not None:
            raise DirectoryError(f"account {login} exists; leave out {password_option}")
        return d.add_member(org, login, role)
    if password is None and ask is None:
        raise DirectoryError(f"{login} is a new account: give {password_option}")
    source = password if password is not None else ask
    secret = source() if callable(source) else str(source)
    try:
        password_hash = hashed_new_secret("account", secret, params)
    except WeakPassword as exc:
        raise DirectoryError(str(exc)) from None
    d.add_account(login, password_hash, org, role, name, phone)
    return d.member(org, login)


@dataclass(frozen=True)
class Removal:
    """A checked removal: who goes, and who receives their data (None: it is deleted)."""

    org: str
    login: str
    transfer_to: str | None


def check_removal(
    d: Directory,
    org: str,
    login: str,
    confirm: str | None,
    transfer_to: str | None,
    delete: bool,
    options: tuple[str, str, str] = ("--confirm", "--transfer-to", "--delete-data"),
) -> Removal:
    """The confirmation rule of a removal: the login repeated, and an explicit choice of what
    happens to the member's data (handed to another member, or deleted). `options` names the
    confirm, transfer and delete inputs in the caller's words, for the messages."""
    confirm_option, transfer_option, delete_option = options
    member = d.member(org, login)
    login = member.account.login
    if confirm is None or confirm.strip().lower() != login.lower():
        raise DirectoryError(
            f"removal is irreversible: repeat the login with {confirm_option} {login}"
        )
    if (transfer_to is None) == (not delete):
        raise DirectoryError(
            f"say what happens to the member's data: {transfer_option} LOGIN or {delete_option}"
            " (one of the two)"
        )
    target = None
    if transfer_to is not None:
        target = d.member(org, transfer_to).account.login
        if target == login:
            raise DirectoryError(f"{transfer_option} must name another member")
    return Removal(member.org, login, target)


def remove_member(d: Directory, removal: Removal) -> tuple[list[MailboxFate], bool]:
    """Settles the member's mailboxes and removes the membership in one transaction; returns
    the mailboxes' fates and whether the account itself was deleted (its last organization:
    the caller then hands over or deletes its calendars and address books)."""
    with d.transaction():
        fates = d.settle_member_mailboxes(removal.org, removal.login, removal.transfer_to)
        deleted = d.remove_member(removal.org, removal.login)
    return fates, deleted


def teams_of_members(d: Directory, org: str) -> dict[str, list[str]]:
    """{login: names of the teams of `org` they are in}, for member lists."""
    out: dict[str, list[str]] = {}
    for team in d.teams(org):
        for login in team["members"]:
            out.setdefault(login, []).append(team["name"])
    return out
