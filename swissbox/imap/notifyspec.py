"""NOTIFY (RFC 5465) parameters, parsed from tokens, and which mailbox events they ask for;
pure (the session's `notifycmd.py` applies them).

`parse_notify(args)` -> `NotifySpec` for `NOTIFY SET [STATUS] (filter events)...`, None for
`NOTIFY NONE`; BAD (ParseError) for malformed input and the combinations RFC 5465 5 forbids,
`UnsupportedEvents` for events swissbox does not report (AnnotationChange: no ANNOTATE;
the METADATA ones: no METADATA), answered `NO [BADEVENT (the supported ones)]`.

Mailbox filters: INBOXES is taken as PERSONAL (Sieve may file new mail into any folder, so
every folder can receive it, as in Dovecot); SUBSCRIBED is checked when the event happens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from swissbox.imap.parser import Atom, ParseError, Token, mailbox_name
from swissbox.mailstore.paths import SEPARATOR

MESSAGE_NEW = "MessageNew"
MESSAGE_EXPUNGE = "MessageExpunge"
FLAG_CHANGE = "FlagChange"
MAILBOX_NAME = "MailboxName"
SUBSCRIPTION_CHANGE = "SubscriptionChange"
SUPPORTED = (MESSAGE_NEW, MESSAGE_EXPUNGE, FLAG_CHANGE, MAILBOX_NAME, SUBSCRIPTION_CHANGE)
KNOWN = SUPPORTED + ("AnnotationChange", "MailboxMetadataChange", "ServerMetadataChange")
_BY_UPPER = {name.upper(): name for name in KNOWN}
MESSAGE_EVENTS = frozenset({MESSAGE_NEW, MESSAGE_EXPUNGE, FLAG_CHANGE})
FILTERS = ("INBOXES", "PERSONAL", "SUBSCRIBED", "SUBTREE", "MAILBOXES")


class UnsupportedEvents(Exception):
    """Events the client asked for that this server does not report."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(" ".join(names))


def badevent_code() -> bytes:
    """`BADEVENT (...)` listing the events this server supports (RFC 5465 5.7)."""
    return b"BADEVENT (" + " ".join(SUPPORTED).encode() + b")"


@dataclass(frozen=True)
class Filter:
    """One `(filter-mailboxes events)` group other than the selected mailbox's."""

    kind: str  # one of FILTERS
    names: tuple[str, ...]
    events: frozenset[str]

    def covers(self, folder: str, subscribed: Callable[[str], bool]) -> bool:
        if self.kind in ("INBOXES", "PERSONAL"):
            return True
        if self.kind == "SUBSCRIBED":
            return subscribed(folder)
        if self.kind == "MAILBOXES":
            return folder in self.names
        return any(folder == n or folder.startswith(n + SEPARATOR) for n in self.names)


@dataclass(frozen=True)
class NotifySpec:
    """What one `NOTIFY SET` asks for. `selected`: the events for the selected mailbox
    (empty: none asked, the RFC 3501 moments apply); `delayed`: SELECTED-DELAYED (expunges
    wait for a command that allows them); `fetch_att`: MessageNew's FETCH attributes."""

    status: bool = False
    selected: frozenset[str] = frozenset()
    delayed: bool = False
    fetch_att: Token | None = None
    filters: tuple[Filter, ...] = field(default_factory=tuple)

    def wants(self, folder: str, event: str, subscribed: Callable[[str], bool]) -> bool:
        """Whether an `event` in `folder` (not the selected one) is to be reported."""
        return any(event in f.events and f.covers(folder, subscribed) for f in self.filters)

    def message_filters(self) -> list[Filter]:
        return [f for f in self.filters if f.events & MESSAGE_EVENTS]


