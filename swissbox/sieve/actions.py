"""What a script run decides: a list of actions plus whether the implicit keep still applies."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Keep:
    """Store in INBOX (explicit ``keep``) with these IMAP flags."""

    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileInto:
    mailbox: str
    flags: tuple[str, ...] = ()
    create: bool = False


@dataclass(frozen=True)
class Redirect:
    address: str


@dataclass(frozen=True)
class Discard:
    pass


@dataclass(frozen=True)
class Reject:
    """Refuse the message: ``extended`` (ereject) prefers an SMTP-time refusal to a DSN."""

    reason: str
    extended: bool = False


@dataclass(frozen=True)
class Vacation:
    """Send an auto-reply to ``recipient`` unless one went out for ``handle`` within ``days``."""

    recipient: str
    reason: str
    subject: str
    from_address: str
    days: int
    handle: str
    mime: bool = False


Action = Keep | FileInto | Redirect | Discard | Reject | Vacation


@dataclass
class Result:
    actions: list[Action] = field(default_factory=list)
    implicit_keep: bool = True
    implicit_keep_flags: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)  # why a vacation reply was not sent, etc.
