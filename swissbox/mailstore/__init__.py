"""Maildir++ folders plus an index per mailbox (SQLite, or PostgreSQL for several front ends);
the one delivery path (see README.md)."""

from swissbox.mailstore.index import FolderInfo, MessageInfo
from swissbox.mailstore.meta import Summary, summarize
from swissbox.mailstore.paths import DEFAULT_FOLDERS, INBOX, JUNK, SEPARATOR, SPECIAL_USE
from swissbox.mailstore.store import (
    Delivered,
    Delivery,
    FolderView,
    MailboxStore,
    MailStore,
    MailStoreError,
    NoSuchFolder,
    QuotaExceeded,
    release_store,
    shared_store,
)

__all__ = [
    "DEFAULT_FOLDERS",
    "INBOX",
    "JUNK",
    "SEPARATOR",
    "SPECIAL_USE",
    "Delivered",
    "Delivery",
    "FolderInfo",
    "FolderView",
    "MailStore",
    "MailStoreError",
    "MailboxStore",
    "MessageInfo",
    "NoSuchFolder",
    "QuotaExceeded",
    "Summary",
    "release_store",
    "shared_store",
    "summarize",
]
