"""Where a recipient address leads: the RCPT decision over mailboxes, aliases and the rest.

For `local@domain` on a hosted mail domain (a domain alias first turns `domain` into the
domain it aliases), the first of these that exists decides:

1. a mailbox of that name (delivered there, or forwarded: `Directory.set_forward`);
2. an SRS address of ours (`srs.py`): a bounce back to the sender it stands for, accepted
   only with a valid hash and timestamp; any other SRS-shaped address is refused;
3. an alias of that name (explicit aliases win over the role rule);
4. the role rule (postmaster@, abuse@: the organization's administrators, `roles.py`);
5. with a sub-address separator in the local part (`user+tag`): the mailbox or alias `user`;
6. the domain's catch-all (off by default).

Alias, forward and catch-all targets are resolved the same way, to a set of mailboxes (each
once) and external addresses; a target that leads nowhere adds nothing, a cycle stops where
it closes, and nesting stops at MAX_DEPTH. Something that leads nowhere at all is refused at
RCPT like an unknown user. Deciding does no I/O beyond the directory's queries (the SRS key
is read once, by `Routing.from_settings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from swissbox.directory import AddressEntry, Mailbox, MailDomain
from swissbox.smtp.policy import (
    MailDirectory,
    Recipient,
    Verdict,
    malformed_recipient,
    split_strict,
)
from swissbox.smtp.roles import RoleDirectory, role_recipient
from swissbox.smtp.srs import SrsCodec, SrsError, is_srs, load_keys

MAX_DEPTH = 10  # alias -> alias -> ... levels followed
MAX_TARGETS = 1000  # mailboxes plus external addresses one recipient may expand to


class RoutingDirectory(MailDirectory, RoleDirectory, Protocol):
    def mail_domain(self, domain: str) -> MailDomain | None: ...

    def address_entry(self, address: str) -> AddressEntry: ...

    def alias_senders(self, addresses: list[str]) -> list[str]: ...


@dataclass(frozen=True)
class Routing:
    """The routing settings: server name, sub-address separators ([smtp]
    subaddress_separator; any one of the characters), SRS codec (None: no forwarding out)."""

    hostname: str
    separators: str = "+"
    srs: SrsCodec | None = None
    max_hops: int = 100

    @classmethod
    def from_settings(cls, settings: Any, data_dir: Path) -> Routing:
        smtp = settings.smtp
        return cls(
            settings.server.hostname,
            smtp.subaddress_separator,
            SrsCodec(load_keys(data_dir), smtp.srs_max_age_days),
            smtp.max_hops,
        )

    def base_local(self, local: str) -> str | None:
        """`user` of `user+tag` (the first separator splits), or None without a tag."""
        cut = min((i for i in (local.find(c) for c in self.separators) if i > 0), default=-1)
        return local[:cut] if cut > 0 else None

    def return_path(self, sender: str) -> str:
        """Where a bounce to `sender` really goes: our SRS addresses unwrapped (SRS1 twice),
        any other address as it is."""
        for _ in range(2):
            local, at, _domain = sender.rpartition("@")
            if self.srs is None or not at or not is_srs(local):
                break
            try:
                sender = self.srs.reverse(local)
            except SrsError:
                break
        return sender


@dataclass
class _Expansion:
    routing: Routing
    directory: RoutingDirectory
    mailboxes: dict[int, Mailbox] = field(default_factory=dict)
    forward: dict[str, tuple[str, str]] = field(default_factory=dict)
    via: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def full(self) -> bool:
        return len(self.mailboxes) + len(self.forward) >= MAX_TARGETS

    def add_box(self, box: Mailbox) -> None:
        if box.id not in self.mailboxes and not self.full():
            self.mailboxes[box.id] = box

    def entry(self, entry: AddressEntry, depth: int) -> bool:
        """Takes a mailbox (and its forward) or an alias; False when `entry` is neither."""
        if entry.mailbox is not None:
            fwd = entry.forward
            if fwd is None or fwd.keep:
                self.add_box(entry.mailbox)
            if fwd is not None:
                self.via.append(entry.mailbox.address)
                self.target(fwd.target, entry.mailbox.address, depth + 1)
            return True
        if entry.alias is not None:
            self.via.append(entry.alias.address)
            for target in entry.alias.targets:
                self.target(target, entry.alias.address, depth + 1)
            return True
        return False

    def target(self, address: str, forwarder: str, depth: int) -> None:
        parts = split_strict(address)
        if parts is None or depth > MAX_DEPTH or self.full():
            return
        local, domain = parts
        md = self.directory.mail_domain(domain)
        if md is None:
            self.forward.setdefault(f"{local}@{domain}".lower(), (f"{local}@{domain}", forwarder))
            return
        self.address(local, md, depth)

    def address(self, local: str, md: MailDomain, depth: int) -> None:
        """Resolves a hosted address by the order of this module's docstring (SRS aside)."""
        key = f"{local}@{md.target}".lower()
        if key in self.seen:
            return
        self.seen.add(key)
        if self.entry(self.directory.address_entry(f"{local}@{md.target}"), depth):
            return
        role = role_recipient(self.directory, f"{local}@{md.name}", self.routing.hostname)
        if role is not None and role.mailboxes:
            for box in role.mailboxes:  # reports to postmaster/abuse must reach someone
                self.add_box(replace(box, quota_bytes=None))
            return
        base = self.routing.base_local(local)
        plain = self.directory.address_entry(f"{base}@{md.target}") if base else None
        if plain is not None and self.entry(plain, depth):
            return
        if md.catch_all is not None:
            self.target(md.catch_all, f"{local}@{md.name}", depth + 1)