def _events(token: Token, selected: bool) -> tuple[frozenset[str], Token | None]:
    """`(event ...)` or NONE -> (events, MessageNew's fetch attributes)."""
    if isinstance(token, Atom) and token.upper() == b"NONE":
        return frozenset(), None
    if not isinstance(token, list) or not token:
        raise ParseError("NOTIFY events must be a non-empty list or NONE")
    events: set[str] = set()
    unsupported: list[str] = []
    fetch_att: Token | None = None
    items = list(token)
    i = 0
    while i < len(items):
        item = items[i]
        if not isinstance(item, Atom):
            raise ParseError("bad NOTIFY event")
        name = _BY_UPPER.get(item.upper_str())
        if name is None:  # an event-ext this server does not know
            unsupported.append(item.decode("ascii", "replace"))
        elif name not in SUPPORTED:
            unsupported.append(name)
        else:
            events.add(name)
        if i + 1 < len(items) and isinstance(items[i + 1], list):
            if name != MESSAGE_NEW or not selected:
                raise ParseError("only MessageNew of the selected mailbox takes FETCH attributes")
            fetch_att = items[i + 1]
            i += 1
        i += 1
    if unsupported:
        raise UnsupportedEvents(unsupported)
    return frozenset(events), fetch_att


def _check_message_events(events: frozenset[str]) -> None:
    """RFC 5465 5: MessageNew and MessageExpunge go together, FlagChange needs both."""
    new_or_gone = events & {MESSAGE_NEW, MESSAGE_EXPUNGE}
    if new_or_gone and len(new_or_gone) != 2:
        raise ParseError("MessageNew and MessageExpunge must be asked for together")
    if FLAG_CHANGE in events and not new_or_gone:
        raise ParseError("FlagChange needs MessageNew and MessageExpunge")


def _names(token: Token) -> tuple[str, ...]:
    tokens = token if isinstance(token, list) else [token]
    if not tokens:
        raise ParseError("NOTIFY needs mailbox names")
    out = []
    for t in tokens:
        if isinstance(t, list):
            raise ParseError("bad NOTIFY mailbox name")
        name = mailbox_name(t).rstrip(SEPARATOR)
        if name.upper() == "INBOX" or name.upper().startswith("INBOX" + SEPARATOR):
            name = "INBOX" + name[5:]
        out.append(name)
    return tuple(out)


def parse_notify(args: list[Token]) -> NotifySpec | None:
    """`NONE` or `SET [STATUS] (filter events)...`; see the module docstring."""
    if len(args) == 1 and isinstance(args[0], Atom) and args[0].upper() == b"NONE":
        return None
    if not args or not isinstance(args[0], Atom) or args[0].upper() != b"SET":
        raise ParseError("NOTIFY takes SET or NONE")
    rest = args[1:]
    status = False
    if rest and isinstance(rest[0], Atom) and rest[0].upper() == b"STATUS":
        status, rest = True, rest[1:]
    if not rest:
        raise ParseError("NOTIFY SET needs at least one event group")
    selected: frozenset[str] | None = None
    delayed = False
    fetch_att: Token | None = None
    filters: list[Filter] = []
    unsupported: list[str] = []
    for group in rest:
        if not isinstance(group, list) or len(group) < 2 or not isinstance(group[0], Atom):
            raise ParseError("bad NOTIFY event group")
        kind = group[0].upper_str()
        if kind in ("SELECTED", "SELECTED-DELAYED"):
            if selected is not None:
                raise ParseError("the selected mailbox is named twice")
            if len(group) != 2:
                raise ParseError("bad NOTIFY SELECTED group")
            try:
                selected, fetch_att = _events(group[1], selected=True)
            except UnsupportedEvents as exc:
                unsupported += exc.names
                selected = frozenset()
            _check_message_events(selected)
            delayed = kind == "SELECTED-DELAYED"
            continue
        if kind not in FILTERS:
            raise ParseError(f"unknown NOTIFY filter {kind[:40]}")
        names: tuple[str, ...] = ()
        if kind in ("SUBTREE", "MAILBOXES"):
            if len(group) != 3:
                raise ParseError(f"NOTIFY {kind} needs mailbox names and events")
            names = _names(group[1])
        elif len(group) != 2:
            raise ParseError(f"bad NOTIFY {kind} group")
        try:
            events, _ = _events(group[-1], selected=False)
        except UnsupportedEvents as exc:
            unsupported += exc.names
            continue
        if events:
            filters.append(Filter(kind, names, events))
    if unsupported:
        raise UnsupportedEvents(unsupported)
    return NotifySpec(status, selected or frozenset(), delayed, fetch_att, tuple(filters))
