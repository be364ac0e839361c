"""A mailbox's life: created with the mailbox realm's password rule and the quota rule, its
quota changed, deleted with its mail moved out of reach; one place for the `swissbox
mailbox` verbs and the admin API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from swissbox.auth import HashParams, WeakPassword, hashed_new_secret
from swissbox.directory.model import DirectoryError, Mailbox, NotFound
from swissbox.directory.store import Directory
from swissbox.mailstore.removal import retire

if TYPE_CHECKING:
    from swissbox.mailstore import MailStore

QUOTA_RULE = "a quota is a positive number of bytes (leave it out: no limit)"


def check_quota(quota_bytes: int | None) -> None:
    if quota_bytes is not None and quota_bytes <= 0:
        raise DirectoryError(QUOTA_RULE)


SIZE_RULE = "a size in bytes, or with K, M or G (1024-based): 500M, 2G"
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
MAX_QUOTA = 2**62


def parse_size(text: str) -> int | None:
    """`2G`, `500M`, `1048576` -> bytes; `none` (or `off`) -> None (no limit)."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    if t in ("NONE", "OFF", "NO"):
        return None
    number, unit = (t[:-1], t[-1]) if t[-1:] in _UNITS and t[-1:] else (t, "")
    if not number.isascii() or not number.isdigit() or len(number) > 19:
        raise DirectoryError(f"size {text!r}: {SIZE_RULE}, or none")
    size = int(number) * _UNITS[unit]
    if not 0 < size <= MAX_QUOTA:
        raise DirectoryError(f"size {text!r}: {QUOTA_RULE}")
    return size


def quota_words(quota_bytes: int | None) -> str:
    if quota_bytes is None:
        return "no limit"
    for unit in ("T", "G", "M", "K"):
        if quota_bytes % _UNITS[unit] == 0:
            return f"{quota_bytes // _UNITS[unit]}{unit} ({quota_bytes} bytes)"
    return f"{quota_bytes} bytes"


def add_mailbox(
    d: Directory,
    address: str,
    password: str,
    params: HashParams,
    quota_bytes: int | None = None,
    store: MailStore | None = None,
) -> Mailbox:
    check_quota(quota_bytes)
    try:
        password_hash = hashed_new_secret("mailbox", password, params)
    except WeakPassword as exc:
        raise DirectoryError(str(exc)) from None
    return create_mailbox(d, address, password_hash, quota_bytes, store)


def create_mailbox(
    d: Directory,
    address: str,
    password_hash: str,
    quota_bytes: int | None = None,
    store: MailStore | None = None,
) -> Mailbox:
    """The mailbox's row and, given the mail store, a start with no mail: anything found at
    the address (from a delete made before deletes moved mail away, or a delivery already
    past RCPT when the old mailbox went) is held out of reach as a deleted mailbox's is."""
    with d.transaction():
        mailbox = d.add_mailbox(address, password_hash, quota_bytes)
        if store is not None:
            retire(store, mailbox.address)
    return mailbox


def set_quota(d: Directory, address: str, quota_bytes: int | None) -> Mailbox:
    """A new quota for an existing mailbox (None: no limit), as `swissbox mailbox quota`
    and the API's PATCH; the next delivery is checked against it."""
    check_quota(quota_bytes)
    return d.set_mailbox_quota(address, quota_bytes)


@dataclass(frozen=True)
class MailboxDeleted:
    """What deleting a mailbox did: where its mail is held until `erase_after` (Unix time;
    None: erased at once), and the aliases and catch-alls that pointed at it (they no
    longer do, so nothing sent to them reaches whoever gets the address next)."""

    address: str
    erase_after: int | None
    aliases: tuple[str, ...]
    catch_alls: tuple[str, ...]


def delete_mailbox(
    d: Directory, store: MailStore, address: str, keep_days: int, erase: bool = False
) -> MailboxDeleted:
    """Deletes the mailbox: the address stops at once (grants, forward, Sieve scripts and
    app passwords go with its row; alias targets and catch-alls naming it are removed), and
    its mail is moved out of reach (`mailstore.removal.retire`), erased after `keep_days`
    or, with `erase`, now. An address created again starts empty. The mail moves inside the
    directory's transaction: if it cannot move, the mailbox stays as it was."""
    mailbox = d.mailbox(address)
    if mailbox is None:
        raise NotFound(f"no mailbox {address!r}")
    key = mailbox.address.lower()
    with d.transaction():
        aliases = []
        for alias in d.aliases():
            if any(t.lower() == key for t in alias.targets):
                d.remove_alias(alias.address, [t for t in alias.targets if t.lower() == key])
                aliases.append(alias.address)
        domains = []
        for domain, target in d.catch_alls().items():
            if target.lower() == key:
                d.set_catch_all(domain, None)
                domains.append(domain)
        d.remove_mailbox(mailbox.address)
        retired = retire(store, mailbox.address, erase=erase)
    after = None if erase else retired.deleted + keep_days * 86400
    return MailboxDeleted(mailbox.address, after, tuple(aliases), tuple(domains))
