"""Tells the IMAP sessions of one mailbox about each other's changes and about new mail.

One `Hub` per service. Sessions `join(session, address, folder)` on SELECT and `leave` on
close; the hub subscribes to the mail store's arrivals once per mailbox with sessions, and
relays flag changes and expunges made by one session to the others on the same folder.
Sessions receive calls `notice_new(uids)`, `notice_flags(uids)`, `notice_expunged(uids)` and
decide themselves when to send the untagged responses (RFC 3501 7.4.1, RFC 2177).
Sessions with NOTIFY set (RFC 5465) `watch` their mailbox: every folder's arrivals, flag
changes and expunges reach them as `notice_mailbox(folder, event)`, folder creation, deletion,
renaming and (un)subscription as `notice_list(event, name, old)`.
Everything runs on the event loop thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from swissbox.imap.notifyspec import FLAG_CHANGE, MESSAGE_EXPUNGE, MESSAGE_NEW
from swissbox.mailstore import MailStore


class Listener(Protocol):
    def notice_new(self, uids: list[int]) -> None: ...

    def notice_flags(self, uids: list[int]) -> None: ...

    def notice_expunged(self, uids: list[int]) -> None: ...


def _key(address: str) -> str:
    return address.lower()


class Watcher(Protocol):
    """A session with NOTIFY set (RFC 5465): told of events in any folder of its mailbox."""

    def notice_mailbox(self, folder: str, event: str) -> None: ...

    def notice_list(self, kind: str, name: str, old: str | None) -> None: ...


class Hub:
    def __init__(self, store: MailStore) -> None:
        self.store = store
        self._folders: dict[str, dict[str, set[Any]]] = {}
        self._unsubscribe: dict[str, Callable[[], None]] = {}
        self._where: dict[int, tuple[str, str]] = {}
        self._watchers: dict[str, set[Any]] = {}  # address -> sessions with NOTIFY set

    def join(self, session: Listener, address: str, folder: str) -> None:
        self.leave(session)
        key = _key(address)
        self._folders.setdefault(key, {}).setdefault(folder, set()).add(session)
        self._where[id(session)] = (key, folder)
        self._subscribe(address)

    def _subscribe(self, address: str) -> None:
        key = _key(address)
        if key not in self._unsubscribe:
            arrivals = self.store.subscribe(address, self._arrived)
            changes = self.store.subscribe_changes(address, self._changed_elsewhere)
            lists = self.store.subscribe_lists(address, self._listed_elsewhere)

            def unsubscribe() -> None:
                arrivals()
                changes()
                lists()

            self._unsubscribe[key] = unsubscribe

    def _release(self, key: str) -> None:
        """Stops listening to the store for `key` once no session needs it."""
        if key in self._folders or key in self._watchers:
            return
        unsubscribe = self._unsubscribe.pop(key, None)
        if unsubscribe is not None:
            unsubscribe()

    def leave(self, session: Listener) -> None:
        where = self._where.pop(id(session), None)
        if where is None:
            return
        key, folder = where
        folders = self._folders.get(key, {})
        folders.get(folder, set()).discard(session)
        if not folders.get(folder):
            folders.pop(folder, None)
        if not folders:
            self._folders.pop(key, None)
            self._release(key)

    def watch(self, session: Watcher, address: str) -> None:
        """NOTIFY SET: `session` hears of every folder's events of `address` from now on."""
        self._watchers.setdefault(_key(address), set()).add(session)
        self._subscribe(address)

    def unwatch(self, session: Watcher) -> None:
        """NOTIFY NONE, logout (any address the session watched)."""
        for key in [k for k, ws in self._watchers.items() if session in ws]:
            self._watchers[key].discard(session)
            if not self._watchers[key]:
                del self._watchers[key]
                self._release(key)

    def sessions(self, address: str, folder: str) -> list[Any]:
        return list(self._folders.get(_key(address), {}).get(folder, ()))

    def watchers(self, address: str) -> list[Any]:
        return list(self._watchers.get(_key(address), ()))

    def _arrived(self, address: str, folder: str, uids: list[int]) -> None:
        for s in self.sessions(address, folder):
            s.notice_new(uids)
        self._tell(address, folder, MESSAGE_NEW)

    def _changed_elsewhere(self, address: str, folder: str, kind: str, uids: list[int]) -> None:
        """Flags changed or messages expunged through another front end (shared index)."""
        if kind == "expunge":
            self.expunged(None, address, folder, uids)
        else:
            self.flags_changed(None, address, folder, uids)

    def _listed_elsewhere(self, address: str, kind: str, name: str, old: str | None) -> None:
        """A folder made, deleted, renamed or (un)subscribed through another front end."""
        self.listed(None, address, kind, name, old)

    def _tell(self, address: str, folder: str, event: str) -> None:
        for w in self.watchers(address):
            w.notice_mailbox(folder, event)

    def flags_changed(self, origin: Any, address: str, folder: str, uids: list[int]) -> None:
        if uids:
            for s in self.sessions(address, folder):
                if s is not origin:
                    s.notice_flags(uids)
            self._tell(address, folder, FLAG_CHANGE)

    def expunged(self, origin: Any, address: str, folder: str, uids: list[int]) -> None:
        if uids:
            for s in self.sessions(address, folder):
                if s is not origin:
                    s.notice_expunged(uids)
            self._tell(address, folder, MESSAGE_EXPUNGE)

    def listed(
        self, origin: Any, address: str, kind: str, name: str, old: str | None = None
    ) -> None:
        """A folder `kind` = created, deleted, renamed (from `old`), subscribed or
        unsubscribed: told to the other watching sessions (the origin knows), and to those of
        the other front ends (a shared index) when it happened here."""
        for w in self.watchers(address):
            if w is not origin:
                w.notice_list(kind, name, old)
        if origin is not None:
            self.store.publish_list(address, kind, name, old)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe.values():
            unsubscribe()
        self._unsubscribe.clear()
        self._folders.clear()
        self._where.clear()
        self._watchers.clear()
