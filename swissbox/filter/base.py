"""The policy every scanner shares, written once: a bounded time per check, what a scanner
that is down, slow or answering garbage means (fail open with a header saying so, or defer
with 451), and one log line per failure. A scanner module only says how to ask its daemon
(`Scanner.scan`) and what the answer means (a `Verdict`)."""

from __future__ import annotations

import asyncio
import enum
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("swissbox.filter")

FILTER_UNAVAILABLE = "451 4.7.1 Message could not be checked now ({name}), try again later"
UNCHECKED_FIELD = "X-Filter-Unchecked"
UNAVAILABLE = "unavailable"  # the field's reason when a scanner failed


class ScanError(Exception):
    """The scanner's answer could not be had or read (down, refused, garbage)."""


class Action(enum.IntEnum):
    """What a message's checks decide, in rising order of severity (the worst one wins)."""

    ACCEPT = 0
    JUNK = 1  # delivered to the recipients' Junk folder
    DEFER = 2  # 451: try again later
    REJECT = 3  # 5xx: refused


@dataclass(frozen=True)
class Request:
    """One message as the end of DATA sees it."""

    data: bytes
    client_ip: str
    helo: str
    sender: str
    recipients: tuple[str, ...]
    qid: str
    user: str | None = None  # the authenticated mailbox on submission; None at the MX


@dataclass(frozen=True)
class Verdict:
    action: Action = Action.ACCEPT
    reply: str | None = None  # the SMTP reply for DEFER and REJECT
    headers: tuple[str, ...] = ()  # header fields to add ("Name: value", no CRLF)
    summary: str = ""  # for the log line: score, symbols, signature
    unchecked: bool = False

    def __post_init__(self) -> None:
        if self.action >= Action.DEFER and not self.reply:
            raise ValueError("a DEFER or REJECT verdict needs a reply")


@dataclass
class FailurePolicy:
    timeout: float = 10.0
    on_failure: str = "accept"  # accept (with UNCHECKED_FIELD) | defer (451)


class Scanner(ABC):
    """A content scanner: `check()` never raises and never takes longer than the timeout."""

    name = "scanner"

    def __init__(self, policy: FailurePolicy) -> None:
        self.policy = policy

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Any, policy: FailurePolicy) -> Scanner:
        """The scanner as [filter] configures it (`settings`; its own keys live there)."""

    @abstractmethod
    async def scan(self, request: Request) -> Verdict:
        """Asks the daemon; raises ScanError (or OSError) when no usable answer came."""

    async def check(self, request: Request) -> Verdict:
        try:
            return await asyncio.wait_for(self.scan(request), self.policy.timeout)
        except TimeoutError:
            return self.failed(request, f"no answer within {self.policy.timeout:g}s")
        except (OSError, ScanError) as exc:
            return self.failed(request, str(exc) or exc.__class__.__name__)
        except Exception:  # a bug in reading the answer: the policy decides, not a traceback
            log.exception("filter %s: %s check failed", request.qid, self.name)
            return self.failed(request, "internal error")

    def failed(self, request: Request, why: str) -> Verdict:
        defer = self.policy.on_failure == "defer"
        log.warning(
            "filter %s: %s unavailable (%s): %s",
            request.qid,
            self.name,
            why,
            "deferred" if defer else "delivered unchecked",
        )
        if defer:
            return Verdict(
                Action.DEFER, FILTER_UNAVAILABLE.format(name=self.name), summary="unavailable"
            )
        # the field travels with the message (to other domains too, on submission): it names
        # the scanner, never the failure's text (addresses, ports, internal errors: the log's)
        return Verdict(
            headers=(f"{UNCHECKED_FIELD}: {self.name} ({UNAVAILABLE})",),
            summary="unchecked",
            unchecked=True,
        )


@dataclass(frozen=True)
class Combined:
    """The checks' verdicts together: the worst action, its reply, every header."""

    action: Action = Action.ACCEPT
    reply: str | None = None
    headers: tuple[str, ...] = ()
    summaries: dict[str, str] = field(default_factory=dict)


def combine(named: list[tuple[str, Verdict]]) -> Combined:
    worst = max((v for _, v in named), key=lambda v: v.action, default=Verdict())
    headers = tuple(h for _, v in named for h in v.headers)
    return Combined(worst.action, worst.reply, headers, {n: v.summary for n, v in named})
