"""The domain model and its SQLite store: organizations, accounts, domains, mail, DDNS."""

from swissbox.directory.model import (
    ROLE_NAMES,
    ROLE_RANK,
    ROLES,
    Account,
    Conflict,
    DdnsHost,
    DirectoryError,
    Domain,
    EmailService,
    Mailbox,
    Member,
    NotFound,
    Org,
    Record,
    TsigKey,
)
from swissbox.directory.names import (
    InvalidName,
    normalize_address,
    normalize_domain,
    normalize_login,
    split_address,
)
from swissbox.directory.store import REALMS, Directory, next_serial

__all__ = [
    "REALMS",
    "ROLES",
    "ROLE_NAMES",
    "ROLE_RANK",
    "Account",
    "Conflict",
    "DdnsHost",
    "Directory",
    "DirectoryError",
    "Domain",
    "EmailService",
    "InvalidName",
    "Mailbox",
    "Member",
    "NotFound",
    "Org",
    "Record",
    "TsigKey",
    "next_serial",
    "normalize_address",
    "normalize_domain",
    "normalize_login",
    "split_address",
]
