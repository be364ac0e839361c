"""Who may receive and who may send: recipient and sender decisions (pure, directory-backed).

MX ingress accepts a recipient only when it *is* a hosted mailbox; nothing else is ever
queued, so no address trick (percent hack, bang path, source route, quoted local part,
IP literal, trailing dot, case) can turn it into a relay.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from swissbox.directory import InvalidName, Mailbox, normalize_domain, split_address

# Characters that some MTAs interpret as routing inside a local part.
ROUTING_CHARS = frozenset('%!@:"\\[]')


class Verdict(enum.Enum):
    LOCAL = "local"  # a hosted mailbox
    UNKNOWN = "unknown"  # a hosted mail domain, no such mailbox
    REMOTE = "remote"  # a syntactically fine address on a domain not hosted here
    INVALID = "invalid"  # not an address we will ever route


@dataclass(frozen=True)
class Recipient:
    verdict: Verdict
    address: str  # as given (for replies)
    mailbox: Mailbox | None = None
    domain: str = ""


class MailDirectory(Protocol):
    def mailbox(self, address: str) -> Mailbox | None: ...

    def is_mail_domain(self, domain: str) -> bool: ...


def split_strict(address: str) -> tuple[str, str] | None:
    """(local, ascii domain) for a plain `local@domain`, or None for anything with routing in
    it: source routes, a second '@', '%', '!', quotes, an IP literal, empty parts."""
    if not address or address != address.strip() or len(address) > 320:
        return None
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return None
    if any(c in ROUTING_CHARS for c in local) or domain.startswith("["):
        return None
    if any(c in domain for c in '@%!:[]\\" '):
        return None
    try:
        return local, normalize_domain(domain)
    except InvalidName:
        return None


def classify_recipient(directory: MailDirectory, address: str) -> Recipient:
    """The decision for one RCPT TO address (already stripped of <> by aiosmtpd)."""
    parts = split_strict(address)
    if parts is None:
        # A routing trick: refuse as a relay attempt unless it names a hosted domain.
        _, _, tail = address.rpartition("@")
        try:
            hosted = bool(tail) and not tail.startswith("[") and directory.is_mail_domain(tail)
        except Exception:
            hosted = False
        return Recipient(Verdict.UNKNOWN if hosted else Verdict.INVALID, address)
    local, domain = parts
    mailbox = directory.mailbox(f"{local}@{domain}")  # one query in the common case
    if mailbox is not None:
        return Recipient(Verdict.LOCAL, address, mailbox, domain)
    if directory.is_mail_domain(domain):
        return Recipient(Verdict.UNKNOWN, address, domain=domain)
    return Recipient(Verdict.REMOTE, address, domain=domain)


def same_address(a: str, b: str) -> bool:
    """Equal as mailboxes: local part case-insensitive, domain normalised."""
    try:
        la, da = split_address(a)
        lb, db = split_address(b)
    except InvalidName:
        return False
    return la.lower() == lb.lower() and da == db


def may_send_as(authenticated: str, sender: str) -> bool:
    """A mailbox may send as itself and as its sub-addresses (`local+tag@domain`)."""
    if same_address(authenticated, sender):
        return True
    parts = split_strict(sender)
    if parts is None:
        return False
    local, domain = parts
    base, plus, tag = local.partition("+")
    return bool(plus and base and tag) and same_address(authenticated, f"{base}@{domain}")
