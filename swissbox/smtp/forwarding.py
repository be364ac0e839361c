"""The end of DATA for routed recipients: who gets a local copy, what is forwarded (with an
SRS sender and Delivered-To), and which recipients are a mail loop.

Loops end in a bounce, never a storm: a message whose header already has a `Delivered-To:`
naming an address that would send it on again (an alias, a forwarding mailbox, a catch-all
that forwards) has been here before, and so has one with more `Received:` fields than
[smtp] max_hops. Forwarded copies carry `Delivered-To:` for each address that sent them on
(RFC 9228), which is what the next pass recognises. Pure: bytes and decisions in, a plan out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from swissbox.directory import Mailbox
from swissbox.smtp.policy import Recipient, Verdict
from swissbox.smtp.routing import Routing
from swissbox.smtp.srs import SrsError

log = logging.getLogger("swissbox.smtp")

_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*)$")


def header_fields(data: bytes, names: Iterable[bytes]) -> list[tuple[bytes, bytes]]:
    """(lower-case name, unfolded value) of the header fields named `names` (lower case) in
    the message's header (up to the first empty line)."""
    wanted = set(names)
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[:end]
    found: list[tuple[bytes, list[bytes]]] = []
    current: list[bytes] | None = None
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current.append(line.strip())
            continue
        current = None
        match = _FIELD.match(line)
        if match and match.group(1).lower() in wanted:
            current = [match.group(2).strip()]
            found.append((match.group(1).lower(), current))
    return [(name, b" ".join(parts)) for name, parts in found]


def hop_count(data: bytes) -> int:
    """How many `Received:` fields the message has (RFC 5321 6.3 loop detection)."""
    return len(header_fields(data, (b"received",)))


def delivered_to(data: bytes) -> set[str]:
    """The addresses of the message's `Delivered-To:` fields, lower case."""
    out: set[str] = set()
    for _, value in header_fields(data, (b"delivered-to",)):
        text = value.decode("utf-8", "replace").strip().strip("<>").strip()
        if text:
            out.add(text.lower())
    return out


def forward_allowed(data: bytes, authserv_id: str = "") -> bool:
    """False for a message that our MX's Authentication-Results (authserv-id `authserv-id`;
    the MX removes any incoming field claiming it) say failed DMARC under `p=reject` (kept
    because [smtp] dmarc_reject_action is quarantine or mark): forwarding it would pass a
    forgery on under our name (spam and quarantined mail: `plan(junk=True)`)."""
    if not authserv_id:
        return True
    ours = authserv_id.lower().encode()
    for _, value in header_fields(data, (b"authentication-results",)):
        if value.split(b";", 1)[0].strip().lower() != ours:
            continue
        if _DMARC_REJECTED.search(value):
            return False
    return True


_DMARC_REJECTED = re.compile(rb"(?i)\bdmarc=fail\s*\(p=reject\b")


@dataclass
class Plan:
    local: list[Mailbox] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)  # queued with the envelope sender as is
    forwards: list[tuple[str, list[str], bytes]] = field(default_factory=list)  # (sender, to, data)
    looped: list[str] = field(default_factory=list)  # recipients refused as a mail loop


def srs_sender(sender: str, forwarder: str, routing: Routing, hosted: Callable[[str], bool]) -> str:
    """The envelope sender of a copy forwarded by `forwarder` (a hosted address): the null
    sender and our own domains' senders as they are, any other rewritten with SRS at the
    forwarder's domain (so that SPF passes at the next hop and bounces come back here)."""
    domain = sender.rpartition("@")[2]
    if not sender or routing.srs is None or not domain or hosted(domain):
        return sender
    try:
        return routing.srs.forward(sender, forwarder.rpartition("@")[2])
    except SrsError:
        return sender


def plan(
    recipients: list[Recipient],
    data: bytes,
    sender: str,
    routing: Routing,
    hosted: Callable[[str], bool],
    seal: Callable[[bytes, str], bytes] | None = None,
    junk: bool = False,
) -> Plan:
    """Where each accepted recipient's copy goes. `data` is the message as stored (our
    Received: on top); `hosted(domain)` says whether a domain is a mail domain of ours;
    `seal(message, domain)` puts the forwarding domain's ARC set on a forwarded copy; `junk`:
    the MX checks send it to Junk (spam, DMARC quarantine), so it is not forwarded either."""
    out = Plan()
    seen_boxes: set[int] = set()
    seen_remote: set[str] = set()
    forwarded: dict[tuple[str, str], list[str]] = {}  # (sender, forwarding domain) -> targets
    stamps: list[str] = []
    been_here = delivered_to(data) if any(r.via for r in recipients) else set()
    may_forward: bool | None = None  # asked at the first forward (reads the header)

    def local(box: Mailbox) -> None:
        if box.id not in seen_boxes:
            seen_boxes.add(box.id)
            out.local.append(box)

    for r in recipients:
        if r.via and been_here.intersection(r.via):
            log.info("smtp: mail loop for <%s> (Delivered-To: %s)", r.address, ", ".join(r.via))
            out.looped.append(r.address)
            continue
        if r.verdict is Verdict.LOCAL and r.mailbox is not None:
            local(r.mailbox)
        elif r.verdict is Verdict.REMOTE:
            if r.address.lower() not in seen_remote:
                seen_remote.add(r.address.lower())
                out.remote.append(r.address)
        elif r.verdict in (Verdict.ROLE, Verdict.ALIAS, Verdict.BOUNCE):
            for box in r.mailboxes:
                # reports to postmaster/abuse must reach someone: no quota
                local(replace(box, quota_bytes=None) if r.verdict is Verdict.ROLE else box)
            for target, forwarder in r.forward:
                if target.lower() in seen_remote:
                    continue
                seen_remote.add(target.lower())
                if not forwarder:  # a bounce going home: the sender as it is
                    out.remote.append(target)
                elif may_forward or (
                    may_forward is None
                    and (may_forward := not junk and forward_allowed(data, routing.hostname))
                ):
                    new_sender = srs_sender(sender, forwarder, routing, hosted)
                    key = (new_sender, forwarder.rpartition("@")[2].lower())
                    forwarded.setdefault(key, []).append(target)
                    stamps += [v for v in r.via if v not in stamps]
    if forwarded:
        head = b"".join(f"Delivered-To: {v}\r\n".encode() for v in stamps)
        copy = head + data
        out.forwards = [
            (new_sender, targets, seal(copy, domain) if seal is not None else copy)
            for (new_sender, domain), targets in forwarded.items()
        ]
    return out
