"""Creating a mailbox with the mailbox realm's password rule and the quota rule: one place
for `swissbox mailbox add` and the admin API."""

from __future__ import annotations

from swissbox.auth import HashParams, WeakPassword, hashed_new_secret
from swissbox.directory.model import DirectoryError, Mailbox
from swissbox.directory.store import Directory

QUOTA_RULE = "a quota is a positive number of bytes (leave it out: no limit)"


def check_quota(quota_bytes: int | None) -> None:
    if quota_bytes is not None and quota_bytes <= 0:
        raise DirectoryError(QUOTA_RULE)


def add_mailbox(
    d: Directory, address: str, password: str, params: HashParams, quota_bytes: int | None = None
) -> Mailbox:
    check_quota(quota_bytes)
    try:
        password_hash = hashed_new_secret("mailbox", password, params)
    except WeakPassword as exc:
        raise DirectoryError(str(exc)) from None
    return d.add_mailbox(address, password_hash, quota_bytes)
