"""The logged-in mailbox (`MailAccount`), plus the Twisted portal pieces that log in to it
in the **mailbox realm** only (an account password for the same string fails).

`MailboxChecker` awaits the shared Authenticator (bounded Argon2 pool, failure delay);
`MailboxRealm` opens the mailbox (creating the default folders
Sent, Drafts, Trash, Junk, Archive on first login) off the event loop.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm
from twisted.internet import defer, threads
from twisted.mail.imap4 import IAccount
from zope.interface import implementer

from swissbox.auth import Authenticator, AuthResult
from swissbox.directory import Directory
from swissbox.imap.mailbox import FolderMailbox
from swissbox.mailstore import (
    SEPARATOR,
    MailboxStore,
    MailStore,
    NoSuchFolder,
    query,
    subscriptions,
)
from swissbox.mailstore import folders as folder_ops
from swissbox.mailstore.index import FolderInfo


@implementer(IUsernamePassword)
class MailboxCredentials:
    """User name and password as sent, plus the client address for rate limiting."""

    def __init__(self, username: str, password: str, client: str | None) -> None:
        self.username, self.password, self.client = username, password, client

    def checkPassword(self, password: str) -> bool:  # noqa: N802 (Twisted API)
        return False  # the checker decides, never the credentials object


class LoginBusy(UnauthorizedLogin):
    """Not checked: too many logins at once; the client should try again shortly."""


@implementer(ICredentialsChecker)
class MailboxChecker:
    """Logins remembered by the shared Authenticator (its VerifiedCache) pass without Argon2;
    the rest wait for the Authenticator's bounded verification pool."""

    credentialInterfaces = (IUsernamePassword,)

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    def requestAvatarId(self, credentials: MailboxCredentials) -> defer.Deferred[str]:  # noqa: N802
        user, secret = credentials.username, credentials.password
        client = getattr(credentials, "client", None)
        d = defer.Deferred.fromFuture(
            asyncio.ensure_future(
                self.authenticator.authenticate_async("mailbox", user, secret, client)
            )
        )

        def done(result: AuthResult) -> str:
            if result.busy:
                raise LoginBusy("too many logins at once")
            if not result.ok or not result.identifier:
                raise UnauthorizedLogin("authentication failed")
            return result.identifier

        return d.addCallback(done)


@implementer(IRealm)
class MailboxRealm:
    def __init__(self, store: MailStore, directory: Directory) -> None:
        self.store = store
        self.directory = directory

    def requestAvatar(self, avatar_id: str, mind: Any, *interfaces: Any) -> Any:  # noqa: N802
        if IAccount not in interfaces:
            raise NotImplementedError("only IAccount")

        def open_box() -> MailAccount:
            mailbox = self.directory.mailbox(avatar_id)
            quota = mailbox.quota_bytes if mailbox is not None else None
            address = mailbox.address if mailbox is not None else avatar_id
            return MailAccount(address, self.store.mailbox(address), quota)

        d = threads.deferToThread(open_box)
        return d.addCallback(lambda account: (IAccount, account, lambda: None))


def list_matches(reference: str, pattern: str, name: str) -> bool:
    """LIST wildcards: `*` matches anything, `%` anything but the hierarchy delimiter."""
    full = reference + pattern
    if full.upper().startswith("INBOX") and name == "INBOX":
        full = "INBOX" + full[5:]
    regex = "".join(
        ".*" if c == "*" else f"[^{re.escape(SEPARATOR)}]*" if c == "%" else re.escape(c)
        for c in full
    )
    return re.fullmatch(regex, name, re.IGNORECASE if name == "INBOX" else 0) is not None


def lsub_noselect_parents(subscribed: list[str], reference: str, pattern: str) -> list[str]:
    """LSUB with `%` (RFC 3501 6.3.9): the unsubscribed parents of subscribed folders that
    the pattern matches where the folders themselves do not; listed with \\Noselect."""
    if "%" not in pattern:
        return []
    wanted = set(subscribed)
    out: set[str] = set()
    for name in subscribed:
        parts = name.split(SEPARATOR)
        for i in range(1, len(parts)):
            parent = SEPARATOR.join(parts[:i])
            if parent not in wanted and list_matches(reference, pattern, parent):
                out.add(parent)
    return sorted(out)


class MailAccount:
    """One logged-in mailbox (the avatar the portal hands back). Folder names are str with
    "/" as the hierarchy delimiter."""

    def __init__(self, address: str, box: MailboxStore, quota_bytes: int | None) -> None:
        self.address = address
        self.box = box
        self.quota_bytes = quota_bytes

    def folder_info(self, name: str) -> FolderInfo:
        """The folder's fresh counters (NoSuchFolder or ValueError when absent); the folder
        cache is refreshed when another process (import, restore) made the folder."""
        info = query.folder(self.box, name)
        if self.box.index.folder(info.name) is None:
            query.refresh(self.box)
        return info

    def select(self, name: str, readwrite: bool = True) -> FolderMailbox | None:
        try:
            info = self.folder_info(name)
        except (NoSuchFolder, ValueError):
            return None
        return FolderMailbox(self.box, info, readwrite)

    def delete(self, name: str) -> None:
        info = self.box.index.folder(name)
        folder_ops.delete_folder(self.box, name)
        if info is not None and info.subscribed:  # the subscription stays (RFC 3501 6.3.6)
            subscriptions.keep(self.box, info.name)

    def rename(self, oldname: str, newname: str) -> None:
        folder_ops.rename_folder(self.box, oldname, newname)

    def subscribe(self, name: str) -> None:
        folder_ops.set_subscribed(self.box, name, True)

    def unsubscribe(self, name: str) -> None:
        try:
            folder_ops.set_subscribed(self.box, name, False)
        except NoSuchFolder:
            if not subscriptions.forget(self.box, name):  # a subscription that outlived it
                raise


__all__ = ["LoginBusy", "MailAccount", "MailboxChecker", "MailboxCredentials", "MailboxRealm"]
