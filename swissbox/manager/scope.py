"""Keeping a request inside its organization: a domain, mailbox, host or key named in the URL
or body that belongs to another organization is answered exactly like one that does not exist
(NotFound: 404), so ids of other organizations reveal nothing."""

from __future__ import annotations

from swissbox.directory import Directory, Domain, Mailbox, NotFound, split_address
from swissbox.directory.names import InvalidName


def domain_of(d: Directory, org: str, name: str) -> Domain:
    try:
        domain = d.domain(name)
    except NotFound:
        raise NotFound(f"domain {name!r} is not hosted here") from None
    if domain.org != org:
        raise NotFound(f"domain {name!r} is not hosted here")
    return domain


def zone_of(d: Directory, org: str, name: str) -> Domain:
    """The org's hosted zone that contains the host name `name`."""
    zone = d.zone_for(name)
    if zone is None or zone.org != org:
        raise NotFound(f"{name!r} is not inside a domain of this organization")
    return zone


def mail_domain_of(d: Directory, org: str, address: str) -> str:
    """The domain part of `address`, which must be one of the org's domains."""
    try:
        _, domain = split_address(address)
    except InvalidName as exc:
        raise NotFound(f"{address!r}: {exc}") from None
    return domain_of(d, org, domain).name


def mailbox_of(d: Directory, org: str, address: str) -> Mailbox:
    mail_domain_of(d, org, address)
    mailbox = d.mailbox(address)
    if mailbox is None:
        raise NotFound(f"no mailbox {address!r}")
    return mailbox


def member_login(d: Directory, org: str, login: str) -> str:
    """The canonical login of a member of `org` (NotFound for anyone else)."""
    return d.member(org, login).account.login
