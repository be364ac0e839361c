"""Sieve at delivery: a mailbox's active script decides where its copy goes and what is sent.

`Filter.decide()` turns the script's actions into a `Filing`: the folders (with flags) to
store into, the addresses to redirect to, a vacation reply to send, a refusal to report. A
script that is missing stores into the default folder; one that fails (does not compile,
hits a bound, names a folder that does not exist) stores into the default folder too and the
reason is logged — mail is never lost because a filter is broken. Pure but for the directory
(scripts, vacation memory) and the folder check passed in.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.header import Header
from typing import Protocol

from swissbox import sieve
from swissbox.mailstore.paths import JUNK

log = logging.getLogger("swissbox.mailstore")

INBOX = "INBOX"


class SieveDirectory(Protocol):
    def active_sieve_script(self, address: str) -> str | None: ...

    def vacation_due(self, address: str, handle: str, sender: str, days: int) -> bool: ...

    def sieve_script(self, address: str, name: str) -> str: ...

    def domain_sieve_before(self, address: str) -> str | None: ...


@dataclass
class Filing:
    """What happens to one mailbox's copy."""

    stores: list[tuple[str, tuple[str, ...], bool]] = field(
        default_factory=list
    )  # folder, flags, create
    redirects: list[str] = field(default_factory=list)
    vacation: bytes | None = None  # the reply, ready to queue from the null sender
    vacation_to: str = ""
    reject: str | None = None  # the reason, for a delivery report to the sender


class Filter:
    def __init__(self, directory: SieveDirectory, hostname: str) -> None:
        self.directory = directory
        self.hostname = hostname
        self.limits = sieve.Limits()
        # compiling a 40-rule script costs ~1.5 ms, running it ~0.25 ms: keep recent ones
        self.compiled = functools.lru_cache(maxsize=256)(self._compile)

    def _compile(self, text: str) -> sieve.Script:
        return sieve.compile_script(text, self.limits)

    def decide(
        self,
        address: str,
        rcpt: str,
        sender: str,
        data: bytes,
        default_folder: str,
        folder_exists: Callable[[str], bool],
    ) -> Filing:
        """`address`: the mailbox; `rcpt`: the recipient as given at RCPT (subaddress kept)."""
        keep_default = Filing([(default_folder, (), False)])
        try:
            texts = [
                text
                for text in (
                    self.directory.domain_sieve_before(address),
                    self.directory.active_sieve_script(address),
                )
                if text is not None
            ]
        except Exception:  # the directory failing must not lose the message
            log.exception("sieve: could not read the script of %s; keeping the message", address)
            return keep_default
        if not texts:
            return keep_default
        try:
            scripts = [self.compiled(text) for text in texts]
            env = sieve.Environment(
                user_addresses=(address,),
                mailbox_exists=folder_exists,
                load_script=lambda location, name: self._personal(address, location, name),
            )
            envelope = sieve.Envelope(sender, rcpt or address)
            # the domain's "before" script first; its stop skips the mailbox's own
            result = sieve.run_sequence(scripts, data, envelope, env, self.limits)
        except sieve.SieveError as exc:
            log.warning("sieve: script of %s failed (%s); keeping the message", address, exc)
            return keep_default
        except Exception:  # a bug in the interpreter must not hold the message up either
            log.exception("sieve: script of %s crashed; keeping the message", address)
            return keep_default
        return self._filing(address, sender, data, default_folder, folder_exists, result)

    def _personal(self, address: str, location: str, name: str) -> str | None:
        """An included script: the mailbox's own (`:personal`); no site-wide ones yet."""
        if location != "personal":
            return None
        try:
            return self.directory.sieve_script(address, name)
        except Exception:  # NotFound, or the directory failing: "no such script"
            return None

    def _filing(
        self,
        address: str,
        sender: str,
        data: bytes,
        default_folder: str,
        folder_exists: Callable[[str], bool],
        result: sieve.Result,
    ) -> Filing:
        out = Filing()
        for note in result.notes:
            log.info("sieve: %s: %s", address, note)
        for action in result.actions:
            if isinstance(action, sieve.Keep):
                out.stores.append((default_folder, action.flags, False))
            elif isinstance(action, sieve.FileInto):
                folder = action.mailbox
                if not action.create and not folder_exists(folder):
                    log.warning(
                        "sieve: %s: no folder %r; filed into %s", address, folder, default_folder
                    )
                    folder = default_folder
                out.stores.append((folder, action.flags, action.create))
            elif isinstance(action, sieve.Redirect):
                if default_folder == JUNK:  # spam or quarantined: never passed on from here
                    log.info(
                        "sieve: %s: not redirected to %s: bound for Junk", address, action.address
                    )
                    out.stores.append((default_folder, (), False))
                elif address.lower() in _delivered_to(data):
                    # it was redirected by this mailbox before: a loop; keep it here instead
                    log.warning("sieve: %s: redirect loop to %s; kept", address, action.address)
                    out.stores.append((default_folder, (), False))
                else:
                    out.redirects.append(action.address)
            elif isinstance(action, sieve.Reject):
                out.reject = action.reason
            elif isinstance(action, sieve.Vacation):
                if default_folder == JUNK:  # no replies to spam (backscatter)
                    log.info("sieve: %s: no vacation reply: bound for Junk", address)
                else:
                    self._vacation(out, address, data, action)
        if result.implicit_keep:
            out.stores.append((default_folder, result.implicit_keep_flags, False))
        seen: set[str] = set()
        unique = []
        for folder, flags, create in out.stores:
            if folder not in seen:
                seen.add(folder)
                unique.append((folder, imap_flags(flags), create))
        out.stores = unique
        return out

    def _vacation(self, out: Filing, address: str, data: bytes, action: sieve.Vacation) -> None:
        try:
            due = self.directory.vacation_due(address, action.handle, action.recipient, action.days)
        except Exception:
            log.exception("sieve: %s: vacation memory failed; no reply sent", address)
            return
        if not due:
            log.info("sieve: %s: vacation reply to %s already sent", address, action.recipient)
            return
        sender_domain = email.utils.parseaddr(action.from_address)[1].rpartition("@")[2]
        if action.from_address and sender_domain.lower() != address.rpartition("@")[2].lower():
            # a reply from someone else's domain would be a forgery sent under our name
            log.warning("sieve: %s: vacation :from %r refused", address, action.from_address)
            action = replace(action, from_address=address)
        out.vacation = vacation_reply(self.hostname, address, data, action)
        out.vacation_to = action.recipient


