"""NOTIFY (RFC 5465) in the session: `NOTIFY SET/NONE`, STATUS for events in folders other
than the selected one, LIST for folders made, deleted, renamed or (un)subscribed by other
sessions, and the selected folder's changes sent as they happen (SELECTED; SELECTED-DELAYED
keeps expunges for the moments RFC 3501 allows), with MessageNew's FETCH attributes.

Notifications go out between commands (scheduled for the next reactor turn, so never in the
middle of a command's own responses) and before every tagged response. A session that lets
more than MAX_PENDING of them pile up gets `* OK [NOTIFICATIONOVERFLOW]` and NOTIFY is off.
"""

from __future__ import annotations

import bisect
from typing import Any

from twisted.python.failure import Failure

from swissbox.imap import notifyspec, render
from swissbox.imap.base import no
from swissbox.imap.fetch import FetchCommands
from swissbox.imap.fetchspec import FetchRequest, parse_fetch
from swissbox.imap.notifyspec import (
    FLAG_CHANGE,
    MAILBOX_NAME,
    MESSAGE_EXPUNGE,
    MESSAGE_NEW,
    SUBSCRIPTION_CHANGE,
    NotifySpec,
)
from swissbox.imap.parser import Token, encode_mutf7
from swissbox.imap.shared import SharedCommands
from swissbox.mailstore import NoSuchFolder, query

MAX_PENDING = 1000  # folders with unsent events, plus LIST lines
FETCH_CHUNK = 20  # MessageNew FETCHes per call (never a streamed answer)
OVERFLOW = b"OK [NOTIFICATIONOVERFLOW] Too many notifications waiting; NOTIFY is off"
UNSUPPORTED = b"Unsupported NOTIFY events"
# notice_list kinds -> (event, LIST attributes)
LIST_KINDS = {
    "created": (MAILBOX_NAME, ""),
    "deleted": (MAILBOX_NAME, "\\NonExistent"),
    "renamed": (MAILBOX_NAME, ""),
    "subscribed": (SUBSCRIPTION_CHANGE, "\\Subscribed"),
    "unsubscribed": (SUBSCRIPTION_CHANGE, ""),
}


def status_items(events: set[str], condstore: bool) -> list[bytes]:
    """STATUS items for events in a folder that is not selected (as Dovecot sends them)."""
    keys: list[bytes] = []
    if events & {MESSAGE_NEW, MESSAGE_EXPUNGE}:
        keys += [b"MESSAGES", b"UIDNEXT"]
    keys.append(b"UNSEEN")
    if condstore:
        keys.append(b"HIGHESTMODSEQ")
    return keys


