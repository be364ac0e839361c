"""Who may receive and who may send: recipient and sender decisions (pure, directory-backed).

Submission: a session authenticated as a mailbox may use as sender (MAIL FROM, header From:
and Sender:) that mailbox and every address its person may send as (`send_as`), with their
`+tag` forms, and nothing else.

MX ingress accepts a recipient only when it *is* a hosted address (a mailbox, or what
`routing` resolves: an alias, a forward, a catch-all, a valid SRS bounce address); only
targets the directory names are ever queued, so no address trick (percent hack, bang path,
source route, quoted local part, IP literal, trailing dot, case) can turn it into a relay.
"""

from __future__ import annotations

import email.policy
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from typing import Protocol

from swissbox.directory import InvalidName, Mailbox, normalize_domain, split_address

# Characters that some MTAs interpret as routing inside a local part.
ROUTING_CHARS = frozenset('%!@:"\\[]')


class Verdict(enum.Enum):
    LOCAL = "local"  # a hosted mailbox
    UNKNOWN = "unknown"  # a hosted mail domain, no such mailbox
    REMOTE = "remote"  # a syntactically fine address on a domain not hosted here
    INVALID = "invalid"  # not an address we will ever route
    ROLE = "role"  # postmaster@/abuse@ without a mailbox: the organization's administrators
    ALIAS = "alias"  # mailboxes and/or forwards (smtp.routing): alias, forward, catch-all
    BOUNCE = "bounce"  # a valid SRS address of ours: back to the sender it stands for
    BAD_SRS = "bad-srs"  # SRS-shaped on a hosted domain, but forged or expired


@dataclass(frozen=True)
class Recipient:
    verdict: Verdict
    address: str  # as given (for replies)
    mailbox: Mailbox | None = None
    domain: str = ""
    mailboxes: tuple[Mailbox, ...] = ()  # where a ROLE, ALIAS or BOUNCE address is delivered
    # ALIAS: (external address, the hosted address forwarding to it); the sender is rewritten
    # with SRS at the forwarder's domain. BOUNCE: (address, "") sent with the sender as is.
    forward: tuple[tuple[str, str], ...] = ()
    via: tuple[str, ...] = ()  # hosted addresses that send it on (Delivered-To, loop checks)


class MailDirectory(Protocol):
    def mailbox(self, address: str) -> Mailbox | None: ...

    def is_mail_domain(self, domain: str) -> bool: ...

    def usable_mailboxes(self, address: str) -> dict[str, str]: ...


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


def malformed_recipient(directory: MailDirectory, address: str) -> Recipient:
    """An address split_strict refused (a routing trick): UNKNOWN when it ends in a hosted
    domain, else INVALID, refused as a relay attempt."""
    _, _, tail = address.rpartition("@")
    try:
        hosted = bool(tail) and not tail.startswith("[") and directory.is_mail_domain(tail)
    except Exception:
        hosted = False
    return Recipient(Verdict.UNKNOWN if hosted else Verdict.INVALID, address)


def classify_recipient(directory: MailDirectory, address: str) -> Recipient:
    """The decision for one RCPT TO address (already stripped of <> by aiosmtpd)."""
    parts = split_strict(address)
    if parts is None:
        return malformed_recipient(directory, address)
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


def may_send_as(authenticated: str, sender: str, also: Iterable[str] = ()) -> bool:
    """A mailbox may send as itself, as the addresses in `also` (see `send_as`), and as the
    sub-addresses (`local+tag@domain`) of all of them."""
    owned = [authenticated, *also]
    if any(same_address(a, sender) for a in owned):
        return True
    parts = split_strict(sender)
    if parts is None:
        return False
    local, domain = parts
    base, plus, tag = local.partition("+")
    return bool(plus and base and tag) and any(same_address(a, f"{base}@{domain}") for a in owned)


# Grants (directory ACCESS) that let a person send as the address; "read" does not.
SEND_AS_ACCESS = ("own", "full")


def send_as(usable: Mapping[str, str]) -> list[str]:
    """The addresses of `Directory.usable_mailboxes` that the person may send as."""
    return [address for address, access in usable.items() if access in SEND_AS_ACCESS]


SENDER_FIELDS = ("From", "Sender")
_PARSE_POLICY = email.policy.SMTPUTF8.clone(max_line_length=None)


def header_senders(message: bytes) -> list[tuple[str, str | None]]:
    """(field, address) for each address of the From: and Sender: fields in `message`'s
    header (bytes up to the first empty line); address None when a field cannot be read
    (a parse defect, no address at all, or not a plain local@domain): refuse those."""
    end = message.find(b"\r\n\r\n")
    head = message if end < 0 else message[: end + 4]
    parsed = BytesHeaderParser(policy=_PARSE_POLICY).parsebytes(head)
    out: list[tuple[str, str | None]] = []
    for field in SENDER_FIELDS:
        for value in parsed.get_all(field) or []:
            addresses = getattr(value, "addresses", ())
            if getattr(value, "defects", ()) or not addresses:
                out.append((field, None))
                continue
            for a in addresses:
                spec = a.addr_spec if a.username and a.domain else ""
                out.append((field, spec if split_strict(spec) is not None else None))
    return out
