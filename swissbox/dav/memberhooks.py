"""What the DAV side does when the admin API changes a member (Context events emitted on the
API's worker threads): the role-change summary mail, as `swissbox org member set-role`
sends it, and the calendars and address books of a deleted account, handed over or deleted
as `swissbox org member remove` does."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from swissbox.dav import data as dav_data
from swissbox.dav.notify import recipient, role_change_message, send_notice
from swissbox.directory import Directory

log = logging.getLogger("swissbox.dav")


class MemberHooks:
    def __init__(self, directory: Directory, data_dir: Path, hostname: str, book: Any) -> None:
        self.directory, self.data_dir, self.hostname, self.book = (
            directory,
            data_dir,
            hostname,
            book,
        )

    def role_changed(self, org: str, login: str, old: str, new: str) -> None:
        try:
            member = self.directory.member(org, login)
            address, hosted = recipient(self.directory, org, login)
            raw = role_change_message(
                org=org,
                login=login,
                name=member.account.display_name,
                old_role=old,
                new_role=new,
                sender=f"postmaster@{self.hostname}",
                to=address,
            )
            where = send_notice(self.data_dir, self.directory, address, hosted, raw)
            log.info("dav: role change of %s in %s: summary mail %s", login, org, where)
        except Exception:  # the role is changed; a failed notice must not undo or hide it
            log.exception("dav: could not send the role change summary to %s", login)

    def account_removed(self, login: str, transfer_to: str | None) -> None:
        folder = self.data_dir / "dav"
        if transfer_to is not None:
            moved = dav_data.transfer(folder, login, transfer_to)
            log.info("dav: %d collections of %s handed to %s", len(moved), login, transfer_to)
        else:
            count = dav_data.delete(folder, login)
            log.info("dav: %d collections of %s deleted", count, login)
        self.book.forget_login(login)