def vacation_reply(hostname: str, address: str, original: bytes, action: sieve.Vacation) -> bytes:
    """The auto-reply (RFC 5230 section 5, RFC 3834 section 3): Auto-Submitted, In-Reply-To
    and References of the original, the reason as text/plain (or as given with :mime)."""
    from email import message_from_bytes
    from email.policy import compat32

    head = message_from_bytes(original.partition(b"\r\n\r\n")[0] + b"\r\n\r\n", policy=compat32)
    message_id = str(head.get("Message-ID", "")).strip()
    references = " ".join(
        part for part in (str(head.get("References", "")).strip(), message_id) if part
    )
    from_address = _one_line(action.from_address or address)
    subject = _one_line(action.subject)
    if not subject.isascii():
        subject = Header(subject, "utf-8").encode()
    lines = [
        f"From: {from_address}",
        f"To: {_one_line(action.recipient)}",
        f"Subject: {subject}",
        f"Date: {email.utils.formatdate(time.time(), localtime=False)}",
        f"Message-ID: {email.utils.make_msgid(domain=hostname)}",
        "Auto-Submitted: auto-replied (vacation)",
        "Precedence: bulk",
        "MIME-Version: 1.0",
    ]
    if message_id:
        lines.append(f"In-Reply-To: {message_id}")
        lines.append(f"References: {references}")
    if action.mime:
        body = action.reason.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
        return ("\r\n".join(lines) + "\r\n").encode("utf-8") + body
    lines += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    text = action.reason.replace("\r\n", "\n").replace("\n", "\r\n")
    return ("\r\n".join(lines) + "\r\n\r\n" + text + "\r\n").encode("utf-8")


def _one_line(text: str) -> str:
    """A header value from script text: no CR/LF (a script cannot add header fields)."""
    return " ".join(text.split("\r\n")).replace("\r", " ").replace("\n", " ")


def _delivered_to(data: bytes) -> set[str]:
    """The addresses in the message's Delivered-To fields, lower case."""
    head = data.partition(b"\r\n\r\n")[0].decode("utf-8", "replace")
    found: set[str] = set()
    for line in head.split("\r\n"):
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() == "delivered-to":
            found.add(value.strip().strip("<>").strip().lower())
    return found


SYSTEM_FLAGS = {f.lower(): f for f in ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")}
_ATOM_SPECIALS = set('(){ %*"\\]')


def imap_flags(flags: tuple[str, ...]) -> tuple[str, ...]:
    """The flags IMAP can show: system flags in their usual spelling, keywords that are
    atoms (RFC 3501); others (\\Recent, "a(b", non-ASCII) are dropped."""
    out: list[str] = []
    for flag in flags:
        if flag.startswith("\\"):
            known = SYSTEM_FLAGS.get(flag.lower())
            if known is not None and known not in out:
                out.append(known)
        elif _is_atom(flag) and flag not in out:
            out.append(flag)
    return tuple(out)


def _is_atom(flag: str) -> bool:
    return bool(flag) and flag.isascii() and flag.isprintable() and not _ATOM_SPECIALS & set(flag)
