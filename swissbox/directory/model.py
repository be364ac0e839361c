"""Rows of the directory as plain, immutable records, and the errors its operations raise."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("legal", "admin", "collaborator", "external")
ROLE_NAMES = {
    "legal": "legal representative",
    "admin": "administrator",
    "collaborator": "collaborator",
    "external": "external",
}
# Higher rank sees more (private directory entries are hidden from lower ranks).
ROLE_RANK = {"legal": 3, "admin": 2, "collaborator": 1, "external": 0}


class DirectoryError(Exception):
    """An operation refused with a message a person understands."""


class NotFound(DirectoryError):
    pass


class Conflict(DirectoryError):
    pass


@dataclass(frozen=True)
class Org:
    id: int
    name: str


@dataclass(frozen=True)
class Account:
    id: int
    login: str
    display_name: str
    phone: str
    updated: int


@dataclass(frozen=True)
class Member:
    account: Account
    org: str
    role: str
    private: bool


@dataclass(frozen=True)
class Domain:
    id: int
    name: str
    org: str
    serial: int
    soa_mname: str
    soa_rname: str
    soa_refresh: int
    soa_retry: int
    soa_expire: int
    soa_minimum: int
    default_ttl: int


@dataclass(frozen=True)
class Record:
    """A DNS record: `name` absolute without the final dot, `rdata` in master-file form."""

    id: int
    name: str
    type: str
    ttl: int
    rdata: str


@dataclass(frozen=True)
class EmailService:
    domain: str
    max_addresses: int | None
    used: int


@dataclass(frozen=True)
class Mailbox:
    id: int
    address: str
    local_part: str
    domain: str
    quota_bytes: int | None


# What an account may do with a mailbox (`Directory.grant`), strongest first.
ACCESS = ("own", "full", "read")


@dataclass(frozen=True)
class MailboxUser:
    """An account that may use a mailbox, and how (one of ACCESS)."""

    login: str
    access: str


@dataclass(frozen=True)
class DdnsHost:
    id: int
    hostname: str
    zone: str
    username: str
    offline: bool


@dataclass(frozen=True)
class TsigKey:
    name: str
    algorithm: str
    secret: str
    zone: str
    name_pattern: str
