"""What the DAV side does when the admin API changes a member (Context events emitted on the
API's worker threads): the role-change summary mail, as `swissbox org member set-role`
sends it, and the calendars and address books of a deleted account, handed over or deleted
as `swissbox org member remove` does."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from swissbox.conf import Config
from swissbox.dav import data as dav_data
from swissbox.dav.notify import recipient, role_change_message, send_notice
from swissbox.directory import Directory

log = logging.getLogger("swissbox.dav")


def send_role_summary(
    directory: Directory,
    data_dir: Path | Config,
    hostname: str,
    org: str,
    login: str,
    old: str,
    new: str,
) -> str:
    """Mails the member the summary of a role change (their own mailbox, else their login
    address); returns where it went. One place for the CLI and the admin API."""
    member = directory.member(org, login)
    address, hosted = recipient(directory, org, member.account.login)
    raw = role_change_message(
        org=org,
        login=member.account.login,
        name=member.account.display_name,
        old_role=old,
        new_role=new,
        sender=f"postmaster@{hostname}",
        to=address,
    )
    return send_notice(data_dir, directory, address, hosted, raw)


def settle_collections(
    place: Path | str, login: str, transfer_to: str | None
) -> tuple[list[tuple[str, str]], int]:
    """A deleted account's calendars and address books (in the `<data>/dav` folder or the
    PostgreSQL URL `place`): handed to `transfer_to` ((old, new) names moved, 0) or deleted
    ([], how many)."""
    if transfer_to is not None:
        return dav_data.transfer(place, login, transfer_to), 0
    return [], dav_data.delete(place, login)


class MemberHooks:
    def __init__(
        self,
        directory: Directory,
        data_dir: Path | Config,
        hostname: str,
        book: Any,
        place: Path | str | None = None,
    ) -> None:
        """`place`: where the collections are (`data.dav_place`; `<data_dir>/dav` if None)."""
        self.directory, self.data_dir, self.hostname, self.book = (
            directory,
            data_dir,
            hostname,
            book,
        )
        folder = data_dir.data_dir if isinstance(data_dir, Config) else data_dir
        self.place = place if place is not None else folder / "dav"

    def role_changed(self, org: str, login: str, old: str, new: str) -> None:
        try:
            where = send_role_summary(
                self.directory, self.data_dir, self.hostname, org, login, old, new
            )
            log.info("dav: role change of %s in %s: summary mail %s", login, org, where)
        except Exception:  # the role is changed; a failed notice must not undo or hide it
            log.exception("dav: could not send the role change summary to %s", login)

    def account_removed(self, login: str, transfer_to: str | None) -> None:
        moved, deleted = settle_collections(self.place, login, transfer_to)
        if transfer_to is not None:
            log.info("dav: %d collections of %s handed to %s", len(moved), login, transfer_to)
        else:
            log.info("dav: %d collections of %s deleted", deleted, login)
        self.book.forget_login(login)