class NotifyCommands(FetchCommands, SharedCommands):
    def __init__(self, service: Any, implicit_tls: bool) -> None:
        super().__init__(service, implicit_tls)
        self.notify_spec: NotifySpec | None = None
        self._notify_fetch: FetchRequest | None = None
        # what is waiting, in order: LIST lines, and folders (their events in the dict)
        self._notify_queue: list[bytes | str] = []
        self._notify_folders: dict[str, set[str]] = {}  # folder -> events not yet sent
        self._notify_scheduled = False

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802
        self.service.hub.unwatch(self)
        super().connectionLost(reason)

    def cmd_notify(self, tag: bytes, args: list[Token]) -> bytes:
        try:
            spec = notifyspec.parse_notify(args)
        except notifyspec.UnsupportedEvents:
            raise no(b"[" + notifyspec.badevent_code() + b"] " + UNSUPPORTED) from None
        fetch = None
        if spec is not None and spec.fetch_att is not None:
            fetch = parse_fetch(spec.fetch_att)
        self.service.hub.unwatch(self)
        self._notify_folders.clear()
        self._notify_queue.clear()
        self.notify_spec, self._notify_fetch = spec, fetch
        if spec is None:
            return b"NOTIFY completed"
        self.service.hub.watch(self, self._account().box.address)
        if spec.status:
            self._initial_status(spec)
        return b"NOTIFY completed"

    def _initial_status(self, spec: NotifySpec) -> None:
        """NOTIFY SET STATUS: a STATUS of every folder its message filters name."""
        filters = spec.message_filters()
        if not filters:
            return
        keys = [b"MESSAGES", b"UIDNEXT", b"UIDVALIDITY", b"UNSEEN"]
        if any(FLAG_CHANGE in f.events for f in filters):
            keys.append(b"HIGHESTMODSEQ")
        box = self._account().box
        query.refresh(box)
        for info in box.folders():
            if self._is_selected(info.name):
                continue
            if any(f.covers(info.name, self._subscribed) for f in filters):
                self._status(info.name, keys)

    def _subscribed(self, folder: str) -> bool:
        info = self._account().box.index.folder(folder)
        return info is not None and info.subscribed

    def _is_selected(self, folder: str) -> bool:
        box = self.selected
        return box is not None and box.name == folder and box.box is self._account().box

    def _status(self, folder: str, keys: list[bytes]) -> None:
        box = self._account().box
        try:
            info = query.folder(box, folder)
        except NoSuchFolder:
            return  # deleted meanwhile: its LIST (MailboxName) says so
        values = {
            b"UIDNEXT": info.uidnext,
            b"UIDVALIDITY": info.uidvalidity,
            b"HIGHESTMODSEQ": info.highestmodseq,
        }
        if b"MESSAGES" in keys or b"UNSEEN" in keys:
            values[b"MESSAGES"], values[b"UNSEEN"] = self.folder_status_counts(
                self.place(folder), info
            )
        out = b" ".join(b"%s %d" % (k, values[k]) for k in keys)
        name = render.astring(encode_mutf7(folder))
        self.untagged(b"STATUS " + name + b" (" + out + b")")

    # -- events from the hub ------------------------------------------------------------

    def notice_mailbox(self, folder: str, event: str) -> None:
        spec = self.notify_spec
        if spec is None or self._is_selected(folder):
            return  # the selected folder's changes come as EXISTS, FETCH, EXPUNGE
        if spec.wants(folder, event, self._subscribed):
            if len(self._notify_queue) > MAX_PENDING:
                return  # over already: NOTIFICATIONOVERFLOW when it goes out
            if folder not in self._notify_folders:
                self._notify_folders[folder] = set()
                self._notify_queue.append(folder)
            self._notify_folders[folder].add(event)
            self._schedule_notify()

    def notice_list(self, kind: str, name: str, old: str | None) -> None:
        spec = self.notify_spec
        event, attrs = LIST_KINDS[kind]
        if spec is None:
            return
        if not (
            spec.wants(name, event, self._subscribed)
            or (old is not None and spec.wants(old, event, self._subscribed))
        ):
            return
        extra = render.oldname(old) if old is not None else b""
        line = render.list_line(b"LIST", [attrs], name, extra)
        if len(self._notify_queue) <= MAX_PENDING:
            self._notify_queue.append(line)
        self._schedule_notify()

    def push(self) -> None:
        spec = self.notify_spec
        if spec is not None and spec.selected and self.mode == "command":
            self._schedule_notify()  # the selected folder's changes, at once (RFC 5465 5.1)
        super().push()

    def _schedule_notify(self) -> None:
        if not self._notify_scheduled and self.mode != "closed":
            self._notify_scheduled = True
            self.service.reactor.callLater(0, self._notify_now)

    def _notify_now(self) -> None:
        """Between commands: what is waiting goes out (a running command's tagged response
        takes it along instead)."""
        self._notify_scheduled = False
        spec = self.notify_spec
        if self.busy or self.mode not in ("command", "idle") or spec is None:
            return
        if self.end_if_deleted():  # told by the mailbox's deletion: nothing left to report
            return
        if spec.selected and self.selected is not None:
            self.sync(allow_expunge=self.mode == "idle" or not spec.delayed)
        else:
            self.send_notifications()
        self.flush_out()

    # -- output -------------------------------------------------------------------------

    def sync(self, allow_expunge: bool) -> None:
        box = self.selected
        last = box.uids[-1] if box is not None and box.uids else 0
        super().sync(allow_expunge)
        req = self._notify_fetch
        if req is not None and box is not None and box is self.selected:
            new = list(box.uids[bisect.bisect_right(box.uids, last) :])
            for i in range(0, len(new), FETCH_CHUNK):
                self.fetch(box, new[i : i + FETCH_CHUNK], req, False)
        self.send_notifications()

    def send_notifications(self) -> None:
        """STATUS and LIST lines for what happened elsewhere since the last time."""
        if not self._notify_queue:
            return
        queue, self._notify_queue = self._notify_queue, []
        folders, self._notify_folders = self._notify_folders, {}
        if len(queue) > MAX_PENDING:
            self.service.hub.unwatch(self)
            self.notify_spec = self._notify_fetch = None
            self.untagged(OVERFLOW)
            return
        for item in queue:
            if isinstance(item, bytes):
                self.untagged(item)
            elif not self._is_selected(item):
                self._status(item, status_items(folders[item], self.condstore))
