"""Role addresses every mail domain answers: postmaster@ (RFC 5321 4.5.1) and abuse@ (RFC 2142),
and the bare `Postmaster` of RFC 5321 4.1.1.3, the postmaster of this server.

Asked only when no mailbox or alias of that name exists (an explicit address always wins,
see `routing.py`). A role address of a hosted mail domain goes to the administrators of the
organization that owns the domain; the bare `Postmaster` and role@<server.hostname> go to the
organization of the server's own name (`Directory.host_org`). Where the administrators read
mail is `Directory.admin_mailboxes`.
"""

from __future__ import annotations

from typing import Protocol

from swissbox.directory import InvalidName, Mailbox, normalize_domain
from swissbox.smtp.policy import Recipient, Verdict, split_strict

ROLE_LOCAL_PARTS = frozenset({"postmaster", "abuse"})
BARE_POSTMASTER = "postmaster"  # RFC 5321 4.1.1.3: "Postmaster" with no domain, any case


class RoleDirectory(Protocol):
    def mail_domain_org(self, domain: str) -> str | None: ...

    def host_org(self, hostname: str) -> str | None: ...

    def admin_mailboxes(self, org: str) -> list[Mailbox]: ...


def role_of(address: str) -> tuple[str, str | None] | None:
    """(role, ascii domain) of a role address; the domain is None for the bare `Postmaster`.
    None for every other address (checked on the string first: this runs on RCPT)."""
    if address.lower() == BARE_POSTMASTER:
        return BARE_POSTMASTER, None
    local, at, _ = address.rpartition("@")
    if not at or local.lower() not in ROLE_LOCAL_PARTS:
        return None
    parts = split_strict(address)
    if parts is None:
        return None
    return parts[0].lower(), parts[1]


def _same_host(domain: str, hostname: str) -> bool:
    try:
        return domain == normalize_domain(hostname)
    except InvalidName:
        return False


def role_recipient(directory: RoleDirectory, address: str, hostname: str) -> Recipient | None:
    """The ROLE decision for `address`, or None when it is no role address of ours. A ROLE
    with no mailboxes means nobody here can read it (the caller refuses it)."""
    found = role_of(address)
    if found is None:
        return None
    _, domain = found
    org = directory.mail_domain_org(domain) if domain is not None else None
    if org is None:
        if domain is not None and not _same_host(domain, hostname):
            return None  # another domain's postmaster: not ours to route
        org = directory.host_org(hostname)
    boxes = tuple(directory.admin_mailboxes(org)) if org is not None else ()
    return Recipient(Verdict.ROLE, address, domain=domain or hostname, mailboxes=boxes)