def route_recipient(
    directory: RoutingDirectory, address: str, routing: Routing, unwrapped: int = 0
) -> Recipient:
    """The decision for one RCPT TO address (already stripped of <> by aiosmtpd);
    `unwrapped` counts the SRS layers already taken off (SRS1 -> SRS0 -> sender: two)."""
    parts = split_strict(address)
    if parts is None:
        role = role_recipient(directory, address, routing.hostname)  # the bare Postmaster
        if role is not None:
            return role
        return malformed_recipient(directory, address)
    local, domain = parts
    md = directory.mail_domain(domain)
    if md is None:
        return role_recipient(directory, address, routing.hostname) or Recipient(
            Verdict.REMOTE, address, domain=domain
        )
    entry = directory.address_entry(f"{local}@{md.target}")  # one query in the common case
    if entry.mailbox is not None and entry.forward is None:
        return Recipient(Verdict.LOCAL, address, entry.mailbox, domain)
    if entry.mailbox is None and is_srs(local):
        return _bounce(directory, address, local, domain, routing, unwrapped)
    if entry.mailbox is None and entry.alias is None:
        role = role_recipient(directory, f"{local}@{md.name}", routing.hostname)
        if role is not None:
            return role  # refused at RCPT when nobody here can read it
        base = routing.base_local(local)
        if base is not None:
            plain = directory.address_entry(f"{base}@{md.target}")
            if plain.mailbox is not None and plain.forward is None:
                return Recipient(Verdict.LOCAL, address, plain.mailbox, domain)
    found = _Expansion(routing, directory)
    found.address(local, md, 0)
    if not found.mailboxes and not found.forward:
        return Recipient(Verdict.UNKNOWN, address, domain=domain)  # leads nowhere
    via = (f"{local}@{md.target}", *found.via) if found.forward else ()
    return Recipient(
        Verdict.ALIAS,
        address,
        domain=domain,
        mailboxes=tuple(found.mailboxes.values()),
        forward=tuple(found.forward.values()),
        via=tuple(dict.fromkeys(v.lower() for v in via)),
    )


def _bounce(
    directory: RoutingDirectory,
    address: str,
    local: str,
    domain: str,
    routing: Routing,
    unwrapped: int,
) -> Recipient:
    """An SRS address on one of our domains: a bounce for the sender it stands for."""
    if routing.srs is None or unwrapped >= 2:
        return Recipient(Verdict.BAD_SRS, address, domain=domain)
    try:
        original = routing.srs.reverse(local)
    except SrsError:
        return Recipient(Verdict.BAD_SRS, address, domain=domain)
    parts = split_strict(original)
    if parts is None:
        return Recipient(Verdict.BAD_SRS, address, domain=domain)
    if directory.mail_domain(parts[1]) is None:
        return Recipient(Verdict.BOUNCE, address, domain=domain, forward=((original, ""),))
    # the original sender is hosted here (or it was our own SRS0 under an SRS1)
    inner = route_recipient(directory, original, routing, unwrapped + 1)
    boxes = inner.mailboxes or ((inner.mailbox,) if inner.mailbox is not None else ())
    if not boxes and not inner.forward:
        return Recipient(Verdict.UNKNOWN, address, domain=domain)
    return Recipient(Verdict.BOUNCE, address, domain=domain, mailboxes=boxes, forward=inner.forward)
